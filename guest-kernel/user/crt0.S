/*
 * User program entry. The kernel starts a program with rdi, rsi = its two
 * arguments and rsp = the top of the stack; main's return value is the exit
 * code.
 */
        .section .text.start, "ax", @progbits
        .globl  _start
_start:
        xorl    %ebp, %ebp
        andq    $-16, %rsp
        call    main
        movq    %rax, %rdi
        movl    $1, %eax                /* sys::exit */
        syscall
        ud2

        .section .note.GNU-stack, "", @progbits
