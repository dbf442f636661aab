/*
 * Excursions into guest user mode for tests and the fuzzer.
 *
 * uint64_t user_mode_enter(uint64_t user_rip, uint64_t user_rsp)
 *   saves the kernel context and returns to user mode with HYPERVISOR_iret
 *   (a CS with RPL 3 selects user mode). It "returns" when user mode ends:
 *   - user `syscall`: Xen bounces to user_mode_syscall_callback (register
 *     it with CALLBACKOP_register / CALLBACKTYPE_syscall) on the stack
 *     named by stack_switch; the bounce frame is recorded in
 *     user_mode_syscall_frame and rax (the user's) is returned;
 *   - a user fault: the trap handler calls user_mode_abandon(frame), which
 *     makes the iret land in user_mode_fault_return; returns ~0.
 */
#include <xen/xen.h>

        .text
        .code64

        .globl  user_mode_enter
user_mode_enter:
        movq    %rbx, kernel_context + 0(%rip)
        movq    %rbp, kernel_context + 8(%rip)
        movq    %r12, kernel_context + 16(%rip)
        movq    %r13, kernel_context + 24(%rip)
        movq    %r14, kernel_context + 32(%rip)
        movq    %r15, kernel_context + 40(%rip)
        movq    %rsp, kernel_context + 48(%rip)
        pushq   $FLAT_USER_SS
        pushq   %rsi                    /* rsp */
        pushq   $0x202                  /* rflags: IF, so events follow the mask */
        pushq   $FLAT_USER_CS64         /* RPL 3: return to user mode */
        pushq   %rdi                    /* rip */
        pushq   $0                      /* flags */
        jmp     hypercall_page + __HYPERVISOR_iret * 32

/* Xen's syscall bounce frame: RCX, R11, RIP, CS, RFLAGS, RSP, SS. */
        .globl  user_mode_syscall_callback
user_mode_syscall_callback:
        movq    %rax, user_mode_syscall_frame + 0(%rip)
        movq    0(%rsp), %rcx
        movq    %rcx, user_mode_syscall_frame + 8(%rip)     /* rcx */
        movq    16(%rsp), %rcx
        movq    %rcx, user_mode_syscall_frame + 16(%rip)    /* rip */
        movq    24(%rsp), %rcx
        movq    %rcx, user_mode_syscall_frame + 24(%rip)    /* cs */
        movq    40(%rsp), %rcx
        movq    %rcx, user_mode_syscall_frame + 32(%rip)    /* rsp */
        movq    48(%rsp), %rcx
        movq    %rcx, user_mode_syscall_frame + 40(%rip)    /* ss */
        movq    %rsp, user_mode_syscall_frame + 48(%rip)    /* kernel stack used */
        movq    user_mode_syscall_frame + 0(%rip), %rax
        jmp     restore_kernel_context

/* Where an abandoned user excursion resumes, in kernel mode. */
        .globl  user_mode_fault_return
user_mode_fault_return:
        movq    $-1, %rax
restore_kernel_context:
        movq    kernel_context + 0(%rip), %rbx
        movq    kernel_context + 8(%rip), %rbp
        movq    kernel_context + 16(%rip), %r12
        movq    kernel_context + 24(%rip), %r13
        movq    kernel_context + 32(%rip), %r14
        movq    kernel_context + 40(%rip), %r15
        movq    kernel_context + 48(%rip), %rsp
        ret

        .bss
        .balign 8
kernel_context:
        .skip   7 * 8
        .globl  user_mode_syscall_frame
user_mode_syscall_frame:
        .skip   7 * 8

        .section .note.GNU-stack, "", @progbits
