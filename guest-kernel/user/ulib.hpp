// The user programs' tiny libc: system-call wrappers, printf to the
// console, the TSC, and a median for benchmark batches.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "../lib/batches.hpp"
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

inline long read(int fd, void* buffer, size_t length) {
    return syscall(sys::read, static_cast<unsigned long>(fd), reinterpret_cast<unsigned long>(buffer), length);
}
inline long sleep(unsigned long milliseconds) { return syscall(sys::sleep, milliseconds); }
inline long clock_ns() { return syscall(sys::clock); }
inline long kill(long pid) { return syscall(sys::kill, static_cast<unsigned long>(pid)); }
inline long spawn(const char* program, long argument0 = 0, long argument1 = 0) {
    return syscall(sys::spawn, reinterpret_cast<unsigned long>(program), static_cast<unsigned long>(argument0),
                   static_cast<unsigned long>(argument1));
}
inline long programs(char* buffer, size_t length) {
    return syscall(sys::programs, reinterpret_cast<unsigned long>(buffer), length);
}
inline long cpus() { return syscall(sys::cpus); }
inline long cpu() { return syscall(sys::cpu); }
inline long flush_tlb(sys::FlushScope scope) { return syscall(sys::flush_tlb, scope); }

// Runs function(argument) in a new thread of this process (same address
// space) on a fresh stack of `stack_bytes`; its return value is its exit
// code. Returns its pid (reap it with wait) or -errno.
using ThreadFunction = long (*)(long argument);
long start_thread(ThreadFunction function, long argument, size_t stack_bytes = 64 * 1024);

// An mmap result that is an error (-4095..-1).
inline bool failed(const void* result) { return reinterpret_cast<unsigned long>(result) > ~0xfffUL; }

using batches::median;
using batches::rdtsc;

}  // namespace user

__attribute__((format(printf, 1, 2))) void print(const char* format, ...);
