#include "ulib.hpp"

#include <stdarg.h>

#include "../lib/format.hpp"

extern "C" void thread_start();  // crt0.S

namespace user {

long start_thread(ThreadFunction function, long argument, size_t stack_bytes) {
    auto* stack = static_cast<char*>(mmap(nullptr, stack_bytes));
    if (failed(stack))
        return reinterpret_cast<long>(stack);
    // thread_start finds what to call at its stack top (16-byte aligned).
    auto* start = reinterpret_cast<unsigned long*>(stack + stack_bytes - 16);
    start[0] = reinterpret_cast<unsigned long>(function);
    start[1] = static_cast<unsigned long>(argument);
    return syscall(sys::thread, reinterpret_cast<unsigned long>(thread_start), reinterpret_cast<unsigned long>(start),
                   reinterpret_cast<unsigned long>(start));
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
