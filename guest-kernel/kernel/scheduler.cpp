#include "scheduler.hpp"

#include "../lib/events.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/panic.hpp"
#include "../user/syscall_numbers.hpp"
#include "timer.hpp"

extern "C" void switch_context(uint64_t* save_rsp, uint64_t next_rsp);

namespace sched {
namespace {

proc::Process* running_process = nullptr;
uint64_t boot_thread_rsp = 0;
uint64_t switch_count = 0;
uint64_t preemption_count = 0;
uint64_t idle_count = 0;
uint64_t slice_start = 0;  // system time the running process was switched to
bool need_resched = false;

proc::Process* next_runnable() {
    unsigned start = 0;
    if (running_process != nullptr)
        for (unsigned i = 0; i < proc::max_processes; ++i)
            if (proc::slot(i) == running_process)
                start = i + 1;
    for (unsigned n = 0; n < proc::max_processes; ++n) {
        proc::Process* p = proc::slot((start + n) % proc::max_processes);
        if (p->state == proc::State::runnable)
            return p;
    }
    return nullptr;
}

bool other_runnable() {
    for (unsigned i = 0; i < proc::max_processes; ++i) {
        const proc::Process* p = proc::slot(i);
        if (p != running_process && p->state == proc::State::runnable)
            return true;
    }
    return false;
}

// Processes that an event will make runnable (the scheduler idles for them).
bool waiting_for_events() {
    for (unsigned i = 0; i < proc::max_processes; ++i) {
        const proc::State s = proc::slot(i)->state;
        if (s == proc::State::sleeping || s == proc::State::reading)
            return true;
    }
    return false;
}

// The running process (in user mode or about to return there) against its
// slice, now that another process may be runnable.
void check_slice(uint64_t now) {
    if (running_process == nullptr || running_process->state != proc::State::runnable || !other_runnable())
        return;
    if (now - slice_start >= slice_ns)
        need_resched = true;
    else
        timer::arm(slice_start + slice_ns);
}

// Nothing runnable, but sleepers or readers: block until an event. Called
// with events masked; SCHEDOP_block unmasks them and returns once an
// upcall is pending, which is delivered (the handlers run) on its way out
// (timer::block: without blocking when the timer is due already).
void idle() {
    ++idle_count;
    timer::block();
    events::disable();
}

}  // namespace

proc::Process* running() { return running_process; }
uint64_t switches() { return switch_count; }
uint64_t preemptions() { return preemption_count; }
uint64_t idle_blocks() { return idle_count; }

void switch_to(proc::Process* next) {
    proc::Process* previous = running_process;
    if (next == previous)
        return;
    ++switch_count;
    running_process = next;
    need_resched = false;
    uint64_t* save = previous != nullptr ? &previous->saved_rsp : &boot_thread_rsp;
    if (next == nullptr) {
        vm::set_current(nullptr);
        switch_context(save, boot_thread_rsp);
        return;
    }
    slice_start = timer::now();
    // The slice's end needs a timer only while another process could use
    // the CPU; one armed earlier will do (it re-arms when it finds the
    // slice still running).
    if (!timer::armed_by(slice_start + slice_ns) && other_runnable())
        timer::arm(slice_start + slice_ns);
    long rc = hv::call<__HYPERVISOR_stack_switch>(FLAT_KERNEL_SS, proc::kernel_stack_top(*next));
    if (rc != 0)
        panic("stack_switch returned %ld", rc);
    vm::set_current(&next->space);
    switch_context(save, next->saved_rsp);
}

void schedule() {
    for (;;) {
        proc::Process* next = next_runnable();
        if (next != nullptr) {
            switch_to(next);
            break;
        }
        if (!waiting_for_events()) {
            switch_to(nullptr);
            break;
        }
        idle();
    }
    // Back in the process that called schedule() (or on the boot thread).
    proc::Process* self = running_process;
    if (self != nullptr && self->kill_pending && self->state == proc::State::runnable)
        proc::exit(sys::killed_by_signal);
}

void wake(proc::Process* p) {
    p->state = proc::State::runnable;
    check_slice(timer::now());
}

void timer_expired(uint64_t now) {
    uint64_t next_wake = 0;
    for (unsigned i = 0; i < proc::max_processes; ++i) {
        proc::Process* p = proc::slot(i);
        if (p->state != proc::State::sleeping)
            continue;
        if (p->wake_at <= now)
            p->state = proc::State::runnable;
        else if (next_wake == 0 || p->wake_at < next_wake)
            next_wake = p->wake_at;
    }
    timer::arm(next_wake);
    check_slice(now);
}

void preempt_if_needed() {
    if (!need_resched)
        return;
    need_resched = false;
    const uint64_t before = switch_count;
    schedule();
    if (switch_count != before)  // it ran others (it may be the only runnable one again)
        ++preemption_count;
}

}  // namespace sched
