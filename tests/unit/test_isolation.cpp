// vmm/isolation/: the XPTI isolation check against synthetic restricted
// roots built in a fake guest memory, shaped like the host builds them
// (monitor slots from layout::restricted_ranges, guest slots shared by the
// vCPUs' roots), then broken one way at a time.
#include <catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "guest-abi/layout.hpp"
#include "pagetables/pagetables.hpp"
#include "vmm/isolation/isolation_check.hpp"

namespace {

using pvvmm::isolation::check_restricted_roots;
using pvvmm::isolation::Report;
using pvvmm::isolation::Scope;
using pvvmm::isolation::Violation;

constexpr uint64_t kPage = layout::kPageSize;
constexpr uint64_t kRamBytes = 64ull << 20;
constexpr uint64_t kMemorySize = layout::kDomainRamGpa + kRamBytes;
constexpr uint64_t kRamStart = layout::kDomainRamGpa;
constexpr uint64_t kRootsGpa = 0x100000;  // in the monitor's page-table pool
constexpr uint32_t kVcpus = 2;
constexpr uint64_t kM2pBytes = (kMemorySize / kPage) * 8;

constexpr uint64_t P = pt::kPresent, W = pt::kWritable, U = pt::kUser, NX = pt::kNoExecute;

// Guest-physical memory of kMemorySize bytes, all zero until written. A read
// of a table outside it throws: the check must never touch such an address.
class FakeGuestMemory {
public:
    uint64_t read(uint64_t table, unsigned index) {
        check(table);
        ++reads;
        const auto it = pages_.find(table);
        return it == pages_.end() ? 0 : it->second.at(index);
    }
    void write(uint64_t table, unsigned index, uint64_t value) {
        check(table);
        pages_[table].at(index) = value;
    }
    uint64_t reads = 0;

private:
    static void check(uint64_t table) {
        if (table % kPage != 0 || table >= kMemorySize)
            throw std::out_of_range("table outside the fake guest memory");
    }
    std::unordered_map<uint64_t, std::array<uint64_t, pt::kEntries>> pages_;
};

struct Bump {
    uint64_t next, end;
    uint64_t alloc_table() {
        if (next >= end)
            return 0;
        next += kPage;
        return next - kPage;
    }
};

// Where the monitor's full view maps a restricted address of `cpu`.
uint64_t full_view_gpa(uint32_t cpu, uint64_t va) {
    if (va - layout::kEntryTextVirt < layout::kEntryTextSize)
        return layout::kMonitorImageGpa + (va - layout::kMonitorImageVirt);
    return layout::percpu_gpa(cpu) + (va - layout::percpu_virt(cpu));
}

// Guest mappings present in every root (VA, PA, size).
struct GuestLeaf {
    uint64_t va, pa;
    pt::PageSize size;
};
const GuestLeaf kGuestLeaves[] = {
    {0x200000, kRamStart + 0x5000, pt::PageSize::k4K},
    {0x201000, layout::kSharedInfoGpa, pt::PageSize::k4K},  // the guest maps shared_info
    {0x400000, kRamStart + 0x200000, pt::PageSize::k2M},
    {0xffffffff80000000, kRamStart + 0x400000, pt::PageSize::k2M},  // slot 511
};

// Two vCPUs, root 0 each populated (roots 1..7 empty), clean.
struct Machine {
    FakeGuestMemory mem;
    Bump pool{0x140000, layout::kMonitorPtPoolEnd};
    Bump guest_tables{kRamStart + 0x100000, kRamStart + 0x200000};
    uint64_t leaves_per_root = 0;
    Scope scope{kRootsGpa, kVcpus, kMemorySize, layout::kDomainFirstMfn, kRamBytes / kPage, {}};

    static uint64_t root(uint32_t cpu, uint32_t k = 0) { return layout::xpti_root_gpa(kRootsGpa, cpu, k); }

    Machine() {
        for (uint32_t cpu = 0; cpu < kVcpus; ++cpu) {
            leaves_per_root = 0;
            for (uint64_t va : {layout::kM2pRoVirt, layout::kM2pRoAliasVirt}) {
                REQUIRE(pt::map_range(mem, pool, root(cpu), va, layout::kM2pGpa, kM2pBytes, P | U | NX, false,
                                      P | W | U) == pt::Status::Ok);
                leaves_per_root += kM2pBytes / kPage;
            }
            map_monitor(cpu, layout::kSyscallTrampolineVirt, layout::kSyscallTrampolineGpa, P | U, P | W | U);
            layout::MonitorRange ranges[layout::kMaxRestrictedRanges];
            const unsigned n = layout::restricted_ranges(cpu, ranges);
            for (unsigned i = 0; i < n; ++i)
                for (uint64_t off = 0; off < ranges[i].size; off += kPage)
                    map_monitor(cpu, ranges[i].va + off, full_view_gpa(cpu, ranges[i].va + off),
                                ranges[i].executable ? P : P | W | NX);
        }
        // The guest's tables: built under vCPU 0's root, its L4 slots copied
        // into vCPU 1's (as the monitor copies the guest's L4).
        for (const GuestLeaf& g : kGuestLeaves) {
            REQUIRE(pt::map(mem, guest_tables, root(0), g.va, g.pa, P | W | U, g.size, P | W | U) == pt::Status::Ok);
            ++leaves_per_root;
        }
        for (unsigned slot = 0; slot < pt::kEntries; ++slot)
            if (slot < layout::kMonitorSlotFirst || slot > layout::kMonitorSlotLast)
                mem.write(root(1), slot, mem.read(root(0), slot));
    }

    void map_monitor(uint32_t cpu, uint64_t va, uint64_t pa, uint64_t flags, uint64_t table_flags = P | W) {
        REQUIRE(pt::map(mem, pool, root(cpu), va, pa, flags, pt::PageSize::k4K, table_flags) == pt::Status::Ok);
        ++leaves_per_root;
    }
    void map_guest(uint64_t va, uint64_t pa, uint64_t flags) {
        REQUIRE(pt::map(mem, guest_tables, root(0), va, pa, flags, pt::PageSize::k4K, P | W | U) == pt::Status::Ok);
    }
    // Table holding the entry for va at `level` in vCPU cpu's root 0.
    uint64_t table_at(uint32_t cpu, uint64_t va, int level) {
        uint64_t table = root(cpu);
        for (int l = pt::kLevels; l > level; --l)
            table = pt::entry_addr(mem.read(table, pt::table_index(va, l)));
        return table;
    }
    void set_bits(uint32_t cpu, uint64_t va, int level, uint64_t bits) {
        const uint64_t table = table_at(cpu, va, level);
        const unsigned index = pt::table_index(va, level);
        mem.write(table, index, mem.read(table, index) | bits);
    }
    void clear_bits(uint32_t cpu, uint64_t va, int level, uint64_t bits) {
        const uint64_t table = table_at(cpu, va, level);
        const unsigned index = pt::table_index(va, level);
        mem.write(table, index, mem.read(table, index) & ~bits);
    }
    Report check() { return check_restricted_roots(mem, scope); }
};

std::string describe(const Report& r) {
    std::string s;
    for (const Violation& v : r.violations)
        s += pvvmm::isolation::format_violation(v) + "\n";
    return s;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a clean set of restricted roots has no violations") {
    Machine m;
    const Report r = m.check();
    INFO(describe(r));
    CHECK(r.violations.empty());
    CHECK(r.violation_count == 0);
    CHECK(r.roots == kVcpus);  // roots 1..7 of each vCPU are all zero: skipped
    CHECK(r.leaves == kVcpus * m.leaves_per_root);
}

TEST_CASE("a direct-map page in a restricted root is reported") {
    Machine m;
    const uint64_t va = layout::direct_map(0x1000);
    m.map_monitor(0, va, 0x1000, P | W | NX);
    const Report r = m.check();
    REQUIRE(r.violations.size() == 1);
    const Violation& v = r.violations[0];
    CHECK(v.vcpu == 0);
    CHECK(v.root == 0);
    CHECK(v.va == va);
    CHECK(v.pa == 0x1000);
    CHECK(v.flags == (P | W | NX));
    CHECK(v.reason == "the direct map (guest-physical 0x1000) is not in vCPU 0's allowed set");
}

// A cached root left with copies of a released L4's slots (here: a direct-map
// page) is walked unless its vCPU empties its cached roots before it runs
// guest code again (Scope::only_root names the one it runs on).
TEST_CASE("cached roots awaiting a drop on wake-up are not walked, the running one is") {
    Machine m;
    const uint64_t va = layout::direct_map(0x1000);
    m.map_monitor(1, va, 0x1000, P | W | NX);             // root 0 of vCPU 1
    for (unsigned slot = 0; slot < pt::kEntries; ++slot)  // root 1: a cached copy of it
        m.mem.write(Machine::root(1, 1), slot, m.mem.read(Machine::root(1, 0), slot));
    REQUIRE(m.check().violations.size() == 2);

    m.scope.only_root = [](uint32_t vcpu) { return vcpu == 1 ? Machine::root(1, 0) : 0; };
    Report r = m.check();
    REQUIRE(r.violations.size() == 1);  // the running root still counts
    CHECK(r.violations[0].vcpu == 1);
    CHECK(r.violations[0].root == 0);

    m.scope.only_root = [](uint32_t vcpu) { return vcpu == 1 ? Machine::root(1, 1) : 0; };
    r = m.check();
    REQUIRE(r.violations.size() == 1);
    CHECK(r.violations[0].root == 1);
    CHECK(r.roots == 2);  // vCPU 0's root 0 and vCPU 1's root 1
}

TEST_CASE("another vCPU's per-CPU stack in vCPU 0's root is reported") {
    Machine m;
    const uint64_t va = layout::percpu_virt(1) + layout::percpu::kStackOffset;
    m.map_monitor(0, va, layout::percpu_gpa(1) + layout::percpu::kStackOffset, P | W | NX);
    const Report r = m.check();
    REQUIRE(r.violations.size() == 1);
    CHECK(r.violations[0].vcpu == 0);
    CHECK(r.violations[0].va == va);
    CHECK(r.violations[0].pa == layout::percpu_gpa(1) + layout::percpu::kStackOffset);
    CHECK(r.violations[0].reason == "vCPU 1's stack and CpuInfo is not in vCPU 0's allowed set");
}

TEST_CASE("the monitor image beyond the entry text is reported") {
    Machine m;
    const uint64_t va = layout::kMonitorImageVirt + 0x10000;
    m.map_monitor(0, va, layout::kMonitorImageGpa + 0x10000, P);
    const Report r = m.check();
    REQUIRE(r.violations.size() == 1);
    CHECK(r.violations[0].va == va);
    CHECK(r.violations[0].pa == layout::kMonitorImageGpa + 0x10000);
    CHECK(r.violations[0].reason == "the monitor image beyond the entry text is not in vCPU 0's allowed set");
}

TEST_CASE("a writable M2P leaf is reported") {
    Machine m;
    const uint64_t va = layout::kM2pRoVirt + 3 * kPage;
    m.set_bits(1, va, 1, W);
    const Report r = m.check();
    REQUIRE(r.violations.size() == 1);
    const Violation& v = r.violations[0];
    CHECK(v.vcpu == 1);
    CHECK(v.va == va);
    CHECK(v.pa == layout::kM2pGpa + 3 * kPage);
    CHECK((v.flags & (W | U)) == (W | U));
    CHECK(v.reason == "M2P slot 256 mapping is writable");
}

TEST_CASE("a guest-slot leaf mapping the frame table is reported") {
    Machine m;
    m.map_guest(0x202000, layout::kFrameTableGpa, P | W | U);
    const Report r = m.check();
    // vCPU 1's root shares the guest's tables: both report it.
    REQUIRE(r.violations.size() == 2);
    for (uint32_t cpu = 0; cpu < kVcpus; ++cpu) {
        const Violation& v = r.violations[cpu];
        CHECK(v.vcpu == cpu);
        CHECK(v.va == 0x202000);
        CHECK(v.pa == layout::kFrameTableGpa);
        CHECK(v.reason == "guest slot maps the frame table (0x1000000), neither domain RAM nor shared_info");
    }
}

TEST_CASE("a user-accessible per-CPU stack is reported, by its effective U bit") {
    Machine m;
    const uint64_t stack = layout::percpu_virt(0) + layout::percpu::kStackOffset;
    for (uint64_t off = 0; off < layout::percpu::kStackSize; off += kPage)
        m.set_bits(0, stack + off, 1, U);
    SECTION("U only in the leaves: the tables above keep it supervisor-only") {
        const Report r = m.check();
        INFO(describe(r));
        CHECK(r.violations.empty());
    }
    SECTION("U at every level") {
        for (int level = 4; level >= 2; --level)
            m.set_bits(0, stack, level, U);
        const Report r = m.check();
        REQUIRE(r.violations.size() == layout::percpu::kStackSize / kPage);
        for (size_t i = 0; i < r.violations.size(); ++i) {
            CHECK(r.violations[i].va == stack + i * kPage);
            CHECK(r.violations[i].pa == layout::percpu_gpa(0) + layout::percpu::kStackOffset + i * kPage);
            CHECK((r.violations[i].flags & U) != 0);
            CHECK(r.violations[i].reason == "vCPU 0's stack and CpuInfo is user-accessible");
        }
    }
}

TEST_CASE("restricted pieces must be NX unless executable, and map the full view's page") {
    Machine m;
    const uint64_t tss = layout::percpu_virt(0) + layout::percpu::kTssOffset;
    SECTION("NX cleared in the leaf only: still NX from the level above") {
        m.clear_bits(0, tss, 1, NX);
        m.set_bits(0, tss, 2, NX);
        const Report r = m.check();
        INFO(describe(r));
        CHECK(r.violations.empty());
    }
    SECTION("NX cleared") {
        m.clear_bits(0, tss, 1, NX);
        const Report r = m.check();
        REQUIRE(r.violations.size() == 1);
        CHECK(r.violations[0].va == tss);
        CHECK(r.violations[0].reason == "vCPU 0's TSS is executable");
    }
    SECTION("the entry text mapping another page") {
        const uint64_t table = m.table_at(0, layout::kEntryTextVirt, 1);
        const unsigned index = pt::table_index(layout::kEntryTextVirt, 1);
        m.mem.write(table, index, pt::make_entry(layout::kMonitorImageGpa + 0x5000, P));
        const Report r = m.check();
        REQUIRE(r.violations.size() == 1);
        CHECK(r.violations[0].va == layout::kEntryTextVirt);
        CHECK(r.violations[0].pa == layout::kMonitorImageGpa + 0x5000);
        CHECK(r.violations[0].reason ==
              "the monitor's entry text maps the monitor image (0x205000), the monitor's view maps 0x200000 there");
    }
}

TEST_CASE("the syscall trampoline must map exactly the trampoline page") {
    Machine m;
    const uint64_t table = m.table_at(0, layout::kSyscallTrampolineVirt, 1);
    const unsigned index = pt::table_index(layout::kSyscallTrampolineVirt, 1);
    m.mem.write(table, index, pt::make_entry(layout::kProbePageGpa, P | U));
    const Report r = m.check();
    REQUIRE(r.violations.size() == 1);
    CHECK(r.violations[0].va == layout::kSyscallTrampolineVirt);
    CHECK(r.violations[0].reason ==
          "the syscall trampoline's address maps a 4K page of the start-up probe page (0x31000), not the trampoline "
          "page (0x32000)");
}

TEST_CASE("large pages are checked over their whole span") {
    Machine m;
    SECTION("a guest 2M page running past the end of RAM") {
        const uint64_t last_2m = kMemorySize - (2ull << 20);
        REQUIRE(pt::map(m.mem, m.guest_tables, Machine::root(0), 0x40000000, last_2m, P | W | U, pt::PageSize::k2M,
                        P | W | U) == pt::Status::Ok);
        CHECK(m.check().violations.size() == 0);
        // A 1G page at the start of RAM covers 1 GiB: far more than the 64 MiB.
        REQUIRE(pt::map(m.mem, m.guest_tables, Machine::root(0), 0x8000000000, kRamStart & ~((1ull << 30) - 1),
                        P | W | U, pt::PageSize::k1G, P | W | U) == pt::Status::Ok);
        const Report r = m.check();
        REQUIRE(r.violations.size() == 1);  // slot 1 is not copied into vCPU 1's root
        CHECK(r.violations[0].va == 0x8000000000);
        CHECK(contains(r.violations[0].reason, "guest slot maps page 0 (0x0)"));
    }
    SECTION("a 2M page over vCPU 2's and 3's per-CPU areas") {
        const uint64_t va = layout::percpu_virt(2);  // 2M aligned
        REQUIRE(pt::map(m.mem, m.pool, Machine::root(0), va, layout::percpu_gpa(0), P | W | NX, pt::PageSize::k2M) ==
                pt::Status::Ok);
        const Report r = m.check();
        REQUIRE(r.violations.size() == 1);
        CHECK(r.violations[0].va == va);
        CHECK(r.violations[0].reason == "vCPU 2's syscall entry stub (a 2M page) is not in vCPU 0's allowed set");
    }
}

TEST_CASE("hostile table trees are violations, not crashes or endless walks") {
    Machine m;
    SECTION("a guest table outside guest memory is never read") {
        m.mem.write(Machine::root(0), 1, pt::make_entry(kMemorySize + 0x1000, P | W | U));
        const Report r = m.check();
        REQUIRE(r.violations.size() == 1);
        CHECK(r.violations[0].va == 0x8000000000);
        CHECK(r.violations[0].pa == kMemorySize + 0x1000);
        CHECK(contains(r.violations[0].reason, "lies outside guest memory"));
    }
    SECTION("a guest table in monitor memory") {
        m.mem.write(Machine::root(0), 2, pt::make_entry(layout::kFrameTableGpa, P | W | U));
        const Report r = m.check();
        REQUIRE(r.violations.size() == 1);
        CHECK(r.violations[0].reason == "guest-slot page table in the frame table (0x1000000), not in domain RAM");
    }
    SECTION("a monitor-slot table in guest memory") {
        m.mem.write(Machine::root(0), 265, pt::make_entry(kRamStart + 0x5000, P | W));
        const Report r = m.check();
        REQUIRE(r.violations.size() == 1);
        CHECK(r.violations[0].va == pt::va_of(265, 0, 0, 0));
        CHECK(contains(r.violations[0].reason, "outside the monitor's page-table pool"));
    }
    SECTION("guest tables aliased 512 ways at every level are walked once each") {
        const uint64_t l3 = m.guest_tables.alloc_table(), l2 = m.guest_tables.alloc_table();
        const uint64_t l1 = m.guest_tables.alloc_table();
        for (unsigned i = 0; i < pt::kEntries; ++i) {
            m.mem.write(l3, i, pt::make_entry(l2, P | W | U));
            m.mem.write(l2, i, pt::make_entry(l1, P | W | U));
            m.mem.write(l1, i, pt::make_entry(kRamStart + i * kPage, P | W | U));
        }
        m.mem.write(Machine::root(0), 3, pt::make_entry(l3, P | W | U));
        m.mem.reads = 0;
        const Report r = m.check();
        CHECK(r.violations.empty());
        CHECK(r.leaves == kVcpus * m.leaves_per_root + 512ull * 512 * 512);
        CHECK(m.mem.reads < 100000);
    }
    SECTION("a monitor-slot table that points at itself") {
        const uint64_t loop = m.pool.alloc_table();
        for (unsigned i = 0; i < pt::kEntries; ++i)
            m.mem.write(loop, i, pt::make_entry(loop, P | W));
        m.mem.write(Machine::root(0), 266, pt::make_entry(loop, P | W));
        const Report r = m.check();
        CHECK(r.violation_count > 1);
        const bool budget = std::any_of(r.violations.begin(), r.violations.end(), [](const Violation& v) {
            return contains(v.reason, "page tables in the monitor slots (aliased or looping tables)");
        });
        const bool first_leaf = std::any_of(r.violations.begin(), r.violations.end(), [&](const Violation& v) {
            return v.va == pt::va_of(266, 0, 0, 0) && v.pa == loop &&
                   v.reason == "monitor L4 slot 266 is not in vCPU 0's allowed set";
        });
        CHECK(first_leaf);
        // Recorded violations stop at the cap; the budget line may come after it.
        CHECK((budget || r.violations.size() == pvvmm::isolation::kMaxRecordedViolations));
        CHECK(m.mem.reads < 400 * 512);
    }
    SECTION("restricted roots outside guest memory") {
        m.scope.roots_gpa = kMemorySize - kPage;
        const Report r = m.check();
        CHECK(r.violation_count == kVcpus * layout::kXptiRootsPerVcpu - 1);
        CHECK(contains(r.violations.at(0).reason, "the restricted root lies outside guest memory"));
    }
}
