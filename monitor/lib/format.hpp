// A small printf-style formatter for monitor log lines and panics:
// %s %c %d %i %u %x %p with l/ll and width/zero-pad, into a fixed buffer.
#pragma once

#include <stdarg.h>
#include <stddef.h>

namespace monitor {

// Returns the length written (always NUL-terminated, truncated to cap-1).
size_t vformat(char* buf, size_t cap, const char* fmt, va_list ap);
[[gnu::format(printf, 3, 4)]] size_t format(char* buf, size_t cap, const char* fmt, ...);

}  // namespace monitor
