// One big kernel lock around every piece of kernel state (processes, the
// run queue, frames, page tables, the console): taken on every entry from
// user mode and by an idle vCPU's upcall, dropped on the way back to user
// mode and while a vCPU idles. Kernel code is not preemptible, so the lock
// is what keeps two vCPUs apart; user code runs on all of them at once.
//
// The owner is a vCPU, not a thread: a context switch hands the lock to
// the next thread on the same vCPU, and a thread resumed on another vCPU
// finds that vCPU holding it.
//
// Waiting spins, and after a few tries gives the vCPU away with
// SCHEDOP_yield between looks (the holder may be a vCPU the host has not
// scheduled; on pvvmm the yield is a plain hypercall, on Xen it lets the
// holder run).
#pragma once

#include <stdint.h>

namespace kernel_lock {

void acquire();
void release();
[[nodiscard]] bool held_here();

// Acquisitions that found the lock taken.
uint64_t contended();

}  // namespace kernel_lock
