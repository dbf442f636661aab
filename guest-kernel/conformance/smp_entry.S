/*
 * vCPU 1 of the smp subtest (smp_second_vcpu.hpp): where VCPUOP_initialise
 * starts it, its own trap and callback stubs (its virtual IDT is the
 * context's trap_ctxt, not vCPU 0's trap table), its excursion into user
 * mode, and the pages it runs on and reads.
 *
 * The stubs build the same frame as lib/trap_entry.S (struct traps::Frame)
 * but call smp_second_trap, which knows vCPU 1's expected faults; vCPU 0's
 * handler and its armed-fault state are never touched from vCPU 1.
 */
#include <xen/xen.h>
#include "../lib/trap_frame.h"
#include "../lib/trap_vectors.h"

        .text
        .code64

/*
 * The context's user_regs.rip. Records every register as the context gave
 * it (smp::EntryRecord), then runs smp_second_main on the context's rsp,
 * which is 16-byte aligned: the call leaves it as the ABI expects.
 */
        .globl  smp_second_entry
        .type   smp_second_entry, @function
smp_second_entry:
        movq    %rax, smp_entry_record + 0(%rip)
        movq    %rbx, smp_entry_record + 8(%rip)
        movq    %rcx, smp_entry_record + 16(%rip)
        movq    %rdx, smp_entry_record + 24(%rip)
        movq    %rsi, smp_entry_record + 32(%rip)
        movq    %rdi, smp_entry_record + 40(%rip)
        movq    %rbp, smp_entry_record + 48(%rip)
        movq    %r8, smp_entry_record + 56(%rip)
        movq    %r9, smp_entry_record + 64(%rip)
        movq    %r10, smp_entry_record + 72(%rip)
        movq    %r11, smp_entry_record + 80(%rip)
        movq    %r12, smp_entry_record + 88(%rip)
        movq    %r13, smp_entry_record + 96(%rip)
        movq    %r14, smp_entry_record + 104(%rip)
        movq    %r15, smp_entry_record + 112(%rip)
        movq    %rsp, smp_entry_record + 120(%rip)
        pushfq
        popq    smp_entry_record + 128(%rip)
        movq    $0, %rax
        movw    %cs, %ax
        movq    %rax, smp_entry_record + 136(%rip)
        movw    %ss, %ax
        movq    %rax, smp_entry_record + 144(%rip)
        movw    %ds, %ax
        movq    %rax, smp_entry_record + 152(%rip)
        movw    %es, %ax
        movq    %rax, smp_entry_record + 160(%rip)
        cld
        xorl    %ebp, %ebp
        call    smp_second_main
        ud2                             /* smp_second_main does not return */
        .size   smp_second_entry, . - smp_second_entry

        .macro  smp_trap name, vector, has_error_code
        bounce_stub \name, \vector, \has_error_code, smp_trap_common
        .endm

        smp_trap smp_trap_de,  0,  0
        smp_trap smp_trap_db,  1,  0
        smp_trap smp_trap_bp,  3,  0
        smp_trap smp_trap_of,  4,  0
        smp_trap smp_trap_br,  5,  0
        smp_trap smp_trap_ud,  6,  0
        smp_trap smp_trap_nm,  7,  0
        smp_trap smp_trap_ts,  10, 1
        smp_trap smp_trap_np,  11, 1
        smp_trap smp_trap_ss,  12, 1
        smp_trap smp_trap_gp,  13, 1
        smp_trap smp_trap_pf,  14, 1
        smp_trap smp_trap_mf,  16, 0
        smp_trap smp_trap_ac,  17, 1
        smp_trap smp_trap_xm,  19, 0

        /* The context's event_callback_eip: vCPU 1 runs with upcalls
         * masked, so any upcall is unexpected (smp_second_trap says so). */
        .globl  smp_second_event_entry
        smp_trap smp_second_event_entry, TRAP_VECTOR_EVENT_UPCALL, 0

        /* The context's failsafe_callback_eip: DS, ES, FS, GS follow R11. */
        .globl  smp_second_failsafe_entry
        .type   smp_second_failsafe_entry, @function
smp_second_failsafe_entry:
        popq    %rcx
        popq    %r11
        addq    $4 * 8, %rsp
        pushq   $0
        pushq   $TRAP_VECTOR_FAILSAFE
        jmp     smp_trap_common
        .size   smp_second_failsafe_entry, . - smp_second_failsafe_entry

        .type   smp_trap_common, @function
smp_trap_common:
        TRAP_FRAME_CALL_AND_IRET smp_second_trap
        .size   smp_trap_common, . - smp_trap_common

/*
 * uint64_t smp_user_enter(uint64_t user_rip, uint64_t user_rsp): vCPU 1
 * into guest user mode (its user base pointer, ctrlreg[1]) with events
 * still masked (IF clear in the iret frame). Returns the user's rax at its
 * `syscall`, or ~0 when the #PF handler abandoned the excursion
 * (smp_user_fault_return).
 */
        .globl  smp_user_enter
        .type   smp_user_enter, @function
smp_user_enter:
        movq    %rbx, smp_user_context + 0(%rip)
        movq    %rbp, smp_user_context + 8(%rip)
        movq    %r12, smp_user_context + 16(%rip)
        movq    %r13, smp_user_context + 24(%rip)
        movq    %r14, smp_user_context + 32(%rip)
        movq    %r15, smp_user_context + 40(%rip)
        movq    %rsp, smp_user_context + 48(%rip)
        pushq   $FLAT_USER_SS
        pushq   %rsi                    /* rsp */
        pushq   $0x2                    /* rflags: IF clear, upcalls stay masked */
        pushq   $FLAT_USER_CS64         /* RPL 3: user mode */
        pushq   %rdi                    /* rip */
        pushq   $0                      /* flags */
        jmp     hypercall_page + __HYPERVISOR_iret * 32
        .size   smp_user_enter, . - smp_user_enter

/* The context's syscall_callback_eip: the frame on kernel_sp is dropped. */
        .globl  smp_second_syscall_entry
        .type   smp_second_syscall_entry, @function
smp_second_syscall_entry:
        jmp     smp_user_restore
        .size   smp_second_syscall_entry, . - smp_second_syscall_entry

        .globl  smp_user_fault_return
        .type   smp_user_fault_return, @function
smp_user_fault_return:
        movq    $-1, %rax
smp_user_restore:
        movq    smp_user_context + 0(%rip), %rbx
        movq    smp_user_context + 8(%rip), %rbp
        movq    smp_user_context + 16(%rip), %r12
        movq    smp_user_context + 24(%rip), %r13
        movq    smp_user_context + 32(%rip), %r14
        movq    smp_user_context + 40(%rip), %r15
        movq    smp_user_context + 48(%rip), %rsp
        ret
        .size   smp_user_fault_return, . - smp_user_fault_return

/*
 * User mode: reads the word at smp_user_target and hands it over with
 * `syscall`. A #PF on the read is retried by the handler (the fault leaves
 * rax, the address, as it was).
 */
        .globl  smp_user_read
        .type   smp_user_read, @function
smp_user_read:
        movq    smp_user_target(%rip), %rax
        movq    (%rax), %rax
        syscall
        ud2                             /* never resumed */
        .size   smp_user_read, . - smp_user_read

        .section .rodata
        .balign 8
/* trap_ctxt for vCPU 1, indexed by vector (0: no handler). */
        .globl  smp_trap_stubs
smp_trap_stubs:
        .quad   smp_trap_de, smp_trap_db, 0, smp_trap_bp
        .quad   smp_trap_of, smp_trap_br, smp_trap_ud, smp_trap_nm
        .quad   0, 0, smp_trap_ts, smp_trap_np
        .quad   smp_trap_ss, smp_trap_gp, smp_trap_pf, 0
        .quad   smp_trap_mf, smp_trap_ac, 0, smp_trap_xm

        .data
        .balign 8
        .globl  smp_entry_record, smp_user_target
smp_entry_record:
        .skip   21 * 8
smp_user_target:
        .quad   0
smp_user_context:
        .skip   7 * 8

/*
 * vCPU 1's stacks: the one it starts on (user_regs.rsp), the one Xen
 * bounces to from user mode (kernel_sp; separate, as the kernel stack is
 * live during a user excursion) and its user stack. Then the frames
 * mapped at the race addresses: A's, and B's old and new frame. Each is a
 * page of its own so that mapping it elsewhere touches nothing else.
 */
        .section .bss.page_aligned, "aw", @nobits
        .balign 4096
        .globl  smp_second_stack_top, smp_bounce_stack_top, smp_user_stack_top
        .skip   4 * 4096
smp_second_stack_top:
        .skip   2 * 4096
smp_bounce_stack_top:
        .skip   4096
smp_user_stack_top:
        .globl  smp_page_a, smp_page_b_old, smp_page_b_new
smp_page_a:
        .skip   4096
smp_page_b_old:
        .skip   4096
smp_page_b_new:
        .skip   4096

        .section .note.GNU-stack, "", @progbits
