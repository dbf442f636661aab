// Start of day for our PV guests: head.S calls runtime_start(start_info*),
// which sets up the console and hands over to the guest's guest_main().
#pragma once

#include "xen.hpp"

namespace runtime {

// The start_info page the domain builder handed us (rsi at entry).
const start_info& boot_info();

// start_info.cmd_line as a NUL-terminated string.
const char* command_line();

// Value of `key=` in the command line (space separated), copied into
// `value`; false when absent.
bool command_line_option(const char* key, char* value, unsigned size);

// The decimal number of `key=N` (digits up to the first other character);
// `fallback` when `key=` is absent.
uint64_t command_line_number(const char* key, uint64_t fallback);

// Whether the command line has `word` on its own (space separated).
bool command_line_has(const char* word);

}  // namespace runtime

// Provided by each guest. Returns the SCHEDOP_shutdown reason.
unsigned guest_main(const start_info& info);
