#include "scheduler.hpp"

#include "../lib/events.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/panic.hpp"
#include "../user/syscall_numbers.hpp"
#include "cpus.hpp"
#include "kernel_lock.hpp"
#include "timer.hpp"

extern "C" void switch_context(uint64_t* save_rsp, uint64_t next_rsp);

namespace sched {
namespace {

struct Cpu {
    proc::Process* running = nullptr;   // null: the scheduler thread runs
    uint64_t scheduler_rsp = 0;         // the scheduler thread, while a process runs
    proc::Process* stack_of = nullptr;  // whose kernel stack stack_switch named last
    uint64_t slice_start = 0;           // system time the running process got the vCPU
    bool need_resched = false;
    bool idle = false;    // blocked without the lock, waiting for work
    bool kicked = false;  // an IPI is on its way to it
    evtchn_port_t ipi_port = 0;
    unsigned next_slot = 0;  // round robin over the process table
};

Cpu cpu_state[cpus::max_cpus];
uint64_t switch_count = 0, preemption_count = 0, idle_count = 0, kick_count = 0, late_count = 0;
uint64_t used_mask = 0;

Cpu& here() { return cpu_state[cpus::self()]; }

// The next runnable process no vCPU runs, round robin from this vCPU's last pick.
proc::Process* next_runnable(Cpu& c) {
    for (unsigned n = 0; n < proc::max_processes; ++n) {
        const unsigned i = (c.next_slot + n) % proc::max_processes;
        proc::Process* p = proc::slot(i);
        if (p->state == proc::State::runnable && p->cpu < 0) {
            c.next_slot = i + 1;
            return p;
        }
    }
    return nullptr;
}

bool someone_waits_for_a_cpu() {
    for (unsigned i = 0; i < proc::max_processes; ++i) {
        const proc::Process* p = proc::slot(i);
        if (p->state == proc::State::runnable && p->cpu < 0)
            return true;
    }
    return false;
}

// Runnable, running or to be made runnable by an event: not a deadlock.
bool anything_can_run() {
    for (unsigned i = 0; i < proc::max_processes; ++i) {
        const proc::State s = proc::slot(i)->state;
        if (s == proc::State::runnable || s == proc::State::sleeping || s == proc::State::reading)
            return true;
    }
    return false;
}

// The running process against its slice, now that another may wait.
void check_slice(Cpu& c, uint64_t now) {
    if (c.running == nullptr || c.running->state != proc::State::runnable || !someone_waits_for_a_cpu())
        return;
    if (now - c.slice_start >= slice_ns)
        c.need_resched = true;
    else
        timer::arm(c.slice_start + slice_ns);
}

void kick(unsigned id) {
    Cpu& target = cpu_state[id];
    if (target.kicked)
        return;
    target.kicked = true;
    ++kick_count;
    if (long rc = events::send(target.ipi_port); rc != 0)
        panic("EVTCHNOP_send to vCPU %u's IPI port %u returned %ld", id, target.ipi_port, rc);
}

// A process waits for a vCPU: an idle one (not already on its way) takes
// it; if none, the busy ones without a slice timer look at their slices.
// Nothing to do when this vCPU idles itself (its upcall runs this): it
// looks at the run queue once the upcall returns.
void find_cpu_for_work() {
    const unsigned self = cpus::self();
    if (cpu_state[self].idle)
        return;
    for (unsigned id = 0; id < cpus::count(); ++id)
        if (id != self && cpu_state[id].idle && !cpu_state[id].kicked) {
            kick(id);
            return;
        }
    for (unsigned id = 0; id < cpus::count(); ++id) {
        const Cpu& c = cpu_state[id];
        if (id != self && c.running != nullptr && !c.idle && !timer::armed_by(id, c.slice_start + slice_ns))
            kick(id);
    }
}

// From the upcall: another vCPU has work for this one (the idle loop looks
// at the run queue once the upcall returns) or wants its slice checked.
void on_ipi(evtchn_port_t, void*) {
    Cpu& c = here();
    c.kicked = false;
    check_slice(c, timer::now());
}

// Runs `next` until it gives the vCPU back (on the scheduler thread).
void run(Cpu& c, proc::Process* next) {
    const unsigned self = cpus::self();
    next->cpu = static_cast<int>(self);
    next->ran_on |= cpus::bit(self);
    used_mask |= cpus::bit(self);
    c.running = next;
    c.need_resched = false;
    ++switch_count;
    c.slice_start = timer::now();
    // Others still waiting (the one this replaced, after a yield or a
    // preemption): an idle vCPU takes them; and the slice's end needs a
    // timer (one armed earlier will do: the handler re-arms).
    if (someone_waits_for_a_cpu()) {
        find_cpu_for_work();
        timer::arm(c.slice_start + slice_ns);
    }
    if (c.stack_of != next) {
        if (long rc = hv::call<__HYPERVISOR_stack_switch>(FLAT_KERNEL_SS, proc::kernel_stack_top(*next)); rc != 0)
            panic("stack_switch returned %ld", rc);
        c.stack_of = next;
    }
    vm::set_current(&next->memory->space);
    switch_context(&c.scheduler_rsp, next->saved_rsp);
    // Back: `next` gave the vCPU up (blocked, yielded, preempted or exited).
    next->cpu = -1;
    c.running = nullptr;
}

// Nothing to run: off any process's L4 (so that its last thread may tear
// it down elsewhere), then blocked without the lock until an event. The
// timer is armed at most idle_safety_ns ahead.
void idle(Cpu& c) {
    vm::set_current(nullptr);
    c.idle = true;
    ++idle_count;
    const uint64_t timer_events = timer::events();
    timer::arm(timer::now() + idle_safety_ns);
    kernel_lock::release();
    timer::block();
    events::disable();
    kernel_lock::acquire();
    c.idle = false;
    if (c.kicked && timer::events() != timer_events)
        ++late_count;
    c.kicked = false;  // a lost IPI must not stop later ones
}

void loop(bool until_done) {
    Cpu& c = here();
    for (;;) {
        if (proc::Process* next = next_runnable(c)) {
            run(c, next);
            continue;
        }
        if (until_done && !proc::any_alive())
            return;
        if (until_done && !anything_can_run())
            panic("processes wait, but nothing can run");
        idle(c);
    }
}

}  // namespace

void init_this_cpu() {
    Cpu& c = here();
    if (long rc = events::bind_ipi(cpus::self(), &c.ipi_port); rc != 0)
        panic("EVTCHNOP_bind_ipi(vCPU %u) returned %ld", cpus::self(), rc);
    events::set_handler(c.ipi_port, on_ipi);
}

void run_until_done() { loop(true); }
void scheduler_loop() { loop(false); }

proc::Process* running() { return here().running; }

void schedule() {
    Cpu& c = here();
    proc::Process* self = c.running;
    if (self == nullptr)
        panic("schedule() on a scheduler thread");
    c.need_resched = false;
    if (self->state != proc::State::runnable || someone_waits_for_a_cpu())
        switch_context(&self->saved_rsp, c.scheduler_rsp);
    // Running again, maybe on another vCPU.
    if (self->kill_pending && self->state == proc::State::runnable)
        proc::exit(sys::killed_by_signal);
}

void wake(proc::Process* p) {
    p->state = proc::State::runnable;
    find_cpu_for_work();
    check_slice(here(), timer::now());
}

void interrupt(proc::Process* p) {
    if (p->cpu < 0 || p->cpu == static_cast<int>(cpus::self()))
        return;
    cpu_state[p->cpu].need_resched = true;
    kick(static_cast<unsigned>(p->cpu));
}

void process_exited() {
    if (!proc::any_alive() && cpus::self() != 0 && cpu_state[0].idle)
        kick(0);  // the boot thread returns from proc::run()
}

void timer_expired(uint64_t now) {
    uint64_t next_wake = 0;
    for (unsigned i = 0; i < proc::max_processes; ++i) {
        proc::Process* p = proc::slot(i);
        if (p->state != proc::State::sleeping)
            continue;
        if (p->wake_at <= now)
            wake(p);
        else if (next_wake == 0 || p->wake_at < next_wake)
            next_wake = p->wake_at;
    }
    timer::arm(next_wake);
    check_slice(here(), now);
}

void preempt_if_needed() {
    Cpu& c = here();
    if (!c.need_resched)
        return;
    c.need_resched = false;
    if (c.running->kill_pending) {
        schedule();  // exits there
        return;
    }
    if (!someone_waits_for_a_cpu())
        return;
    ++preemption_count;
    schedule();
}

uint64_t switches() { return switch_count; }
uint64_t preemptions() { return preemption_count; }
uint64_t idle_blocks() { return idle_count; }
uint64_t ipis_sent() { return kick_count; }
uint64_t late_wakeups() { return late_count; }
uint64_t cpus_used() { return used_mask; }

}  // namespace sched
