// Console input for processes: read() on fd 0 takes what the backend put
// in the PV console ring's input half, and a process finding it empty
// sleeps (State::reading) until the console's event channel fires.
// Bytes come as they were typed or piped: no line discipline, no echo,
// no end-of-file (the PV console carries none; see user/shell.cpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace console_input {

// Handles the console port's events; false when there is no console ring.
bool init();

// Blocks the current process until at least one byte is there, then
// copies up to `length` bytes to `user_buffer`. -errno.
long read(uint64_t user_buffer, size_t length);

uint64_t events();

}  // namespace console_input
