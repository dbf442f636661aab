// Processes: memory (an address space and its regions, shared with the
// process's threads), a kernel stack, a parent and an exit code. A thread
// is a process sharing its creator's memory (like Linux's clone with
// CLONE_VM): its creator is its parent and reaps it with wait(). The
// kernel's boot thread is not a process; it starts processes and runs
// vCPU 0's scheduler until they have all finished.
#pragma once

#include <stdint.h>

#include "../lib/traps.hpp"
#include "process_memory.hpp"
#include "user_images.hpp"

namespace proc {

// runnable: running on a vCPU (cpu >= 0) or waiting for one in the run
// queue; waiting: in wait() for a child; sleeping: in sleep() until
// wake_at; reading: in read() until console input arrives.
enum class State { unused, runnable, waiting, sleeping, reading, zombie };

struct Process {
    long pid = 0;
    State state = State::unused;
    Process* parent = nullptr;  // null: started by the kernel (or orphaned)
    int exit_code = 0;
    Memory* memory = nullptr;
    int cpu = -1;               // the vCPU running it; -1: none
    uint64_t ran_on = 0;        // mask of the vCPUs it ran on
    uint64_t saved_rsp = 0;     // kernel stack pointer while switched out
    uint64_t faults = 0;        // page faults resolved for it
    uint64_t wake_at = 0;       // sleeping: system time (ns) to wake up at
    bool kill_pending = false;  // kill(): exits when it next runs in the kernel
    // Page faults in a row that found the page mapped already (page_fault.cpp).
    uint64_t spurious_faults = 0;
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
// A thread of the current process starting at `entry` with `stack_top` and
// `argument` in rdi. Returns its pid or -errno.
long create_thread(uint64_t entry, uint64_t stack_top, long argument);
[[noreturn]] void exit(int code);
// Marks a child of the current process for termination: it exits with
// sys::killed_by_signal the next time it is scheduled (at once if it is
// the caller). 0 or -errno.
long kill(long pid);
// Reaps a child of the current process (pid or -1 for any); -errno.
long wait(long pid, int* status);

// Boot thread: runs processes (on every vCPU) until none is left but
// zombies (vCPU 0 idles in SCHEDOP_block while the others run them or
// only sleepers and readers remain).
void run();
// Any process that is not a zombie or a free slot.
bool any_alive();
// Boot thread: the exit code of a finished process it started, freeing
// its slot; false if there is no such zombie.
bool reap(long pid, int* status);
// Frees every remaining zombie (orphans).
void reap_all();

}  // namespace proc
