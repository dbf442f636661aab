/*
 * The common tail of every trap and callback stub (lib/trap_entry.S, the
 * conformance guest's second vCPU): with (vector, error code) pushed, save
 * every GPR as struct traps::Frame, call HANDLER(Frame*) on an aligned
 * stack, restore, drop the pair and leave through HYPERVISOR_iret with
 * flags 0 (not a syscall return: Xen restores rcx and r11 from the frame).
 */
#ifndef GUEST_KERNEL_LIB_TRAP_FRAME_H
#define GUEST_KERNEL_LIB_TRAP_FRAME_H

#include <xen/xen.h>

/* A trap stub for Xen's bounce frame (RCX, R11, [ERROR CODE], RIP, CS,
 * RFLAGS, RSP, SS): rcx and r11 off, a 0 error code where the CPU pushes
 * none, the vector, then on to `common`. */
.macro bounce_stub name, vector, has_error_code, common
        .globl  \name
        .type   \name, @function
\name:
        popq    %rcx
        popq    %r11
        .if \has_error_code == 0
        pushq   $0
        .endif
        pushq   $\vector
        jmp     \common
        .size   \name, . - \name
.endm

/* struct traps::Frame's registers, after the (vector, error code) pair. */
.macro save_registers
        pushq   %rax
        pushq   %rbx
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %rbp
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        cld
.endm

/* Their reverse, dropping the (vector, error code) pair too. */
.macro restore_registers
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rbp
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rbx
        popq    %rax
        addq    $16, %rsp               /* vector, error code */
.endm

.macro TRAP_FRAME_CALL_AND_IRET handler
        save_registers
        movq    %rsp, %rdi              /* struct traps::Frame * */
        movq    %rsp, %rbx              /* callee-saved copy across the call */
        andq    $-16, %rsp              /* SysV call alignment */
        call    \handler
        movq    %rbx, %rsp
        restore_registers
        pushq   $0                      /* iret_context.flags */
        jmp     hypercall_page + __HYPERVISOR_iret * 32
.endm

#endif
