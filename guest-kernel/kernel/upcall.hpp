// The event upcall: runs the handlers of this vCPU's pending ports
// (lib/events) under the kernel lock, then, if it interrupted user mode,
// lets the scheduler preempt.
#pragma once

#include <stdint.h>

#include "../lib/traps.hpp"

namespace upcall {

// This vCPU's upcalls, and all vCPUs' together.
uint64_t count();
uint64_t all();

}  // namespace upcall

// Called by entry.S (kernel_event_entry).
extern "C" void kernel_event(traps::Frame* frame);
