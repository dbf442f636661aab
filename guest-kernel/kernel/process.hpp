// Processes: an address space, its regions, a kernel stack, a parent and
// an exit code. The kernel's boot thread is not a process; it starts
// processes and runs the scheduler until they have all finished.
#pragma once

#include <stdint.h>

#include "../lib/traps.hpp"
#include "address_space.hpp"
#include "regions.hpp"
#include "user_images.hpp"

namespace proc {

// waiting: in wait() for a child; sleeping: in sleep() until wake_at;
// reading: in read() until console input arrives.
enum class State { unused, runnable, waiting, sleeping, reading, zombie };

struct Process {
    long pid = 0;
    State state = State::unused;
    Process* parent = nullptr;  // null: started by the kernel (or orphaned)
    int exit_code = 0;
    vm::AddressSpace space;
    vm::RegionList regions;
    uint64_t next_mmap = 0;     // where the next mmap without an address goes
    uint64_t saved_rsp = 0;     // kernel stack pointer while switched out
    uint64_t faults = 0;        // page faults resolved for it
    uint64_t wake_at = 0;       // sleeping: system time (ns) to wake up at
    bool kill_pending = false;  // kill(): exits when it next runs in the kernel
};

constexpr unsigned max_processes = 16;
constexpr uint64_t kernel_stack_size = 16384;

// The running process (null on the boot thread).
Process* current();
Process* slot(unsigned index);
uint64_t kernel_stack_top(const Process& process);

// Starts a program image with two arguments (rdi, rsi); null when out of
// process slots or memory.
Process* spawn(const UserImage& image, long argument0, long argument1);
// Duplicates the current process (copy-on-write); the child returns 0 from
// the system call whose frame is given. Returns the child's pid or -errno.
long fork(const traps::Frame& frame);
[[noreturn]] void exit(int code);
// Marks a child of the current process for termination: it exits with
// sys::killed_by_signal the next time it is scheduled (at once if it is
// the caller). 0 or -errno.
long kill(long pid);
// Reaps a child of the current process (pid or -1 for any); -errno.
long wait(long pid, int* status);

// Boot thread: runs processes until none is runnable, sleeping or reading
// (the scheduler idles in SCHEDOP_block while only the latter remain).
void run();
// Boot thread: the exit code of a finished process it started, freeing
// its slot; false if there is no such zombie.
bool reap(long pid, int* status);
// Frees every remaining zombie (orphans).
void reap_all();

}  // namespace proc
