// Exception and callback handling for a PV guest kernel.
//
// install() registers the trap table (HYPERVISOR_set_trap_table, the PV
// `lidt`) and the event and failsafe callbacks (CALLBACKOP_register). Every
// entry lands in handle_trap() with a Frame (trap_entry.S). Tests that
// provoke a fault arm the dispatcher for one vector first; anything else is
// unexpected and ends the guest through panic().
#pragma once

#include "trap_vectors.h"
#include "xen.hpp"

namespace traps {

enum Vector : unsigned {
    divide_error = 0,
    debug = 1,
    breakpoint = 3,
    overflow = 4,
    bound_range = 5,
    invalid_opcode = 6,
    device_not_available = 7,
    invalid_tss = 10,
    segment_not_present = 11,
    stack_fault = 12,
    general_protection = 13,
    page_fault = 14,
    x87_fpu = 16,
    alignment_check = 17,
    simd_fpu = 19,
};

// Page-fault error code bits (SDM vol. 3, 4.7).
enum PageFaultError : uint64_t {
    pf_present = 1u << 0,
    pf_write = 1u << 1,
    pf_user = 1u << 2,
    pf_reserved_bit = 1u << 3,
    pf_instruction_fetch = 1u << 4,
};

// A #GP raised by `int $n` through a gate the caller may not use: the IDT
// flag (bit 1) plus the vector in the selector-index field.
constexpr uint64_t soft_interrupt_error_code(unsigned vector) { return (uint64_t{vector} << 3) | 2; }

// What trap_entry.S pushes below Xen's bounce frame.
struct Frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip;
    uint64_t cs;  // bits 0-15 selector, bits 32-39 saved upcall mask
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};
static_assert(sizeof(Frame) == TRAP_FRAME_SIZE);
static_assert(offsetof(Frame, vector) == TRAP_FRAME_GPR_BYTES);

// One fault taken while armed, as Xen delivered it.
struct Fault {
    bool taken;
    unsigned vector;
    uint64_t error_code;
    uint64_t rip;  // where the fault happened (before any resume fix-up)
    uint16_t cs;   // selector as found in the bounce frame
    uint8_t saved_upcall_mask;
    uint64_t rflags;
    uint64_t rsp;
    uint16_t ss;
    uint64_t cr2;  // shared_info vcpu_info[0].arch.cr2, for #PF only
};

struct InstallResult {
    long trap_table;
    long event_callback;
    long failsafe_callback;
};

// One trap-table entry: flags bits 0-1 hold the DPL for software `int n`,
// bit 2 masks event upcalls while the handler runs (an interrupt gate).
// #BP and #OF get DPL 3 so `int3`/`into` reach them, as in Linux and XTF.
trap_info gate(unsigned vector, unsigned dpl, void (*handler)());

// Registers the exception handlers and, when shared_info is mapped, the
// event and failsafe callbacks.
InstallResult install();

// Expect exactly one fault with this vector. The handler resumes after the
// faulting instruction: through the fault fix-up table (fault_probe.hpp), by
// skipping a `ud2` for #UD, or not at all for traps (#BP) whose rip already
// points past the instruction.
void arm(unsigned vector);
Fault disarm();

template <typename Action>
Fault catch_fault(unsigned vector, Action&& action) {
    arm(vector);
    action();
    return disarm();
}

// Called for a fault taken in guest user mode that no test armed for;
// returning true means the handler dealt with it (e.g. user_mode::abandon).
using UserFaultHandler = bool (*)(Frame& frame);
void set_user_fault_handler(UserFaultHandler handler);

unsigned event_upcalls_seen();
unsigned failsafe_callbacks_seen();

const char* vector_name(unsigned vector);

}  // namespace traps
