/*
 * uint64_t int3_register_check(void)
 *
 * Loads a distinct value into every general-purpose register (rsp aside),
 * sets CF and DF, executes int3 and reports what did not survive the trip
 * through Xen's bounce frame, our #BP handler and HYPERVISOR_iret:
 * bit n = register n changed (0 rax, 1 rbx, 2 rcx, 3 rdx, 4 rsi, 5 rdi,
 * 6 rbp, 7..14 r8..r15), bit 15 = CF or DF lost. rcx and r11 are the
 * interesting ones: they come back through iret_context, not the handler.
 */
#define PATTERN_BASE 0x5a5a5a5a00000000

        .text
        .globl  int3_register_check
        .type   int3_register_check, @function
int3_register_check:
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15

        movabsq $PATTERN_BASE + 0, %rax
        movabsq $PATTERN_BASE + 1, %rbx
        movabsq $PATTERN_BASE + 2, %rcx
        movabsq $PATTERN_BASE + 3, %rdx
        movabsq $PATTERN_BASE + 4, %rsi
        movabsq $PATTERN_BASE + 5, %rdi
        movabsq $PATTERN_BASE + 6, %rbp
        movabsq $PATTERN_BASE + 7, %r8
        movabsq $PATTERN_BASE + 8, %r9
        movabsq $PATTERN_BASE + 9, %r10
        movabsq $PATTERN_BASE + 10, %r11
        movabsq $PATTERN_BASE + 11, %r12
        movabsq $PATTERN_BASE + 12, %r13
        movabsq $PATTERN_BASE + 13, %r14
        movabsq $PATTERN_BASE + 14, %r15
        stc
        std
        int3
        pushfq
        cld
        /* [rsp + 8 * n] = register n, [rsp + 8 * 15] = rflags */
        pushq   %r15
        pushq   %r14
        pushq   %r13
        pushq   %r12
        pushq   %r11
        pushq   %r10
        pushq   %r9
        pushq   %r8
        pushq   %rbp
        pushq   %rdi
        pushq   %rsi
        pushq   %rdx
        pushq   %rcx
        pushq   %rbx
        pushq   %rax

        xorl    %eax, %eax              /* result mask */
        xorl    %ecx, %ecx              /* register index */
1:      movabsq $PATTERN_BASE, %rdx
        addq    %rcx, %rdx
        cmpq    (%rsp,%rcx,8), %rdx
        je      2f
        btsq    %rcx, %rax
2:      incl    %ecx
        cmpl    $15, %ecx
        jb      1b

        movq    15 * 8(%rsp), %rdx      /* rflags after the trip */
        notq    %rdx
        testq   $0x401, %rdx            /* CF (bit 0) and DF (bit 10) */
        jz      3f
        btsq    $15, %rax
3:      addq    $16 * 8, %rsp

        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        ret
        .size   int3_register_check, . - int3_register_check
