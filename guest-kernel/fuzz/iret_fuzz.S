/*
 * Random HYPERVISOR_iret frames (events_fuzz.cpp).
 *
 * iret_probe(frame, rax) (lib/iret_probe.S) "returns" through one of the
 * stubs below:
 *     1  a fault or trap (fuzz_iret_trap_N, installed as the trap table
 *        while probing): vector and rip in fuzz_iret_seen
 *     2  the target was fuzz_iret_landing and it ran
 *     3  user code made a system call (fuzz_iret_syscall, the syscall
 *        callback while probing)
 *   The trap stubs run on whatever stack Xen bounced to (the target's for
 *   kernel mode, the stack_switch stack for user mode) and never return
 *   there, so no frame the fuzzer invents is ever resumed.
 */
#include <xen/xen.h>

        .text
        .code64

/*
 * The event callback: the library's (event_callback_entry), after
 * fuzz_user_watchdog(frame) had a chance to end a user excursion that ran
 * past its time (random user code can loop). Xen's frame: RCX, R11, RIP,
 * CS, RFLAGS, RSP, SS; rcx and r11 themselves are free here.
 */
        .globl  fuzz_event_entry
fuzz_event_entry:
        pushq   %rax
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %r8
        pushq   %r9
        pushq   %r10
        cld                             /* user code may have left DF set */
        leaq    56(%rsp), %rdi
        call    fuzz_user_watchdog      /* rsp is 16-byte aligned here */
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rax
        jmp     event_callback_entry

        .globl  fuzz_iret_landing
fuzz_iret_landing:
        movq    $2, %rax
        jmp     iret_probe_return

        .globl  fuzz_iret_syscall
fuzz_iret_syscall:
        movq    $3, %rax
        jmp     iret_probe_return

/* Xen's frame: RCX, R11, [error code], RIP, ... */
        .macro  trap vector, has_error_code
        .globl  fuzz_iret_trap_\vector
fuzz_iret_trap_\vector:
        movq    $\vector, fuzz_iret_seen + 0(%rip)
        .if \has_error_code
        movq    24(%rsp), %rax
        .else
        movq    16(%rsp), %rax
        .endif
        movq    %rax, fuzz_iret_seen + 8(%rip)
        movq    $1, %rax
        jmp     iret_probe_return
        .endm

        trap 0, 0
        trap 1, 0
        trap 3, 0
        trap 4, 0
        trap 5, 0
        trap 6, 0
        trap 7, 0
        trap 10, 1
        trap 11, 1
        trap 12, 1
        trap 13, 1
        trap 14, 1
        trap 16, 0
        trap 17, 1
        trap 19, 0

        .bss
        .balign 8
        .globl  fuzz_iret_seen
fuzz_iret_seen:                         /* vector, rip */
        .skip   2 * 8

/* The stack kernel-mode targets get, and the page vcpu_info moves into. */
        .section .bss.page_aligned, "aw", @nobits
        .balign 4096
        .globl  fuzz_iret_stack, fuzz_vcpu_info_page
fuzz_iret_stack:
        .skip   4096
fuzz_vcpu_info_page:
        .skip   4096

        .section .note.GNU-stack, "", @progbits
