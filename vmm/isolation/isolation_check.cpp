// The rules, per leaf of a restricted root (effective W/U/NX: W and U only
// when set at every level, NX when set at any):
//  - guest slots (0..255, 272..511): the guest's own mappings, so only domain
//    RAM or the shared_info page; their tables must be domain RAM too.
//  - slots 256/257: the read-only M2P (and its alias), plus the syscall
//    trampoline page at its fixed address; nothing there writable.
//  - slots 258..271: only layout::restricted_ranges(vcpu), mapping what the
//    monitor's full view maps there, supervisor-only, NX unless the range is
//    executable; their tables must be the monitor's (the page-table pool).
// Guest memory changes under a running walk; every table address is checked
// against the guest-memory size before it is read, guest subtrees are walked
// once per (table, level) and per root, and monitor subtrees have a budget,
// so a hostile or torn tree costs O(tables) and never crashes the host.
#include "vmm/isolation/isolation_check.hpp"

#include <fmt/format.h>

#include <array>
#include <unordered_map>

#include "guest-abi/layout.hpp"
#include "pagetables/entry.hpp"
#include "vmm/isolation/describe.hpp"

namespace pvvmm::isolation {
namespace {

using layout::kPageSize;

constexpr unsigned kM2pSlot = 256, kM2pAliasSlot = 257;
// A restricted root's monitor slots need a few dozen tables; far more means
// aliased or looping tables.
constexpr unsigned kMaxMonitorTables = 256;
constexpr uint64_t kWritableUser = pt::kWritable | pt::kUser;

enum class Region { Guest, M2p, Monitor };

Region region_of(unsigned slot) {
    if (slot == kM2pSlot || slot == kM2pAliasSlot)
        return Region::M2p;
    if (slot >= layout::kMonitorSlotFirst && slot <= layout::kMonitorSlotLast)
        return Region::Monitor;
    return Region::Guest;
}

const char* size_name(uint64_t span) {
    return span == pt::level_span(1) ? "4K" : span == pt::level_span(2) ? "2M" : "1G";
}

bool within(uint64_t pa, uint64_t size, uint64_t start, uint64_t end) {
    return pa >= start && pa < end && size <= end - pa;
}

class RootWalk {
public:
    RootWalk(const ReadEntry& read, const Scope& scope, uint32_t vcpu, uint32_t root, Report& report)
        : read_(read), scope_(scope), vcpu_(vcpu), root_(root), report_(report) {
        nr_ranges_ = layout::restricted_ranges(vcpu, ranges_);
    }

    void walk(uint64_t root_pa) {
        if (!within(root_pa, kPageSize, 0, scope_.memory_size)) {
            violation(0, root_pa, 0, "the restricted root lies outside guest memory");
            return;
        }
        std::array<uint64_t, pt::kEntries> entries{};
        bool empty = true;
        for (unsigned slot = 0; slot < pt::kEntries; ++slot) {
            entries[slot] = read_(root_pa, slot);
            empty = empty && entries[slot] == 0;
        }
        if (empty)  // an unused root-cache slot
            return;
        ++report_.roots;
        for (unsigned slot = 0; slot < pt::kEntries; ++slot) {
            const uint64_t e = entries[slot];
            if (!pt::is_present(e))
                continue;
            const Region region = region_of(slot);
            const uint64_t va = pt::va_of(slot, 0, 0, 0);
            if (table_ok(pt::entry_addr(e), va, e, region))
                report_.leaves += descend(pt::entry_addr(e), 3, va, kWritableUser & e, e & pt::kNoExecute, region);
        }
    }

private:
    uint64_t descend(uint64_t table, int level, uint64_t va_base, uint64_t wu, uint64_t nx, Region region) {
        if (region == Region::Guest) {
            // The guest rules ignore VA and flags: one verdict per (table, level).
            const uint64_t key = table | static_cast<uint64_t>(level);
            if (auto it = guest_subtrees_.find(key); it != guest_subtrees_.end())
                return it->second;
            const uint64_t leaves = walk_table(table, level, va_base, wu, nx, region);
            guest_subtrees_.emplace(key, leaves);
            return leaves;
        }
        if (++monitor_tables_ > kMaxMonitorTables) {
            if (monitor_tables_ == kMaxMonitorTables + 1)
                violation(va_base, table, 0,
                          fmt::format("more than {} page tables in the monitor slots (aliased or looping tables); "
                                      "the rest is not walked",
                                      kMaxMonitorTables));
            return 0;
        }
        return walk_table(table, level, va_base, wu, nx, region);
    }

    uint64_t walk_table(uint64_t table, int level, uint64_t va_base, uint64_t wu, uint64_t nx, Region region) {
        uint64_t leaves = 0;
        for (unsigned index = 0; index < pt::kEntries; ++index) {
            const uint64_t e = read_(table, index);
            if (!pt::is_present(e))
                continue;
            const uint64_t va = pt::canonicalize(va_base | uint64_t{index} << pt::level_shift(level));
            const uint64_t entry_wu = wu & e, entry_nx = nx | (e & pt::kNoExecute);
            if (level == 1 || pt::is_huge_leaf(e, level)) {
                const uint64_t span = pt::level_span(level);
                // Masking the offset also drops the PAT bit of huge leaves.
                const uint64_t pa = pt::entry_addr(e) & ~(span - 1);
                const uint64_t flags = (pt::entry_flags(e) & ~(kWritableUser | pt::kNoExecute)) | entry_wu | entry_nx;
                ++leaves;
                check_leaf(region, va, pa, span, flags);
                continue;
            }
            if (table_ok(pt::entry_addr(e), va, e, region))
                leaves += descend(pt::entry_addr(e), level - 1, va, entry_wu, entry_nx, region);
        }
        return leaves;
    }

    bool table_ok(uint64_t table, uint64_t va, uint64_t entry, Region region) {
        const uint64_t flags = pt::entry_flags(entry);
        if (!within(table, kPageSize, 0, scope_.memory_size)) {
            violation(
                va, table, flags,
                fmt::format("page table at {:#x} lies outside guest memory ({:#x} bytes)", table, scope_.memory_size));
            return false;
        }
        if (region == Region::Guest && !in_ram(table, kPageSize)) {
            violation(
                va, table, flags,
                fmt::format("guest-slot page table in {} ({:#x}), not in domain RAM", describe_gpa(table), table));
            return false;
        }
        if (region != Region::Guest &&
            !within(table, kPageSize, layout::kMonitorPtPoolGpa, layout::kMonitorPtPoolEnd)) {
            violation(va, table, flags,
                      fmt::format("monitor-slot page table in {} ({:#x}), outside the monitor's page-table pool",
                                  describe_gpa(table), table));
            return false;
        }
        return true;
    }

    void check_leaf(Region region, uint64_t va, uint64_t pa, uint64_t span, uint64_t flags) {
        switch (region) {
        case Region::Guest: check_guest_leaf(va, pa, span, flags); return;
        case Region::M2p: check_m2p_leaf(va, pa, span, flags); return;
        case Region::Monitor: check_monitor_leaf(va, pa, span, flags); return;
        }
    }

    void check_guest_leaf(uint64_t va, uint64_t pa, uint64_t span, uint64_t flags) {
        if (in_ram(pa, span) || (span == kPageSize && pa == layout::kSharedInfoGpa))
            return;
        const uint64_t ram_start = scope_.ram_first_mfn << layout::kPageShift;
        if (pa >= ram_start)
            violation(va, pa, flags,
                      fmt::format("guest slot maps a {} page at {:#x}, past the end of domain RAM ({:#x})",
                                  size_name(span), pa, ram_end()));
        else
            violation(
                va, pa, flags,
                fmt::format("guest slot maps {} ({:#x}), neither domain RAM nor shared_info", describe_gpa(pa), pa));
    }

    void check_m2p_leaf(uint64_t va, uint64_t pa, uint64_t span, uint64_t flags) {
        const uint64_t trampoline = layout::kSyscallTrampolineVirt;
        if (trampoline >= va && trampoline - va < span) {
            if (span != kPageSize || pa != layout::kSyscallTrampolineGpa)
                violation(va, pa, flags,
                          fmt::format("the syscall trampoline's address maps a {} page of {} ({:#x}), not the "
                                      "trampoline page ({:#x})",
                                      size_name(span), describe_gpa(pa), pa, layout::kSyscallTrampolineGpa));
            if (flags & pt::kWritable)
                violation(va, pa, flags, "the syscall trampoline is writable");
            return;
        }
        if (!within(pa, span, layout::kM2pGpa, layout::kM2pEnd))
            violation(
                va, pa, flags,
                fmt::format("M2P slot {} maps {} ({:#x}), not the M2P", pt::table_index(va, 4), describe_gpa(pa), pa));
        if (flags & pt::kWritable)
            violation(va, pa, flags, fmt::format("M2P slot {} mapping is writable", pt::table_index(va, 4)));
    }

    void check_monitor_leaf(uint64_t va, uint64_t pa, uint64_t span, uint64_t flags) {
        const std::string what = describe_monitor_va(va);
        const layout::MonitorRange* range = nullptr;
        for (unsigned i = 0; i < nr_ranges_ && range == nullptr; ++i)
            if (va >= ranges_[i].va && va - ranges_[i].va < ranges_[i].size &&
                span <= ranges_[i].size - (va - ranges_[i].va))
                range = &ranges_[i];
        if (range == nullptr) {
            violation(va, pa, flags,
                      span == kPageSize ? fmt::format("{} is not in vCPU {}'s allowed set", what, vcpu_)
                                        : fmt::format("{} (a {} page) is not in vCPU {}'s allowed set", what,
                                                      size_name(span), vcpu_));
            return;
        }
        // Where the monitor's full view maps this address (monitor_image.cpp).
        const bool entry_text = va - layout::kEntryTextVirt < layout::kEntryTextSize;
        const uint64_t expected = entry_text ? layout::kMonitorImageGpa + (va - layout::kMonitorImageVirt)
                                             : layout::percpu_gpa(vcpu_) + (va - layout::percpu_virt(vcpu_));
        if (pa != expected)
            violation(va, pa, flags,
                      fmt::format("{} maps {} ({:#x}), the monitor's view maps {:#x} there", what, describe_gpa(pa), pa,
                                  expected));
        if (flags & pt::kUser)
            violation(va, pa, flags, fmt::format("{} is user-accessible", what));
        if (!(flags & pt::kNoExecute) && !range->executable)
            violation(va, pa, flags, fmt::format("{} is executable", what));
    }

    [[nodiscard]] uint64_t ram_end() const {
        return (scope_.ram_first_mfn + scope_.ram_nr_pages) << layout::kPageShift;
    }
    [[nodiscard]] bool in_ram(uint64_t pa, uint64_t size) const {
        return within(pa, size, scope_.ram_first_mfn << layout::kPageShift, ram_end());
    }

    void violation(uint64_t va, uint64_t pa, uint64_t flags, std::string reason) {
        ++report_.violation_count;
        if (report_.violations.size() < kMaxRecordedViolations)
            report_.violations.push_back(Violation{vcpu_, root_, va, pa, flags, std::move(reason)});
    }

    const ReadEntry& read_;
    const Scope& scope_;
    uint32_t vcpu_, root_;
    Report& report_;
    layout::MonitorRange ranges_[layout::kMaxRestrictedRanges] = {};
    unsigned nr_ranges_ = 0;
    std::unordered_map<uint64_t, uint64_t> guest_subtrees_;  // table | level -> leaves below
    unsigned monitor_tables_ = 0;
};

}  // namespace

Report check_restricted_roots(const ReadEntry& read, const Scope& scope) {
    Report report;
    if (scope.roots_gpa % kPageSize != 0) {
        report.violation_count = 1;
        report.violations.push_back(
            Violation{0, 0, 0, scope.roots_gpa, 0, "the restricted roots' base is not page-aligned"});
        return report;
    }
    for (uint32_t vcpu = 0; vcpu < scope.nr_vcpus; ++vcpu) {
        const uint64_t only = scope.only_root ? scope.only_root(vcpu) : 0;
        for (uint32_t k = 0; k < layout::kXptiRootsPerVcpu; ++k) {
            const uint64_t root_pa = layout::xpti_root_gpa(scope.roots_gpa, vcpu, k);
            if (only == 0 || root_pa == only)
                RootWalk(read, scope, vcpu, k, report).walk(root_pa);
        }
    }
    return report;
}

std::string format_violation(const Violation& v) {
    return fmt::format("vCPU {} root {}: va {:#x} -> pa {:#x} flags {:#x}: {}", v.vcpu, v.root, v.va, v.pa, v.flags,
                       v.reason);
}

}  // namespace pvvmm::isolation
