#include "timer.hpp"

#include "../lib/events.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/panic.hpp"
#include "../lib/pvclock.hpp"
#include "cpus.hpp"
#include "scheduler.hpp"
#include "upcall.hpp"

namespace timer {
namespace {

struct Cpu {
    uint64_t armed_ns = 0;  // the single-shot deadline set last; 0: none outstanding
    uint64_t events = 0;
    uint64_t last_event = 0;
};
Cpu cpu_state[cpus::max_cpus];
uint64_t due_at_block = 0;

Cpu& here() { return cpu_state[cpus::self()]; }
// A deadline closer than this may pass before the monitor halts the vCPU
// (the block hypercall's way in takes up to ~100 us on the nested backend).
constexpr uint64_t imminent_ns = 200'000;

// From the upcall, events masked. Xen's single-shot timer is one-shot, so
// after a VIRQ_TIMER nothing is armed (a deadline set again since stays
// armed in Xen and merely gets set once more).
void on_virq_timer(evtchn_port_t, void*) {
    const uint64_t t = now();
    Cpu& c = here();
    ++c.events;
    c.last_event = t;
    c.armed_ns = 0;
    sched::timer_expired(t);
}

}  // namespace

void init_this_cpu() {
    const unsigned self = cpus::self();
    // Stopped before VIRQ_TIMER is bound: no tick is ever delivered.
    long rc = hv::vcpu_op(VCPUOP_stop_periodic_timer, self, nullptr);
    if (rc != 0)
        panic("VCPUOP_stop_periodic_timer returned %ld", rc);
    evtchn_port_t port = 0;
    rc = events::bind_virq(VIRQ_TIMER, self, &port);
    if (rc != 0)
        panic("binding VIRQ_TIMER returned %ld", rc);
    events::set_handler(port, on_virq_timer);
}

uint64_t now() { return pvclock::system_time_ns(); }

bool armed_by(unsigned cpu, uint64_t deadline_ns) {
    const uint64_t armed = cpu_state[cpu].armed_ns;
    return armed != 0 && armed <= deadline_ns;
}

bool armed_by(uint64_t deadline_ns) { return armed_by(cpus::self(), deadline_ns); }

void arm(uint64_t deadline_ns) {
    if (deadline_ns == 0 || armed_by(deadline_ns))
        return;
    here().armed_ns = deadline_ns;
    pvclock::set_timer(deadline_ns);
}

void block() {
    const uint64_t armed = here().armed_ns;
    if (armed == 0 || now() + imminent_ns < armed) {
        pvclock::block();
        return;
    }
    __atomic_fetch_add(&due_at_block, 1, __ATOMIC_RELAXED);  // idle vCPUs do not hold the lock
    const uint64_t seen = upcall::count();
    events::enable();
    while (upcall::count() == seen)
        asm volatile("pause" ::: "memory");
}

uint64_t events() { return here().events; }
uint64_t unblocked_waits() { return due_at_block; }
uint64_t last_event_ns() { return here().last_event; }

uint64_t all_events() {
    uint64_t sum = 0;
    for (const Cpu& c : cpu_state)
        sum += c.events;
    return sum;
}

}  // namespace timer
