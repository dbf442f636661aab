/*
 * Kernel entries from Xen's bounce frames and the ways back to user mode.
 * Every entry runs with events masked (the trap gates and the syscall
 * callback ask for it, Xen always masks for the event upcall); the way out
 * restores the mask from the frame's IF.
 *
 * A user `syscall` arrives at syscall_entry (CALLBACKTYPE_syscall) on the
 * stack_switch stack with RCX, R11, RIP, CS, RFLAGS, RSP, SS; an exception
 * arrives at its trap-table stub with RCX, R11, [ERROR CODE], RIP, CS,
 * RFLAGS, RSP, SS (on the stack_switch stack from user mode, on the current
 * stack from kernel mode). Both become a traps::Frame (lib/traps.hpp): the
 * GPRs, a vector (0x200 for a system call), an error code and the iret
 * part, so system calls, faults and fork share one layout.
 *
 * The way out is HYPERVISOR_iret: RIP, CS, RFLAGS, RSP, SS stay on the
 * stack, we push the flags word (VGCF_in_syscall after a system call, whose
 * ABI clobbers rcx and r11 anyway; 0 after a fault, so Xen restores them)
 * and jump to the iret slot, which adds rcx, r11 and rax.
 */
#include <xen/xen.h>
#include "../lib/trap_frame.h"

#define SYSCALL_VECTOR 0x200
#define EVENT_VECTOR 0x201

        /* Calls \function(Frame*) with a SysV-aligned stack; rbx keeps
         * the frame across the call (and across context switches). */
        .macro  call_with_frame function
        movq    %rsp, %rdi
        movq    %rsp, %rbx
        andq    $-16, %rsp
        call    \function
        movq    %rbx, %rsp
        .endm

        .text
        .code64

        .globl  syscall_entry
        .type   syscall_entry, @function
syscall_entry:
        popq    %rcx
        popq    %r11
        pushq   $0
        pushq   $SYSCALL_VECTOR
        save_registers
        call_with_frame syscall_dispatch
        .globl  return_from_syscall
return_from_syscall:
        restore_registers
        pushq   $VGCF_in_syscall
        jmp     hypercall_page + __HYPERVISOR_iret * 32
        .size   syscall_entry, . - syscall_entry

        .macro  trap_stub name, vector, has_error_code
        bounce_stub \name, \vector, \has_error_code, trap_common
        .endm

        trap_stub kernel_trap_de,  0,  0
        trap_stub kernel_trap_db,  1,  0
        trap_stub kernel_trap_bp,  3,  0
        trap_stub kernel_trap_of,  4,  0
        trap_stub kernel_trap_br,  5,  0
        trap_stub kernel_trap_ud,  6,  0
        trap_stub kernel_trap_nm,  7,  0
        trap_stub kernel_trap_ts,  10, 1
        trap_stub kernel_trap_np,  11, 1
        trap_stub kernel_trap_ss,  12, 1
        trap_stub kernel_trap_gp,  13, 1
        trap_stub kernel_trap_pf,  14, 1
        trap_stub kernel_trap_mf,  16, 0
        trap_stub kernel_trap_ac,  17, 1
        trap_stub kernel_trap_xm,  19, 0

        .type   trap_common, @function
trap_common:
        save_registers
        call_with_frame kernel_trap
        .globl  return_from_trap
return_from_trap:
        restore_registers
        pushq   $0
        jmp     hypercall_page + __HYPERVISOR_iret * 32
        .size   trap_common, . - trap_common

/*
 * A new process or thread starts here (its first switch_context "returns"
 * here), with rsp at its first frame: process_started() drops the kernel
 * lock the scheduler handed over, then the frame takes it to user mode.
 * The frame is 16-byte aligned (kernel_stack_top less 176 bytes).
 */
        .globl  process_first_entry
        .type   process_first_entry, @function
process_first_entry:
        call    process_started
        jmp     return_from_trap
        .size   process_first_entry, . - process_first_entry

/*
 * The event upcall (CALLBACKTYPE_event): Xen's frame without an error
 * code, from user mode on the stack_switch stack, from kernel mode (only
 * while the kernel idles with events enabled) on the current stack.
 * kernel_event may switch processes before the way back (a preemption).
 */
        .globl  kernel_event_entry
        .type   kernel_event_entry, @function
kernel_event_entry:
        popq    %rcx
        popq    %r11
        pushq   $0
        pushq   $EVENT_VECTOR
        save_registers
        call_with_frame kernel_event
        jmp     return_from_trap
        .size   kernel_event_entry, . - kernel_event_entry

/*
 * void switch_context(uint64_t* save_rsp, uint64_t next_rsp)
 * Cooperative switch between kernel stacks: saves the callee-saved
 * registers on the current stack, records rsp, and resumes the other stack
 * where it last called switch_context (or at its start-up return address).
 */
        .globl  switch_context
        .type   switch_context, @function
switch_context:
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        ret
        .size   switch_context, . - switch_context

        .section .note.GNU-stack, "", @progbits
