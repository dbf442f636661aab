// sched_op: yield (one vCPU per KVM vCPU, so nothing to schedule), block
// and poll (the vCPU halts in KVM until an interrupt brings work), shutdown
// with its reason, which ends the run in the host, and shutdown_code.
#include <stdint.h>
#include <xen/sched.h>

#include "guest-abi/layout.hpp"
#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/events/evtchn.hpp"
#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/audit.hpp"
#include "monitor/pending.hpp"
#include "monitor/smp/domain_lock.hpp"
#include "monitor/time/clock.hpp"
#include "monitor/time/runstate.hpp"
#include "monitor/time/timer.hpp"
#include "monitor/traps/bounce.hpp"

namespace monitor {

namespace {

constexpr unsigned kMaxPollPorts = 128;  // as Xen

}  // namespace

// Xen's domain_shutdown: a code given earlier (SCHEDOP_shutdown_code) wins.
void shutdown_domain(uint8_t reason) {
    const uint32_t why = domain().has_shutdown_code ? domain().shutdown_code : reason;
    report_suppressed_logs();
    const GuestRegs& r = this_cpu()->regs;
    log(LogLevel::Debug, "guest shutdown, reason %u (rip %#lx rsp %#lx)", why, r.rip, r.rsp);
    log_guest_context(LogLevel::Debug, r);
    {
        smp::DomainLock lock(current());  // other vCPUs may still change frames
        mm::audit_if_due(true);
    }
    cpu::outl(layout::port::kShutdown, why);
    cpu::halt_forever();
}

namespace {

// Sleeps until `done` holds, doing the vCPU's background work (timers, the
// host's posts) in between; blocked in the run state while asleep.
template <typename Done>
void sleep_until(Vcpu& v, Done done) {
    bool slept = false;
    for (;;) {
        do_background_work(v);
        if (done()) {
            if (slept && timer::idle_watchdog_fired(v))
                v.counters->lost_wakeups++;  // it had something to do, and no interrupt said so
            break;
        }
        if (!slept) {
            runstate::enter(v, RUNSTATE_blocked);
            timer::blocked(v, true);
            slept = true;
        }
        wait_for_interrupt();
    }
    if (slept) {
        timer::blocked(v, false);
        runstate::enter(v, RUNSTATE_running);
    }
}

// Xen's vcpu_block_enable_events: events unmasked, and no sleep at all if
// one is already deliverable.
int64_t block(Vcpu& v) {
    v.counters->blocks++;
    v.events.info->evtchn_upcall_mask = 0;
    sleep_until(v, [&] { return events::upcall_deliverable(v); });
    return 0;
}

// Xen's do_poll: sleeps until one of the ports is pending (masked or not),
// an upcall is deliverable or the timeout (absolute system time; 0: none)
// passes; 0 in every case.
int64_t poll(Vcpu& v, const sched_poll_t& p) {
    if (p.nr_ports > kMaxPollPorts)
        return -EINVAL;
    evtchn_port_t ports[kMaxPollPorts];
    if (!GuestPtr<evtchn_port_t>(reinterpret_cast<uint64_t>(p.ports.p))
             .read_bytes(ports, p.nr_ports * sizeof(ports[0])))
        return -EFAULT;
    v.counters->polls++;
    if (events::upcall_deliverable(v))
        return 0;
    for (unsigned i = 0; i < p.nr_ports; ++i) {  // in order, as Xen: a pending port ends it before a bad one
        if (!events::usable_port(ports[i]))
            return -EINVAL;
        if (events::any_pending(&ports[i], 1))
            return 0;
    }
    __atomic_store_n(&v.events.polling, true, __ATOMIC_SEQ_CST);
    if (p.timeout)
        timer::set_poll_deadline(v, p.timeout);
    sleep_until(v, [&] {
        return events::any_pending(ports, p.nr_ports) || (p.timeout && v.time.poll_deadline_ns == 0) ||
               events::upcall_deliverable(v);
    });
    __atomic_store_n(&v.events.polling, false, __ATOMIC_SEQ_CST);
    timer::set_poll_deadline(v, 0);
    return 0;
}

}  // namespace

int64_t hc_sched_op(GuestRegs&, HypercallArgs a) {
    Vcpu& v = current();
    switch (a.a1()) {
    case SCHEDOP_yield:
        // Xen runs another vCPU; here the host thread gives its CPU away, so
        // that a vCPU spinning for a lock lets the holder run when the host
        // has fewer CPUs than the domain has vCPUs.
        v.counters->yields++;
        cpu::outl(layout::port::kYield, 0);
        return 0;
    case SCHEDOP_block: return block(v);
    case SCHEDOP_poll: {
        sched_poll_t p;
        if (!GuestPtr<sched_poll_t>(a.a2()).read(p))
            return -EFAULT;
        return poll(v, p);
    }
    case SCHEDOP_shutdown: {
        sched_shutdown_t s;
        if (!GuestPtr<sched_shutdown_t>(a.a2()).read(s))
            return -EFAULT;
        shutdown_domain(static_cast<uint8_t>(s.reason));  // Xen takes any reason, as a u8
    }
    case SCHEDOP_shutdown_code: {
        sched_shutdown_t s;
        if (!GuestPtr<sched_shutdown_t>(a.a2()).read(s))
            return -EFAULT;
        if (!domain().has_shutdown_code) {  // the first one stays, as in Xen
            domain().has_shutdown_code = true;
            domain().shutdown_code = static_cast<uint8_t>(s.reason);
        }
        return 0;
    }
    default: return unknown_subop("sched_op", a.a1());
    }
}

}  // namespace monitor
