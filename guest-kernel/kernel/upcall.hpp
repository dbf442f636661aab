// The event upcall: runs the handlers of pending ports (lib/events), then,
// if it interrupted user mode, lets the scheduler preempt.
#pragma once

#include <stdint.h>

#include "../lib/traps.hpp"

namespace upcall {

uint64_t count();

}  // namespace upcall

// Called by entry.S (kernel_event_entry).
extern "C" void kernel_event(traps::Frame* frame);
