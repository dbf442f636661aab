#include "vmm/monitor_image.hpp"

#include "guest-abi/layout.hpp"
#include "pagetables/pagetables.hpp"
#include "vmm/elf/elf_file.hpp"
#include "vmm/guest_tables.hpp"

extern "C" const uint8_t pvvmm_monitor_elf_start[], pvvmm_monitor_elf_end[];
extern "C" const uint8_t pvvmm_demo_guest_elf_start[], pvvmm_demo_guest_elf_end[];

namespace pvvmm {

std::span<const uint8_t> embedded_monitor_elf() {
    return {pvvmm_monitor_elf_start, static_cast<size_t>(pvvmm_monitor_elf_end - pvvmm_monitor_elf_start)};
}

std::span<const uint8_t> embedded_demo_guest_elf() {
    return {pvvmm_demo_guest_elf_start, static_cast<size_t>(pvvmm_demo_guest_elf_end - pvvmm_demo_guest_elf_start)};
}

namespace {

constexpr uint64_t kSupervisorRw = pt::kPresent | pt::kWritable | pt::kNoExecute;
constexpr uint64_t kMonitorTables = pt::kPresent | pt::kWritable;
// Tables above the guest-visible M2P need U so that ring 3 may read it.
constexpr uint64_t kGuestVisibleTables = pt::kPresent | pt::kWritable | pt::kUser;

Result<void> map_or_fail(pt::Status st, const char* what, uint64_t va) {
    if (st != pt::Status::Ok)
        return Error{ErrorKind::Internal, fmt::format("building monitor page tables: mapping {} at {:#x}: {}", what, va,
                                                      pt::status_name(st))};
    return {};
}

// Monitor code is read-only and executable, everything else read-write and NX.
uint64_t piece_flags(bool executable) { return executable ? pt::kPresent : kSupervisorRw; }

// XPTI's restricted roots, layout::kXptiRootsPerVcpu per vCPU in one run of
// frames: the guest-visible slots 256/257 as in every guest L4, and of the
// monitor only layout::restricted_ranges() (the allowed set). The monitor
// fills the guest slots. Built whatever --xpti says: a few frames, and one
// layout for all runs.
Result<uint64_t> build_restricted_roots(GuestTableMemory& tables, FramePool& pool, uint64_t monitor_l4,
                                        uint32_t nr_vcpus) {
    const uint64_t first = pool.next;
    for (uint32_t i = 0; i < nr_vcpus * layout::kXptiRootsPerVcpu; ++i)
        if (!pool.alloc_table())
            return Error{ErrorKind::Internal, "building XPTI restricted roots: monitor page-table pool exhausted"};
    const unsigned m2p_slots[] = {pt::table_index(layout::kM2pRoVirt, 4), pt::table_index(layout::kM2pRoAliasVirt, 4)};
    for (uint32_t cpu = 0; cpu < nr_vcpus; ++cpu) {
        const uint64_t root = layout::xpti_root_gpa(first, cpu, 0);
        for (unsigned slot : m2p_slots)
            tables.write(root, slot, tables.read(monitor_l4, slot));
        layout::MonitorRange ranges[layout::kMaxRestrictedRanges];
        const unsigned n = layout::restricted_ranges(cpu, ranges);
        for (unsigned i = 0; i < n; ++i) {
            const auto& r = ranges[i];
            const bool image = r.va == layout::kEntryTextVirt;
            const uint64_t pa0 =
                image ? layout::kMonitorImageGpa : layout::percpu_gpa(cpu) + (r.va - layout::percpu_virt(cpu));
            for (uint64_t off = 0; off < r.size; off += layout::kPageSize)
                PVVMM_TRY(map_or_fail(pt::map(tables, pool, root, r.va + off, pa0 + off, piece_flags(r.executable),
                                              pt::PageSize::k4K, kMonitorTables),
                                      r.what, r.va + off));
        }
        // The other roots of this vCPU share those monitor tables.
        for (unsigned k = 1; k < layout::kXptiRootsPerVcpu; ++k)
            for (unsigned slot = layout::kMonitorSlotFirst; slot <= layout::kMonitorSlotLast; ++slot)
                tables.write(layout::xpti_root_gpa(first, cpu, k), slot, tables.read(root, slot));
    }
    return first;
}

}  // namespace

Result<MonitorImage> load_monitor(const GuestMemory& mem, std::span<const uint8_t> elf_bytes, uint32_t nr_vcpus) {
    auto elf = elf::parse_elf64(elf_bytes);
    if (!elf)
        return elf.error().context("embedded monitor image");

    GuestTableMemory tables{mem};
    FramePool pool{layout::kMonitorPtPoolGpa, layout::kMonitorPtPoolEnd};
    const uint64_t l4 = pool.alloc_table();
    MonitorImage image;
    image.entry = elf->entry;
    image.l4_gpa = l4;

    for (const auto& seg : elf->loads) {
        if (seg.paddr < layout::kMonitorImageGpa || seg.paddr + seg.mem_size > layout::kMonitorImageEnd)
            return Error{ErrorKind::Internal, fmt::format("monitor segment at {:#x} outside its region", seg.paddr)};
        PVVMM_TRY(mem.write(seg.paddr, elf_bytes.subspan(seg.offset, seg.file_size)));
        uint64_t flags = pt::kPresent;
        if (seg.flags & 2u)  // PF_W
            flags |= pt::kWritable;
        if (!(seg.flags & 1u))  // PF_X
            flags |= pt::kNoExecute;
        const uint64_t start = seg.vaddr & ~0xfffull;
        const uint64_t end = (seg.vaddr + seg.mem_size + 0xfff) & ~0xfffull;
        for (uint64_t va = start; va < end; va += 0x1000)
            PVVMM_TRY(map_or_fail(
                pt::map(tables, pool, l4, va, seg.paddr - seg.vaddr + va, flags, pt::PageSize::k4K, kMonitorTables),
                "monitor image", va));
        image.image_end = std::max(image.image_end, end);
    }

    // Per-vCPU areas: the syscall stub is executable and supervisor-only (a
    // CPL3 fetch there must fault, see kvm-host.md); guard pages stay unmapped.
    for (uint32_t cpu = 0; cpu < nr_vcpus; ++cpu)
        for (const auto& p : layout::percpu::kPieces)
            for (uint64_t off = 0; off < p.size; off += 0x1000) {
                const uint64_t va = layout::percpu_virt(cpu) + p.offset + off;
                PVVMM_TRY(map_or_fail(pt::map(tables, pool, l4, va, layout::percpu_gpa(cpu) + p.offset + off,
                                              piece_flags(p.executable), pt::PageSize::k4K, kMonitorTables),
                                      "per-vCPU area", va));
            }

    // Direct map of all guest-physical memory, for the monitor only.
    PVVMM_TRY(map_or_fail(
        pt::map_range(tables, pool, l4, layout::kDirectMapVirt, 0, mem.size(), kSupervisorRw, true, kMonitorTables),
        "direct map", layout::kDirectMapVirt));

    // The M2P, read-only and user-readable at Xen's address and at the alias.
    const uint64_t m2p_bytes = ((mem.size() >> layout::kPageShift) * 8 + 0xfff) & ~0xfffull;
    for (uint64_t va : {layout::kM2pRoVirt, layout::kM2pRoAliasVirt})
        PVVMM_TRY(map_or_fail(pt::map_range(tables, pool, l4, va, layout::kM2pGpa, m2p_bytes,
                                            pt::kPresent | pt::kUser | pt::kNoExecute, true, kGuestVisibleTables),
                              "M2P", va));
    // The syscall trampoline: user-executable, so a ring-3 syscall on a
    // host that keeps it in ring 3 reaches int3 there (the monitor fills it).
    PVVMM_TRY(map_or_fail(pt::map(tables, pool, l4, layout::kSyscallTrampolineVirt, layout::kSyscallTrampolineGpa,
                                  pt::kPresent | pt::kUser, pt::PageSize::k4K, kGuestVisibleTables),
                          "syscall trampoline", layout::kSyscallTrampolineVirt));

    auto roots = build_restricted_roots(tables, pool, l4, nr_vcpus);
    if (!roots)
        return roots.error();
    image.xpti_roots_gpa = *roots;

    // The start-up probe page: ring-3 code in the monitor's own L4 only.
    PVVMM_TRY(map_or_fail(pt::map(tables, pool, l4, layout::kProbeVirt, layout::kProbePageGpa, pt::kPresent | pt::kUser,
                                  pt::PageSize::k4K, kGuestVisibleTables),
                          "probe page", layout::kProbeVirt));
    return image;
}

}  // namespace pvvmm
