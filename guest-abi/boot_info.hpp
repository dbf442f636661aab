// Private host -> monitor boot ABI: what the domain builder hands the monitor.
// Written by the host before any vCPU runs, read-only for the monitor
// afterwards. Freestanding; layout is checked with static_asserts because
// both sides are compiled separately.
#pragma once

#include <stdint.h>

namespace abi {

inline constexpr uint64_t kBootInfoMagic = 0x4f4f424d4d565650ull;  // "PVVMMBOO"
inline constexpr uint32_t kBootInfoVersion = 3;

// Xen domain ids as the guest sees them: it is the first domU, and its
// console and xenstore backends (in pvvmm: the monitor and the host) are dom0's.
inline constexpr uint16_t kGuestDomid = 1;
inline constexpr uint16_t kBackendDomid = 0;

enum class XptiMode : uint8_t { Off = 0, On = 1 };
// PCID use: Auto = on when CPUID reports PCID and INVPCID.
enum class PcidChoice : uint8_t { Off = 0, On = 1, Auto = 2 };

// Failure injection for the host's own tests (`pvvmm run --test-hook`): the
// monitor fails on purpose right after its per-CPU set-up on vCPU 0 (or,
// for CorruptFrameTable, damages its own bookkeeping after boot).
enum class TestHook : uint8_t {
    None = 0,
    Panic = 1,
    TripleFault = 2,
    CorruptFrameTable = 3,  // one extra type reference on the initial L4: the audit must notice
    // A direct-map page mapped into vCPU 0's restricted root after boot: --check-isolation must notice.
    LeakIntoRestrictedRoot = 4,
    // The first exit to the guest irets with a bad SS: the #GP is taken in
    // the exit path, on the restricted root under XPTI; the nested entry
    // must get back to the monitor's view and reflect the fault to the
    // guest, as Xen does (no handler yet: a domain crash).
    FaultInExitPath = 5,
    // The guest's flush requests (mmuext_op, update_va_mapping flags) are
    // counted but not carried out: the conformance guest's tlb_refresh
    // subtest must then see a stale translation where the TLB keeps one.
    SkipGuestFlushes = 6,
    // The monitor spins in ring 0 with interrupts off and the host's vCPU
    // thread ignores kicks, so KVM_RUN never returns: --timeout must still
    // end pvvmm.
    StuckInKvmRun = 7,
    // vCPU 1 runs its per-CPU set-up after vCPU 0 has set up XPTI and before
    // vCPU 0 first enters the guest: per-CPU state must stay per CPU.
    SecondaryBootsLate = 8,
    // Root refreshes from other vCPUs (Xen's FLUSH_ROOT_PGTBL) are counted
    // and acknowledged but not carried out: the conformance smp subtest's
    // L4 race must then end in endless faults.
    DropRootRefresh = 9,
    // Kicks for events and remote requests lost on the way, as interrupts
    // on a nested host: one IPI in 16 to a vCPU asleep in hlt is not sent
    // (the idle watchdog must wake it), nor every second one to a running
    // vCPU (a requester waiting for it must send it again). The work itself
    // is posted. (A lost VCPUOP_down kick to a running vCPU would leave it
    // running until its next interrupt: not covered.)
    DropIpis = 10,
    // One LAPIC timer deadline in 8 is recorded as armed but the timer is
    // disarmed instead, as a timer interrupt lost on a nested host: the
    // host's stall watch (vmm/stall_watch) and the monitor's overdue re-arm must wake the vCPU.
    DropTimerInterrupts = 11,
    // From the 8th deadline on the LAPIC timer is never armed again, as on
    // the nested machine whose timer stopped firing for a vCPU: only the
    // stall watch's kicks come, and the monitor must expire the overdue
    // deadline on them without the LAPIC.
    StopTimerInterrupts = 12,
};

// Frames the host handed over, as machine frame numbers (mfn = gpa >> 12).
struct DomainInfo {
    uint64_t first_mfn;          // domain RAM starts here
    uint64_t nr_pages;           // domain RAM size in frames
    uint64_t virt_base;          // ELF VIRT_BASE
    uint64_t entry;              // guest rip at start of day
    uint64_t start_info_va;      // guest rsi at start of day
    uint64_t stack_top_va;       // guest rsp at start of day
    uint64_t hypercall_page_va;  // 0 when the ELF has no HYPERCALL_PAGE note
    uint64_t l4_mfn;             // initial page-table root (pt_base)
    uint64_t pt_first_mfn;       // initial page-table frames: contiguous run
    uint64_t pt_nr_frames;
    uint64_t shared_info_mfn;  // monitor-owned page the guest may map
    uint64_t console_mfn;
    uint64_t store_mfn;
    uint32_t console_evtchn;
    uint32_t store_evtchn;
    uint64_t mapped_end_va;  // end of the initial mapping
};

struct BootInfo {
    uint64_t magic;
    uint32_t version;
    uint32_t nr_vcpus;
    uint64_t total_frames;       // guest-physical size / 4 KiB (M2P entries)
    uint64_t monitor_l4_gpa;     // the monitor's own root (CR3 at boot)
    uint64_t monitor_image_end;  // first virtual byte past the monitor image
    uint64_t tsc_khz;            // the guest TSC's frequency (KVM_GET_TSC_KHZ)
    XptiMode xpti;
    uint8_t log_level;  // spdlog level numbers: 0 trace .. 6 off
    TestHook test_hook;
    uint8_t pad;
    uint32_t audit_every;  // consistency audit every N hypercalls and at shutdown (0: never)
    DomainInfo domain;
    // XPTI (used when xpti == On): restricted roots (layout::kXptiRootsPerVcpu
    // per vCPU, contiguous), optimisations (abi::XptiOpt bits), PCID choice.
    uint64_t xpti_roots_gpa;
    uint32_t xpti_opts;
    PcidChoice pcid;
    uint8_t global_pages;  // CR4.PGE when XPTI is off (XPTI on: only the naive baseline uses it)
    uint8_t pad2[2];
    // Time: the host's wall clock (CLOCK_REALTIME, ns since the epoch) and
    // the TSC, read together; every vCPU shares the host's TSC (offset 0).
    uint64_t wallclock_ns;
    uint64_t wallclock_tsc;
};

static_assert(sizeof(DomainInfo) == 15 * 8);
static_assert(__builtin_offsetof(BootInfo, domain) == 56);
static_assert(sizeof(BootInfo) == 56 + sizeof(DomainInfo) + 32);

}  // namespace abi
