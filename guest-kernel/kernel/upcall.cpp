#include "upcall.hpp"

#include "../lib/events.hpp"
#include "scheduler.hpp"

namespace upcall {
namespace {

uint64_t upcalls = 0;

}  // namespace

uint64_t count() { return upcalls; }

}  // namespace upcall

extern "C" void kernel_event(traps::Frame* frame) {
    ++upcall::upcalls;
    events::dispatch();
    // Switching inside a handler would strand the ports dispatch() has yet
    // to look at; here every one has run. In kernel mode (the idle loop)
    // the scheduler is running already.
    if ((frame->cs & 3) == 3)
        sched::preempt_if_needed();
}
