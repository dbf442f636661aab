#include "ulib.hpp"

#include <stdarg.h>

#include "../lib/format.hpp"

namespace user {

uint64_t median(uint64_t* values, unsigned count) {
    for (unsigned i = 1; i < count; ++i)  // insertion sort: a handful of batches
        for (unsigned j = i; j > 0 && values[j - 1] > values[j]; --j) {
            uint64_t t = values[j];
            values[j] = values[j - 1];
            values[j - 1] = t;
        }
    return count == 0 ? 0 : values[count / 2];
}

}  // namespace user

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
