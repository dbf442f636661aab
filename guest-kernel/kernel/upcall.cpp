#include "upcall.hpp"

#include "../lib/events.hpp"
#include "cpus.hpp"
#include "kernel_lock.hpp"
#include "scheduler.hpp"

namespace upcall {
namespace {

volatile uint64_t upcalls[cpus::max_cpus];  // each written by its own vCPU only

}  // namespace

uint64_t count() { return upcalls[cpus::self()]; }

uint64_t all() {
    uint64_t sum = 0;
    for (uint64_t n : upcalls)
        sum += n;
    return sum;
}

}  // namespace upcall

extern "C" void kernel_event(traps::Frame* frame) {
    const unsigned self = cpus::self();
    upcall::upcalls[self] = upcall::upcalls[self] + 1;
    // From user mode the lock is free; from kernel mode either this vCPU
    // idles (it dropped the lock to block) or it enabled events itself
    // while holding it (the kernel self-test, the event workloads).
    const bool from_user = (frame->cs & 3) == 3;
    const bool take_lock = from_user || !kernel_lock::held_here();
    if (take_lock)
        kernel_lock::acquire();
    events::dispatch();
    // Switching inside a handler would strand the ports dispatch() has yet
    // to look at; here every one has run. In kernel mode the scheduler is
    // running already (idle) or the kernel code goes on.
    if (from_user)
        sched::preempt_if_needed();  // may resume on another vCPU, which then holds the lock
    if (take_lock)
        kernel_lock::release();
}
