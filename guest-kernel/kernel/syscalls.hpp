// The system-call table (numbers in user/syscall_numbers.hpp).
#pragma once

#include <stdint.h>

#include "../lib/traps.hpp"

namespace syscalls {

uint64_t count();

}  // namespace syscalls

// Called by entry.S with the user's registers; the result goes to rax.
extern "C" void syscall_dispatch(traps::Frame* frame);
