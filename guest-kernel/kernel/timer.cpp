#include "timer.hpp"

#include "../lib/events.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/panic.hpp"
#include "../lib/pvclock.hpp"
#include "scheduler.hpp"
#include "upcall.hpp"

namespace timer {
namespace {

uint64_t armed_ns = 0;  // the single-shot deadline set last; 0: none outstanding
uint64_t event_count = 0;
uint64_t last_event = 0;
uint64_t due_at_block = 0;
// A deadline closer than this may pass before the monitor halts the vCPU
// (the block hypercall's way in takes up to ~100 us on the nested backend).
constexpr uint64_t imminent_ns = 200'000;

// From the upcall, events masked. Xen's single-shot timer is one-shot, so
// after a VIRQ_TIMER nothing is armed (a deadline set again since stays
// armed in Xen and merely gets set once more).
void on_virq_timer(evtchn_port_t, void*) {
    const uint64_t t = now();
    ++event_count;
    last_event = t;
    armed_ns = 0;
    sched::timer_expired(t);
}

}  // namespace

void init() {
    // Stopped before VIRQ_TIMER is bound: no tick is ever delivered.
    long rc = hv::vcpu_op(VCPUOP_stop_periodic_timer, 0, nullptr);
    if (rc != 0)
        panic("VCPUOP_stop_periodic_timer returned %ld", rc);
    evtchn_port_t port = 0;
    rc = events::bind_virq(VIRQ_TIMER, 0, &port);
    if (rc != 0)
        panic("binding VIRQ_TIMER returned %ld", rc);
    events::set_handler(port, on_virq_timer);
}

uint64_t now() { return pvclock::system_time_ns(); }

bool armed_by(uint64_t deadline_ns) { return armed_ns != 0 && armed_ns <= deadline_ns; }

void arm(uint64_t deadline_ns) {
    if (deadline_ns == 0 || armed_by(deadline_ns))
        return;
    armed_ns = deadline_ns;
    pvclock::set_timer(deadline_ns);
}

void block() {
    if (armed_ns == 0 || now() + imminent_ns < armed_ns) {
        pvclock::block();
        return;
    }
    ++due_at_block;
    const uint64_t seen = upcall::count();
    events::enable();
    while (upcall::count() == seen)
        asm volatile("pause" ::: "memory");
}

uint64_t events() { return event_count; }
uint64_t unblocked_waits() { return due_at_block; }
uint64_t last_event_ns() { return last_event; }

}  // namespace timer
