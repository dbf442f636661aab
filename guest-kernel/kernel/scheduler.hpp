// Cooperative round-robin scheduling between processes' kernel stacks.
// A switch reloads the kernel stack for user entries (stack_switch) and the
// base pointers (NEW_BASEPTR + NEW_USER_BASEPTR to the next process's L4).
#pragma once

#include "process.hpp"

namespace sched {

// Runs the next runnable process after the current one (round robin); if
// there is none and the current one cannot run, returns to the boot
// thread. Returns when the caller is scheduled again.
void schedule();
// Switches to `next` (null: the boot thread).
void switch_to(proc::Process* next);
proc::Process* running();

uint64_t switches();

}  // namespace sched
