// Every guest-physical and monitor-virtual address constant of pvvmm, in one
// place: the contract between host, monitor and guest (host, monitor and
// tests include this header; it is freestanding). Values that other code
// repeats (assembly offsets, the page-table engine's slot range) are checked
// against these with static_assert where both are visible.
//
// Guest-physical memory (one KVM memory slot starting at 0):
//
//   0x0000_0000  page 0, never mapped (catches null dereferences)
//   0x0000_1000  BootInfo: host -> monitor description of the domain
//   0x0001_0000  per-vCPU host channels (console / log buffers, panic dump,
//                counters), kChannelSize each
//   0x0003_0000  shared_info page (monitor-owned, the guest may map it)
//   0x0003_1000  start-up probe page (ring-3 code the monitor runs once)
//   0x0003_2000  syscall trampoline page (one `int3`, see kSyscallTrampolineVirt)
//   0x0004_0000  host-built monitor page tables (pool)
//   0x0020_0000  monitor image (PT_LOAD segments by physical address)
//   0x0040_0000  per-vCPU areas (stacks, GDT, TSS, syscall stub)
//   0x0080_0000  machine-to-phys table (M2P), 8 bytes per machine frame
//   0x0100_0000  frame table (FrameInfo per machine frame)
//   0x0400_0000  domain RAM: the PV guest's frames (mfn = 0x4000 + index)
//
// Monitor-virtual memory lives in the PV-reserved L4 slots 256..271:
//
//   slot 256  0xffff800000000000  read-only M2P, readable by the guest (Xen ABI)
//   slot 257  0xffff808000000000  read-only M2P alias (hosts where ring 3 cannot
//                                  read slot 256; advertised by XENMEM_machphys_mapping)
//             0xffff80fffffff000  syscall trampoline: LSTAR on hosts where syscall
//                                  stays in ring 3; user-executable, holds only int3
//   slot 260  0xffff820000000000  per-vCPU areas, PERCPU_STRIDE apart
//   slot 261  0xffff82d040000000  monitor image (text, rodata, data, bss)
//   slot 262  0xffff830000000000  direct map of all guest-physical memory
//   slot 263  0xffff838000000000  start-up probe page (monitor L4 only, never
//                                  copied into guest L4s)
#pragma once

#include <stdint.h>

namespace layout {

inline constexpr uint64_t kPageSize = 0x1000;
inline constexpr uint64_t kPageShift = 12;
inline constexpr uint32_t kMaxVcpus = 8;

// ---- guest-physical ----
inline constexpr uint64_t kBootInfoGpa = 0x1000;
inline constexpr uint64_t kChannelGpa = 0x10000;  // + vcpu * kChannelSize
inline constexpr uint64_t kChannelSize = 0x4000;
inline constexpr uint64_t kSharedInfoGpa = 0x30000;
inline constexpr uint64_t kProbePageGpa = 0x31000;
inline constexpr uint64_t kSyscallTrampolineGpa = 0x32000;
inline constexpr uint64_t kMonitorPtPoolGpa = 0x40000;
inline constexpr uint64_t kMonitorPtPoolEnd = 0x200000;
inline constexpr uint64_t kMonitorImageGpa = 0x200000;
inline constexpr uint64_t kMonitorImageEnd = 0x400000;
inline constexpr uint64_t kPercpuGpa = 0x400000;
inline constexpr uint64_t kPercpuGpaStride = 0x80000;  // 512 KiB physical per vCPU
inline constexpr uint64_t kM2pGpa = 0x800000;
inline constexpr uint64_t kM2pEnd = 0x1000000;  // 1 Mi frames max
inline constexpr uint64_t kFrameTableGpa = 0x1000000;
inline constexpr uint64_t kFrameTableEnd = 0x4000000;
// What the host reads of a frame's entry (monitor/mm/frame_table.hpp's
// FrameInfo, which checks these): its type and type reference count.
inline constexpr uint64_t kFrameInfoSize = 32, kFrameInfoTypeOffset = 0, kFrameInfoTypeCountOffset = 4;
inline constexpr uint64_t kDomainRamGpa = 0x4000000;
inline constexpr uint64_t kDomainFirstMfn = kDomainRamGpa >> kPageShift;

// Guest memory limits (`--memory`): at least 4 MiB; at most up to the
// in-kernel IOAPIC and local APIC MMIO window at 0xfec00000, which no
// memory slot may cover (KVM's APIC access page sits at 0xfee00000).
inline constexpr uint64_t kMinDomainBytes = 4ull << 20;
inline constexpr uint64_t kApicMmioGpa = 0xfec00000;
inline constexpr uint64_t kMaxDomainBytes = kApicMmioGpa - kDomainRamGpa;
static_assert(kDomainRamGpa + kMaxDomainBytes <= ((kM2pEnd - kM2pGpa) / 8) * kPageSize, "the M2P covers all RAM");

// ---- monitor-virtual ----
inline constexpr uint64_t kMonitorSlotFirst = 256;
inline constexpr uint64_t kMonitorSlotLast = 271;
inline constexpr uint64_t kM2pRoVirt = 0xffff800000000000;
inline constexpr uint64_t kM2pRoAliasVirt = 0xffff808000000000;
inline constexpr uint64_t kSyscallTrampolineVirt = 0xffff80fffffff000;  // LSTAR there, CSTAR one byte on
inline constexpr uint64_t kPercpuVirt = 0xffff820000000000;
inline constexpr uint64_t kPercpuVirtStride = 0x100000;  // 1 MiB virtual per vCPU
inline constexpr uint64_t kMonitorImageVirt = 0xffff82d040000000;
inline constexpr uint64_t kDirectMapVirt = 0xffff830000000000;
inline constexpr uint64_t kProbeVirt = 0xffff838000000000;
inline constexpr unsigned kProbeSlot = 263;

// Per-vCPU area, offsets from kPercpuVirt + cpu * kPercpuVirtStride. The
// syscall stub addresses its stack RIP-relatively, so these distances are
// the same for every vCPU. Physical backing: kPercpuGpa + cpu * stride,
// pages in the same order (guard pages are simply not mapped).
namespace percpu {
inline constexpr uint64_t kStubOffset = 0x0000;     // syscall entry stubs (RX): LSTAR's here,
inline constexpr uint64_t kCstarStubOffset = 0x80;  // CSTAR's (32-bit user code) here
inline constexpr uint64_t kScratchOffset = 0x1000;  // per-CPU scratch / data (RW)
inline constexpr uint64_t kStackOffset = 0x4000;    // 16 KiB stack, 16 KiB aligned
inline constexpr uint64_t kStackSize = 0x4000;      // guard page at 0x3000
inline constexpr uint64_t kIstNmiOffset = 0x9000;   // 1 page each, guards between
inline constexpr uint64_t kIstDfOffset = 0xb000;
inline constexpr uint64_t kIstMcOffset = 0xd000;
inline constexpr uint64_t kTssOffset = 0xf000;
inline constexpr uint64_t kGdtOffset = 0x10000;  // 16 pages: 14 guest + 2 monitor
inline constexpr uint64_t kGdtPages = 16;
inline constexpr uint64_t kGdtReservedOffset = kGdtOffset + 14 * kPageSize;
inline constexpr uint64_t kLdtOffset = 0x20000;  // 16 pages: validated copy of the guest's LDT
inline constexpr uint64_t kLdtPages = 16;
inline constexpr uint64_t kIdtOffset = 0x30000;  // this CPU's IDT (per CPU so XPTI maps only its own)
inline constexpr uint64_t kEnd = 0x31000;

// Every mapped piece of a per-CPU area. `restricted`: also mapped in that
// CPU's XPTI restricted root (what entry and exit need); the rest is
// reachable only from the monitor's full view.
struct Piece {
    uint64_t offset, size;
    bool executable, restricted;
    const char* what;
};
inline constexpr Piece kPieces[] = {
    {kStubOffset, 0x1000, true, true, "syscall entry stub"},
    {kScratchOffset, 0x1000, false, false, "scratch"},
    {kStackOffset, kStackSize, false, true, "stack and CpuInfo"},
    {kIstNmiOffset, 0x1000, false, true, "NMI stack"},
    {kIstDfOffset, 0x1000, false, true, "#DF stack"},
    {kIstMcOffset, 0x1000, false, true, "#MC stack"},
    {kTssOffset, 0x1000, false, true, "TSS"},
    {kGdtOffset, kGdtPages* kPageSize, false, true, "GDT"},
    {kLdtOffset, kLdtPages* kPageSize, false, true, "LDT"},
    {kIdtOffset, 0x1000, false, true, "IDT"},
};
}  // namespace percpu

// ---- XPTI ----
// The monitor's entry text (entry.S, section .text.entry) opens the image;
// the linker script checks it fits. It is all of the image a restricted
// root maps.
inline constexpr uint64_t kEntryTextVirt = kMonitorImageVirt;
inline constexpr uint64_t kEntryTextSize = 0x2000;
// Restricted roots per vCPU (a cache keyed by guest L4 with --xpti-opt
// root-cache, else only the first is used). Host-built in the monitor's
// page-table pool, contiguous: vCPU v, root k at BootInfo::xpti_roots_gpa +
// (v * kXptiRootsPerVcpu + k) * kPageSize.
inline constexpr unsigned kXptiRootsPerVcpu = 16;
constexpr uint64_t xpti_root_gpa(uint64_t roots_gpa, uint32_t cpu, unsigned k) {
    return roots_gpa + (uint64_t{cpu} * kXptiRootsPerVcpu + k) * kPageSize;
}

// The allowed set: what of the monitor a vCPU's restricted root may map,
// besides the guest-visible slots 256/257 (read-only M2P and the syscall
// trampoline). The host builds restricted roots from this list and the
// isolation check (vmm/isolation/) walks them against it.
struct MonitorRange {
    uint64_t va, size;
    bool executable;
    const char* what;
};
inline constexpr unsigned kMaxRestrictedRanges = 16;

constexpr uint64_t percpu_virt(uint32_t cpu) { return kPercpuVirt + cpu * kPercpuVirtStride; }
constexpr uint64_t percpu_gpa(uint32_t cpu) { return kPercpuGpa + cpu * kPercpuGpaStride; }
constexpr uint64_t channel_gpa(uint32_t cpu) { return kChannelGpa + cpu * kChannelSize; }
constexpr uint64_t direct_map(uint64_t gpa) { return kDirectMapVirt + gpa; }

// Fills `out` with the monitor ranges CPU `cpu`'s restricted roots map; returns the count.
constexpr unsigned restricted_ranges(uint32_t cpu, MonitorRange (&out)[kMaxRestrictedRanges]) {
    unsigned n = 0;
    out[n++] = MonitorRange{kEntryTextVirt, kEntryTextSize, true, "entry text"};
    for (const auto& p : percpu::kPieces)
        if (p.restricted)
            out[n++] = MonitorRange{percpu_virt(cpu) + p.offset, p.size, p.executable, p.what};
    return n;
}

static_assert(kChannelGpa + kMaxVcpus * kChannelSize <= kSharedInfoGpa);
static_assert(kPercpuGpa + kMaxVcpus * kPercpuGpaStride <= kM2pGpa);
static_assert(percpu::kEnd <= kPercpuGpaStride);
static_assert(percpu::kStackOffset % percpu::kStackSize == 0);

// Segment selectors of the monitor's GDT: Xen's (FLAT_RING3_* in xen.h for
// the guest's), so PV guests find theirs where Xen puts them.
namespace selector {
inline constexpr uint16_t kMonitorCs = 0xe008;
inline constexpr uint16_t kMonitorDs = 0xe010;
inline constexpr uint16_t kGuestCs32 = 0xe023;  // FLAT_RING3_CS32
inline constexpr uint16_t kGuestSs = 0xe02b;    // FLAT_RING3_DS32 / FLAT_KERNEL_SS64
inline constexpr uint16_t kGuestCs64 = 0xe033;  // FLAT_RING3_CS64
inline constexpr uint16_t kTss = 0xe040;
}  // namespace selector

// The host's way into a running vCPU: an MSI with this vector to its
// in-kernel local APIC (APIC id = vCPU id), after posting work in its
// HostChannel. The monitor's LAPIC vectors (monitor/arch/x86_64/lapic.hpp)
// check it.
inline constexpr uint32_t kHostKickVector = 0xf1;

// I/O ports of the monitor -> host doorbells (KVM_EXIT_IO, 32-bit out).
namespace port {
inline constexpr uint16_t kConsole = 0x500;   // flush the vCPU's console buffer
inline constexpr uint16_t kLog = 0x501;       // one monitor log line in the buffer
inline constexpr uint16_t kShutdown = 0x502;  // value: SHUTDOWN_* reason
inline constexpr uint16_t kPanic = 0x503;     // panic text + register dump in the page
inline constexpr uint16_t kReady = 0x504;     // vCPU finished monitor boot
inline constexpr uint16_t kXenstore = 0x505;  // the guest notified the store: the host serves its ring
inline constexpr uint16_t kYield = 0x506;     // a vCPU waits for another: the host thread yields its CPU
}  // namespace port

}  // namespace layout
