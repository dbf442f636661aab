#include "ulib.hpp"

#include <stdarg.h>

#include "../lib/format.hpp"

namespace user {}  // namespace user

// One write system call per print, so lines of different processes do not
// interleave mid-line.
void print(const char* format, ...) {
    char line[256];
    va_list arguments;
    va_start(arguments, format);
    size_t length = vformat_to(line, sizeof line, format, arguments);
    va_end(arguments);
    user::write(1, line, length);
}
