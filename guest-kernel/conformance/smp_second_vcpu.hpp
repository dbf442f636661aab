// What the smp subtest's two vCPUs share. vCPU 0 (test_smp.cpp) posts a
// command; vCPU 1 (smp_second_vcpu.cpp), started by VCPUOP_initialise/up
// on its own stack and its own L4, spins until it sees one, runs it and
// answers. vCPU 1 runs with event upcalls masked and never prints: the
// console, the trap table and vcpu_info(0) are vCPU 0's.
#pragma once

#include <stdint.h>

#include "../lib/xen.hpp"

extern "C" {
// smp_entry.S
void smp_second_entry();
void smp_second_event_entry();
void smp_second_failsafe_entry();
void smp_second_syscall_entry();
void smp_user_read();
void smp_user_fault_return();
uint64_t smp_user_enter(uint64_t user_rip, uint64_t user_rsp);
extern const uint64_t smp_trap_stubs[20];  // by vector; 0: no handler
extern uint64_t smp_user_target;           // what smp_user_read reads
extern char smp_second_stack_top[], smp_bounce_stack_top[], smp_user_stack_top[];
extern char smp_page_a[], smp_page_b_old[], smp_page_b_new[];
}

namespace smp {

// Registers at smp_second_entry, as smp_entry.S stores them.
struct EntryRecord {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rsp, rflags, cs, ss, ds, es;
};

// What vCPU 1 read at start-up through the segment bases and emulated
// instructions of its initial context.
struct StartView {
    uint64_t fs_word, gs_word;                // %fs:0 and %gs:0
    uint64_t fs_base, gs_base, gs_base_user;  // rdmsr FS_BASE, GS_BASE, KERNEL_GS_BASE
    uint64_t port_byte;                       // inb $0x80 under the context's IOPL 1
};

enum class Command : uint32_t {
    none,
    ping_pong,           // argument: round trips; SCHEDOP_poll on ipi.to_second, answer on ipi.to_first
    race_kernel,         // read `argument` (kernel mode) until it maps; result: the word read
    race_user,           // the same from user mode (user base pointer)
    read_until_flushed,  // read `argument` until `signal` is set; result: the first read after it
    read_until_cleared,  // the same, the read expected to fault after it
    down_self,           // VCPUOP_down on itself; result: its return value
    count_forever,       // increments `counter`, never finishes
};

// How vCPU 1's #PF handler treats a fault on `fault_address`.
enum class FaultMode : uint32_t {
    unexpected,  // none expected: any fault is reported
    retry,       // counted and retried, up to `fault_bound` once `signal` is set; then given up
    skip,        // counted and the read abandoned at once
};

// What the abandoned read returns (no page holds it).
inline constexpr uint64_t kReadAbandoned = 0xdead0000abad0000;

struct Shared {
    volatile uint32_t alive;  // vCPU 1 reached smp_second_main
    StartView start;

    // Commands: vCPU 0 writes command and argument, then bumps `posted`;
    // vCPU 1 answers in `result` and sets `finished` to it.
    volatile Command command;
    volatile uint64_t argument;
    volatile uint32_t posted, finished;
    volatile uint64_t result;
    volatile uint32_t signal;  // vCPU 0 -> vCPU 1 during a command: installed, flushed, cleared
    volatile uint64_t reads;   // reads done so far (read_until_*)
    volatile uint64_t counter;

    // Inter-processor events: vCPU 1 waits on to_second, vCPU 0 on to_first.
    evtchn_port_t to_second, to_first;
    volatile uint32_t ping, pong;

    // vCPU 1's page faults on the address a command expects.
    volatile uint64_t fault_address;
    volatile FaultMode fault_mode;
    volatile uint32_t fault_bound;
    volatile uint32_t faults, faults_after_signal;
    volatile uint32_t gave_up;

    // Anything else vCPU 1 took (it then stops in its handler).
    volatile uint32_t unexpected;
    uint64_t unexpected_vector, unexpected_error, unexpected_rip, unexpected_cs, unexpected_cr2;
};

extern Shared shared;
extern EntryRecord entry_record asm("smp_entry_record");

}  // namespace smp
