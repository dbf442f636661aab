// The system-call ABI between kernel.elf and its user programs (shared by
// both sides). Linux-like: `syscall` with the number in rax, arguments in
// rdi, rsi, rdx, r10, r8; the result (negative errno on failure) in rax;
// rcx and r11 are clobbered.
#pragma once

namespace sys {

enum Number : unsigned long {
    write = 0,       // (fd, buffer, length) -> bytes written; fd 1 and 2 are the console
    exit = 1,        // (code) -> does not return
    yield = 2,       // () -> 0; lets the next runnable process run
    getpid = 3,      // () -> pid
    mmap = 4,        // (address or 0, length) -> address; anonymous, read-write, demand paged
    munmap = 5,      // (address, length) -> 0
    fork = 6,        // () -> child pid in the parent, 0 in the child
    wait = 7,        // (pid or -1, int* status) -> pid of the reaped child
    read = 8,        // (fd, buffer, length) -> bytes read (>= 1); fd 0 is the console, blocks until input arrives
    sleep = 9,       // (milliseconds) -> 0; other processes run meanwhile
    clock = 10,      // () -> Xen system time in ns (monotonic)
    kill = 11,       // (pid of a child) -> 0; it exits with killed_by_signal when it next runs
    spawn = 12,      // (program name, argument0, argument1) -> pid of a new child running that program
    programs = 13,   // (buffer, length) -> bytes: the program names, one per line (truncated to fit)
    thread = 14,     // (entry, stack top, argument) -> pid of a new thread in this address space, entry(argument)
    cpus = 15,       // () -> number of vCPUs the kernel runs on
    cpu = 16,        // () -> the vCPU running the caller (it may change at any time)
    flush_tlb = 17,  // (scope) -> vCPUs flushed: flush_local (this one) or flush_space (all running this address space)
    count = 18,
};

// flush_tlb's scopes.
enum FlushScope : unsigned long {
    flush_local = 0,
    flush_space = 1,
};

// Errors (the Linux numbers, returned negated).
enum Error : long {
    eperm = 1,
    enoent = 2,
    esrch = 3,
    eio = 5,
    ebadf = 9,
    echild = 10,
    enomem = 12,
    efault = 14,
    einval = 22,
    enosys = 38,
};

// Where user programs live (below the canonical half's end).
constexpr unsigned long user_image_base = 0x400000;
constexpr unsigned long user_stack_top = 0x7ffffffff000;
constexpr unsigned long user_stack_size = 256 * 1024;
constexpr unsigned long mmap_base = 0x10000000000;  // 1 TiB
constexpr unsigned long user_limit = 0x800000000000;

// Exit code the kernel reports for a process killed by a fault it could not
// resolve (like a shell's 128 + SIGSEGV).
constexpr int killed_by_fault = 139;
// Exit code of a process ended by kill() (128 + SIGKILL).
constexpr int killed_by_signal = 137;

}  // namespace sys
