// The user programs' tiny libc: system-call wrappers, printf to the
// console, the TSC, and a median for benchmark batches.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "syscall_numbers.hpp"

extern "C" long main(long argument0, long argument1);

namespace user {

inline long syscall(unsigned long number, unsigned long a0 = 0, unsigned long a1 = 0, unsigned long a2 = 0) {
    long result;
    asm volatile("syscall" : "=a"(result), "+D"(a0), "+S"(a1), "+d"(a2) : "a"(number) : "rcx", "r11", "memory");
    return result;
}

inline long write(int fd, const void* buffer, size_t length) {
    return syscall(sys::write, static_cast<unsigned long>(fd), reinterpret_cast<unsigned long>(buffer), length);
}
[[noreturn]] inline void exit(int code) {
    syscall(sys::exit, static_cast<unsigned long>(code));
    __builtin_unreachable();
}
inline long yield() { return syscall(sys::yield); }
inline long getpid() { return syscall(sys::getpid); }
inline void* mmap(void* address, size_t length) {
    return reinterpret_cast<void*>(syscall(sys::mmap, reinterpret_cast<unsigned long>(address), length));
}
inline long munmap(void* address, size_t length) {
    return syscall(sys::munmap, reinterpret_cast<unsigned long>(address), length);
}
inline long fork() { return syscall(sys::fork); }
inline long wait(long pid, int* status) {
    return syscall(sys::wait, static_cast<unsigned long>(pid), reinterpret_cast<unsigned long>(status));
}

// An mmap result that is an error (-4095..-1).
inline bool failed(const void* result) { return reinterpret_cast<unsigned long>(result) > ~0xfffUL; }

inline uint64_t rdtsc() {
    uint32_t low, high;
    asm volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return (uint64_t{high} << 32) | low;
}

// Sorts `values` in place and returns the middle one.
uint64_t median(uint64_t* values, unsigned count);

}  // namespace user

__attribute__((format(printf, 1, 2))) void print(const char* format, ...);
