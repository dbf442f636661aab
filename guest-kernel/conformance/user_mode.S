/*
 * User-mode code of the user_mode subtest: a system call with a marker in
 * rax (the excursion itself is lib/user_mode.S).
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

        .section .note.GNU-stack, "", @progbits
