// Work a vCPU does on its way back to the guest, in one place, as Xen's
// test_all_events and NOVA's hazard mask: whoever affects a vCPU (a timer,
// the host, another vCPU, an event) posts a bit in its pending mask and
// kicks it; only the vCPU itself takes the bits and touches the state they
// are about. Every way out to the guest goes through before_guest_exit().
#pragma once

#include <stdint.h>

#include "monitor/arch/x86_64/regs.hpp"
#include "monitor/state.hpp"

namespace monitor {

enum PendingWork : uint32_t {
    kPendingEvent = 1u << 0,   // an event upcall may be deliverable (vcpu_info says)
    kPendingTimer = 1u << 1,   // the LAPIC timer fired: expire this vCPU's timers
    kPendingHost = 1u << 2,    // the host posted work (HostChannel::posted)
    kPendingRemote = 1u << 3,  // another vCPU posted a request (monitor/smp/remote.hpp)
    kPendingDown = 1u << 4,    // VCPUOP_down: stop before the guest runs again (monitor/smp/vcpus.hpp)
};

inline void post(Vcpu& v, uint32_t work) { __atomic_fetch_or(&v.pending, work, __ATOMIC_SEQ_CST); }
// post(), then wake `v` with an IPI if it is another vCPU (this one sees
// the bit on its way out, or in its idle loop).
void post_and_kick(Vcpu& v, uint32_t work);

// The work that needs no guest frame (timers, the host's posts); it may
// post kPendingEvent. Loops until only that is left.
void do_background_work(Vcpu& v);
// All of it, then the event upcall if one is deliverable (it rewrites `r`
// into the guest's event callback).
void do_pending_work(GuestRegs& r, Vcpu& v);
// Xen's test_all_events looks at vcpu_info itself on every exit: an upcall
// is due whenever upcall_pending is set and the mask clear, also when the
// guest set upcall_pending itself or left it set (no kPendingEvent then).
inline bool upcall_due(const Vcpu& v) {
    const vcpu_info_t& info = *v.events.info;
    return __atomic_load_n(&info.evtchn_upcall_pending, __ATOMIC_RELAXED) && !info.evtchn_upcall_mask;
}
inline void before_guest_exit(GuestRegs& r, Vcpu& v) {
    if (__atomic_load_n(&v.pending, __ATOMIC_RELAXED) || upcall_due(v)) [[unlikely]]
        do_pending_work(r, v);
}

// Sleeps in hlt with interrupts on until one arrives; the host sees an
// idle vCPU (KVM's in-kernel halt), not a spinning one. The vCPU counts as
// idle meanwhile (requests to it are deferred: monitor/smp/remote.hpp), so
// only waits that do nothing with guest memory before their caller's
// pending work runs may use it (the guest's block and poll, a vCPU down).
void wait_for_interrupt();

// Every interrupt (vector >= 32), from the guest or from wait_for_interrupt.
void handle_interrupt(uint64_t vector);

}  // namespace monitor
