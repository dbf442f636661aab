/*
 * User-mode code of the user_mode and tlb_refresh subtests: system calls
 * that carry a value in rax (the excursion itself is lib/user_mode.S).
 */
#include <xen/xen.h>

        .text
        .code64

/* User mode: a system call with a marker in rax. */
        .globl  user_code, user_code_after_syscall
user_code:
        movq    $0x5e5c0de, %rax
        syscall
user_code_after_syscall:
        ud2                             /* never resumed */

/* User mode (tlb_refresh subtest): hand the kernel what the window reads. */
        .globl  user_read_refresh_window
user_read_refresh_window:
        movq    refresh_target(%rip), %rax
        movq    (%rax), %rax
        syscall
        ud2                             /* never resumed */

        .section .note.GNU-stack, "", @progbits
