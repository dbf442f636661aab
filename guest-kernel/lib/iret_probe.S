/*
 * uint64_t iret_probe(const uint64_t frame[6], uint64_t rax)
 *   HYPERVISOR_iret to frame = { rip, cs, rflags, rsp, ss, flags } with
 *   rax, after saving the caller's callee-saved registers and stack. Where
 *   the frame leads, the caller's stubs (a trap handler, a landing pad, a
 *   syscall callback) end the probe: `jmp iret_probe_return` with the
 *   result in rax "returns" it from iret_probe. Used by the conformance
 *   guest's bad-frame subtest and the fuzzer's random frames.
 */
#include <xen/xen.h>

        .text
        .code64

        .globl  iret_probe
iret_probe:
        movq    %rbx, iret_probe_context + 0(%rip)
        movq    %rbp, iret_probe_context + 8(%rip)
        movq    %r12, iret_probe_context + 16(%rip)
        movq    %r13, iret_probe_context + 24(%rip)
        movq    %r14, iret_probe_context + 32(%rip)
        movq    %r15, iret_probe_context + 40(%rip)
        movq    %rsp, iret_probe_context + 48(%rip)
        pushq   32(%rdi)                /* ss */
        pushq   24(%rdi)                /* rsp */
        pushq   16(%rdi)                /* rflags */
        pushq   8(%rdi)                 /* cs */
        pushq   0(%rdi)                 /* rip */
        pushq   40(%rdi)                /* flags */
        movq    %rsi, %rax
        jmp     hypercall_page + __HYPERVISOR_iret * 32

        .globl  iret_probe_return
iret_probe_return:
        cld
        movq    iret_probe_context + 0(%rip), %rbx
        movq    iret_probe_context + 8(%rip), %rbp
        movq    iret_probe_context + 16(%rip), %r12
        movq    iret_probe_context + 24(%rip), %r13
        movq    iret_probe_context + 32(%rip), %r14
        movq    iret_probe_context + 40(%rip), %r15
        movq    iret_probe_context + 48(%rip), %rsp
        pushq   $0x202                  /* TF, AC, DF, NT off (ring 3 cannot change IF) */
        popfq
        ret

        .bss
        .balign 8
iret_probe_context:
        .skip   7 * 8

        .section .note.GNU-stack, "", @progbits
