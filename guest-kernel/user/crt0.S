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

/*
 * A thread's entry (user::start_thread): rdi and rsp point at {function,
 * argument} at the top of its stack; the function's return value is the
 * thread's exit code.
 */
        .globl  thread_start
thread_start:
        xorl    %ebp, %ebp
        movq    (%rdi), %rax
        movq    8(%rdi), %rdi
        call    *%rax
        movq    %rax, %rdi
        movl    $1, %eax                /* sys::exit */
        syscall
        ud2

        .section .note.GNU-stack, "", @progbits
