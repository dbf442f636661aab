// Round-robin scheduling between processes' kernel stacks, preemptive in
// user mode. A switch reloads the kernel stack for user entries
// (stack_switch) and the base pointers (NEW_BASEPTR + NEW_USER_BASEPTR to
// the next process's L4).
//
// Time slice: 10 ms of system time. A process that has run that long in
// one go while another one is runnable is preempted: the timer (timer.hpp,
// armed for the end of the running process's slice whenever another
// process is runnable) sets need_resched, and the way back to user mode
// (the event upcall's, a system call's) switches. The kernel itself is not
// preemptible: it runs with events masked (every kernel entry masks them),
// except while idle.
//
// Idle: when nothing is runnable but processes sleep or wait for console
// input, the scheduler blocks the vCPU (SCHEDOP_block, events enabled)
// until an event handler has made one of them runnable.
#pragma once

#include "process.hpp"

namespace sched {

constexpr uint64_t slice_ns = 10'000'000;

// Runs the next runnable process after the current one (round robin),
// idling while only sleepers and readers are left; if nothing can run any
// more and the current one cannot run, returns to the boot thread.
// Returns when the caller is scheduled again (a process marked by kill()
// exits there instead).
void schedule();
// Switches to `next` (null: the boot thread).
void switch_to(proc::Process* next);
proc::Process* running();

// Makes a waiting, sleeping or reading process runnable; the running one
// is preempted soon if its slice is over.
void wake(proc::Process* process);
// VIRQ_TIMER (from the upcall, events masked): wakes sleepers that are
// due, decides on preemption, re-arms the timer.
void timer_expired(uint64_t now_ns);
// On the way back to user mode: switches if the time slice is over.
void preempt_if_needed();

uint64_t switches();
uint64_t preemptions();
uint64_t idle_blocks();

}  // namespace sched
