/*
 * Entry point of a Xen PV guest kernel (x86-64).
 *
 * The domain builder starts us in 64-bit mode, guest kernel mode (ring 3,
 * CS 0xe033 / SS 0xe02b), with rsi = virtual address of start_info, rsp =
 * top of a one-page boot stack inside the initial mapping, event upcalls
 * masked and no trap table. Everything we need is therefore already mapped.
 */
        .section .text.head, "ax", @progbits
        .code64
        .globl  _start
        .type   _start, @function
_start:
        cld
        /* The loader zero-fills p_memsz beyond p_filesz; do it again so the
         * runtime depends on nothing but the ELF and start_info. rsi (the
         * start_info pointer) is not touched by rep stosb. */
        leaq    __bss_start(%rip), %rdi
        leaq    __bss_end(%rip), %rcx
        subq    %rdi, %rcx
        xorl    %eax, %eax
        rep stosb

        /* Our own, larger stack: exception bounce frames land on it too. */
        leaq    boot_stack_top(%rip), %rsp
        xorl    %ebp, %ebp
        movq    %rsi, %rdi
        call    runtime_start
        ud2                     /* runtime_start does not return */
        .size   _start, . - _start

        .section .bss.boot_stack, "aw", @nobits
        .balign 4096
        .globl  boot_stack_bottom, boot_stack_top
boot_stack_bottom:
        .skip   16384
boot_stack_top:
