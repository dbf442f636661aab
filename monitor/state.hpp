// The monitor's state: one PV domain (what the host built, shared_info,
// frame bookkeeping) and one Vcpu per CPU (1:1, never migrated). A Vcpu
// holds everything that is that vCPU's: its PV state, its XPTI engine, its
// CpuInfo (the entry/exit block on its stack, with its exit path) and the
// pending-work mask through which others reach it (monitor/pending.hpp).
#pragma once

#include <stdint.h>
#include <xen/vcpu.h>
#include <xen/xen.h>

#include "guest-abi/boot_info.hpp"
#include "guest-abi/host_channel.hpp"
#include "guest-abi/layout.hpp"
#include "monitor/arch/x86_64/regs.hpp"
#include "monitor/xpti/engine.hpp"

namespace monitor {

struct TrapBounceTarget {
    uint64_t address = 0;
    uint16_t cs = 0;
    uint8_t dpl = 0;
    bool disables_events = false;  // trap_info "IF" flag: mask upcalls on entry
};

// A guest GDT or LDT: the guest frames it was loaded from (each holding a
// SegDesc type reference) and its entry count; the monitor runs on a copy.
struct DescriptorTable {
    static constexpr uint64_t kMaxFrames = 16;  // 64 KiB: the architectural limit
    uint64_t frames[kMaxFrames] = {};
    uint64_t nr_frames = 0;
    uint64_t entries = 0;
};

// A vCPU's event-channel state (monitor/events/).
struct VcpuEvents {
    vcpu_info_t* info = nullptr;        // in shared_info, or where VCPUOP_register_vcpu_info moved it
    uint64_t info_mfn = 0;              // that frame (it holds a writable-type reference); 0: shared_info
    uint16_t virq_port[NR_VIRQS] = {};  // per-vCPU VIRQ bindings; 0: none (port 0 is reserved)
    bool polling = false;               // in SCHEDOP_poll: any pending port wakes it
};

// A vCPU's timers and run state (monitor/time/), in Xen system time (ns).
struct VcpuTime {
    uint64_t singleshot_ns = 0;  // set_timer_op / VCPUOP_set_singleshot_timer; 0: off
    uint64_t periodic_ns = 0;    // VCPUOP_set_periodic_timer's period; 0: off
    uint64_t periodic_next_ns = 0;
    uint64_t poll_deadline_ns = 0;        // SCHEDOP_poll's timeout; 0: none
    uint64_t armed_ns = 0;                // what the LAPIC timer is set to; 0: disarmed
    uint64_t published_ns = 0;            // when vcpu_time_info was last written
    uint64_t published_tsc = 0;           // its tsc_timestamp (a private copy: the guest can write the page)
    bool blocked = false;                 // in SCHEDOP_block/poll: the periodic timer pauses
    uint64_t watchdog_ns = 0;             // the idle watchdog's deadline while it is what the LAPIC timer holds
    bool watchdog_fired = false;          // it ended the last idle halt
    uint32_t programs_for_drop_hook = 0;  // TestHook::DropTimerInterrupts: which deadline it drops
    vcpu_runstate_info_t runstate{};
    uint64_t runstate_va = 0;  // VCPUOP_register_runstate_memory_area; 0: none
};

// What another vCPU asks of this one (monitor/smp/remote.hpp): TLB
// flushes and XPTI root refreshes. Written by the requester under the
// domain lock, served by this vCPU on its way out or wherever it waits;
// the requester waits until served_seq reaches posted_seq.
struct RemoteRequest {
    uint32_t work;    // remote::Work bits
    uint32_t reason;  // the abi::FlushReason of a flush
    uint64_t va;      // kFlushOne's address
    uint64_t l4;      // kRootRefresh / kL4Released: the guest L4 (physical address)
    uint64_t posted_seq;
    uint64_t served_seq;
};

// Where a vCPU starts on VCPUOP_up: its VCPUOP_initialise context's
// registers, data selectors and LDT (monitor/smp/guest_context.hpp).
struct StartState {
    GuestRegs regs;
    uint16_t ds, es, fs, gs;
    uint64_t ldt_base, ldt_ents;
};

// Xen's per-vCPU run state as VCPUOP_* sees it (monitor/smp/).
struct VcpuSmp {
    bool initialised = false;   // has a guest context (vCPU 0: from the domain builder)
    bool up = false;            // not Xen's _VPF_down: runs guest code (zero-initialised: down)
    bool started = false;       // brought up once: its TLB and XPTI roots may hold the domain's
    bool engine_ready = false;  // its XPTI engine is set up (remote requests before that need no work)
    StartState start;
    RemoteRequest request;
    // Asleep in hlt (wait_for_interrupt): it runs no guest code before it
    // serves what it was asked, so requesters leave work in `deferred`
    // (remote::Work bits, merged) instead of waking it and waiting.
    bool idle;
    uint32_t deferred;
    uint32_t kicks_for_drop_hook;  // TestHook::DropIpis: which kicks it drops
};

// monitor/log.cpp's rate limit on this vCPU's log lines.
struct LogBudget {
    uint64_t refilled_tsc = 0;
    uint32_t spent = 0;  // of the burst
    uint64_t suppressed = 0;
};

struct Vcpu {
    uint32_t id = 0;
    CpuInfo* cpu_info = nullptr;
    abi::HostChannel* channel = nullptr;
    abi::Counters* counters = nullptr;
    // PendingWork bits; set by anyone (atomically), taken by this vCPU on
    // its way back to the guest.
    uint32_t pending = 0;
    bool kernel_mode = true;
    uint64_t kernel_l4_mfn = 0;
    uint64_t user_l4_mfn = 0;  // 0: none registered
    uint64_t kernel_ss = 0, kernel_sp = 0;
    uint64_t fs_base = 0, gs_base_kernel = 0, gs_base_user = 0;
    TrapBounceTarget traps[256];
    // callback_op (Xen's pv/callback.c): where each kind of bounce lands.
    uint64_t event_callback = 0, failsafe_callback = 0, syscall_callback = 0;
    uint64_t syscall32_callback = 0, sysenter_callback = 0;
    bool syscall_disables_events = false;  // also for syscall32, as Xen does for 64-bit guests
    bool failsafe_disables_events = false, syscall32_disables_events = false, sysenter_disables_events = false;
    // Xen's virtualised privileged state (monitor/traps/priv_op.cpp): the
    // IOPL PHYSDEVOP_set_iopl set (0..3), CR0.TS as the guest last set it,
    // and the guest's view of CR4.
    uint8_t iopl = 0;
    bool cr0_ts = false;
    uint64_t cr4 = 0;
    DescriptorTable gdt;  // set_gdt
    DescriptorTable ldt;  // MMUEXT_SET_LDT
    xpti::PerVcpu xpti;
    VcpuEvents events;
    VcpuTime time;
    LogBudget log_budget;
    VcpuSmp smp;
};

struct Domain {
    abi::BootInfo boot{};
    shared_info_t* shared_info = nullptr;
    uint32_t quirks = 0;
    // SCHEDOP_shutdown_code: the reason any later shutdown reports, crashes
    // included. (Zero-initialised: the monitor runs no constructors.)
    bool has_shutdown_code = false;
    uint8_t shutdown_code = 0;
    uint32_t pci_cf8 = 0;              // the PCI CONFIG_ADDRESS latch (port 0xcf8): no devices behind it
    bool writable_pagetables = false;  // VMASST_TYPE_writable_pagetables: traps/pt_write.hpp
};

// Inline: these sit on every entry path, where each ring-0 instruction costs
// about a thousand cycles on emulating hosts.
extern Domain the_domain;
extern Vcpu the_vcpus[layout::kMaxVcpus];
inline Domain& domain() { return the_domain; }
inline Vcpu& vcpu(uint32_t id) { return the_vcpus[id]; }
inline Vcpu& current() { return *this_cpu()->vcpu; }

inline vcpu_info_t& vcpu_info(const Vcpu& v) { return *v.events.info; }

inline bool has_quirk(abi::HostQuirk q) { return (domain().quirks & q) != 0; }

// Guest frames as the monitor sees them: through the direct map.
template <typename T = void>
inline T* frame_ptr(uint64_t mfn) {
    return reinterpret_cast<T*>(layout::direct_map(mfn << layout::kPageShift));
}
inline bool is_domain_mfn(uint64_t mfn) {
    const auto& d = domain().boot.domain;
    return mfn >= d.first_mfn && mfn < d.first_mfn + d.nr_pages;
}

}  // namespace monitor
