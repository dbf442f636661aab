// Scheduling on every vCPU: one run queue (the process table: runnable
// processes no vCPU runs), round robin, preemptive in user mode. Each vCPU
// has a scheduler thread (vCPU 0's is the boot thread inside proc::run(),
// the others' the stack they start on) that picks the next process and
// switches to it: stack_switch for user entries, then NEW_BASEPTR +
// NEW_USER_BASEPTR to its L4 (skipped when it is loaded already, e.g. a
// thread of the same process). A process gives the vCPU back by switching
// to that thread (schedule()); it may resume later on another vCPU.
// Everything here runs under the kernel lock (kernel_lock.hpp).
//
// Time slice: 10 ms of system time. While processes wait for a vCPU, each
// busy vCPU's timer (timer.hpp) is armed for the end of its slice; the
// VIRQ_TIMER handler then sets need_resched, and the way back to user mode
// switches. The kernel is not preemptible.
//
// Wake-ups: a process made runnable while a vCPU idles gets that vCPU an
// IPI (its own port, EVTCHNOP_bind_ipi); while none idles, the busy vCPUs
// without a slice timer get one to check their slices. An idle vCPU blocks
// (SCHEDOP_block) with its timer armed at most 50 ms ahead, a safety net:
// on the nested backend a wake-up can get lost in the monitor. A wake-up
// that came only that way, the IPI sent but not received, counts as late.
#pragma once

#include "process.hpp"

namespace sched {

constexpr uint64_t slice_ns = 10'000'000;
constexpr uint64_t idle_safety_ns = 50'000'000;

// On each vCPU, once, with the kernel lock held: binds its IPI port.
void init_this_cpu();

// vCPU 0's boot thread: runs processes until none is alive (proc::run).
void run_until_done();
// The scheduler thread of every other vCPU: never returns.
void scheduler_loop();

// The current process gives up its vCPU: it runs again when runnable and
// picked (at once if it is runnable and no other one waits). A process
// marked by kill() exits there instead.
void schedule();
// The process this vCPU runs (null on its scheduler thread).
proc::Process* running();

// Makes a waiting, sleeping, reading or new process runnable and finds it
// a vCPU; the running one is preempted soon if its slice is over.
void wake(proc::Process* process);
// kill() marked `process`: if another vCPU runs it (in user mode, maybe
// never entering the kernel by itself), that vCPU gets an IPI and switches
// on its way back to user mode, which ends the process.
void interrupt(proc::Process* process);
// A process exited: the boot thread learns when it was the last.
void process_exited();
// VIRQ_TIMER (from the upcall, events masked): wakes sleepers that are
// due, decides on preemption, re-arms the timer.
void timer_expired(uint64_t now_ns);
// On the way back to user mode: switches if the time slice is over.
void preempt_if_needed();

uint64_t switches();
uint64_t preemptions();
uint64_t idle_blocks();
uint64_t ipis_sent();
// Idle wake-ups the IPI did not bring (the safety timer did).
uint64_t late_wakeups();
// The vCPUs that ever ran a process.
uint64_t cpus_used();

}  // namespace sched
