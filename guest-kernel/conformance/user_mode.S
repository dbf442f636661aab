/*
 * A round trip through guest user mode: enter_user_mode() saves the kernel
 * context, then returns to user mode with HYPERVISOR_iret (CS RPL 3 selects
 * user mode); the user code issues `syscall`, which Xen bounces to the
 * kernel's registered syscall callback on the stack_switch stack; the
 * callback records the bounce frame and resumes the saved kernel context.
 *
 * uint64_t enter_user_mode(uint64_t user_rip, uint64_t user_rsp)
 *   returns the rax the user code passed to syscall.
 */
#include <xen/xen.h>

        .text
        .code64

        .globl  enter_user_mode
enter_user_mode:
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

/* User mode: a system call with a marker in rax. */
        .globl  user_code, user_code_after_syscall
user_code:
        movq    $0x5e5c0de, %rax
        syscall
user_code_after_syscall:
        ud2                             /* never resumed */

/* Xen's syscall bounce frame: RCX, R11, RIP, CS, RFLAGS, RSP, SS. */
        .globl  user_syscall_callback
user_syscall_callback:
        movq    %rax, user_syscall_frame + 0(%rip)
        movq    0(%rsp), %rcx
        movq    %rcx, user_syscall_frame + 8(%rip)     /* rcx */
        movq    16(%rsp), %rcx
        movq    %rcx, user_syscall_frame + 16(%rip)    /* rip */
        movq    24(%rsp), %rcx
        movq    %rcx, user_syscall_frame + 24(%rip)    /* cs */
        movq    40(%rsp), %rcx
        movq    %rcx, user_syscall_frame + 32(%rip)    /* rsp */
        movq    48(%rsp), %rcx
        movq    %rcx, user_syscall_frame + 40(%rip)    /* ss */
        movq    %rsp, user_syscall_frame + 48(%rip)    /* kernel stack used */
        movq    kernel_context + 0(%rip), %rbx
        movq    kernel_context + 8(%rip), %rbp
        movq    kernel_context + 16(%rip), %r12
        movq    kernel_context + 24(%rip), %r13
        movq    kernel_context + 32(%rip), %r14
        movq    kernel_context + 40(%rip), %r15
        movq    kernel_context + 48(%rip), %rsp
        movq    user_syscall_frame + 0(%rip), %rax
        ret

        .bss
        .balign 8
kernel_context:
        .skip   7 * 8
        .globl  user_syscall_frame
user_syscall_frame:
        .skip   7 * 8

        .section .note.GNU-stack, "", @progbits
