/*
 * Assembly of the events-and-time subtests (events_support.hpp):
 *   - an event callback that records Xen's bounce frame, then runs the
 *     library's upcall entry (lib/trap_entry.S);
 *   - excursions into user mode with any code selector (64-bit 0xe033 or
 *     compat 0xe023), back through a syscall / syscall32 callback that
 *     records its bounce frame, or through a recorded user fault;
 *   - user-mode code copied to the low user page (position independent);
 *   - HYPERVISOR_iret with a frame of the test's choosing, trap entries
 *     that record a fault of that iret and return from the probe, and an
 *     iret whose frame the monitor cannot read;
 *   - the pages all of this uses.
 */
#include <xen/xen.h>

        .text
        .code64

/* Event callback: Xen's frame is RCX, R11, RIP, CS, RFLAGS, RSP, SS. */
        .globl  conf_event_entry
conf_event_entry:
        pushq   %rax
        movq    24(%rsp), %rax
        movq    %rax, conf_upcall_frame + 0(%rip)       /* rip */
        movq    32(%rsp), %rax
        movq    %rax, conf_upcall_frame + 8(%rip)       /* cs, saved mask in bits 32-39 */
        movq    40(%rsp), %rax
        movq    %rax, conf_upcall_frame + 16(%rip)      /* rflags */
        movq    48(%rsp), %rax
        movq    %rax, conf_upcall_frame + 24(%rip)      /* rsp */
        movq    56(%rsp), %rax
        movq    %rax, conf_upcall_frame + 32(%rip)      /* ss */
        leaq    8(%rsp), %rax
        movq    %rax, conf_upcall_frame + 40(%rip)      /* where Xen put the frame */
        popq    %rax
        jmp     event_callback_entry

/*
 * Syscall callbacks. conf_syscall_record: which (64/32), rax, then Xen's
 * frame (rcx, r11, rip, cs, rflags, rsp, ss), the live rflags and the
 * upcall mask at entry, and the frame's address.
 */
        .globl  conf_syscall64_callback, conf_syscall32_callback
conf_syscall64_callback:
        pushq   $64
        jmp     conf_syscall_common
conf_syscall32_callback:
        pushq   $32
conf_syscall_common:
        pushfq
        movq    %rax, conf_syscall_record + 8(%rip)
        movq    0(%rsp), %rax
        movq    %rax, conf_syscall_record + 72(%rip)    /* live rflags */
        movq    8(%rsp), %rax
        movq    %rax, conf_syscall_record + 0(%rip)     /* which callback */
        movq    16(%rsp), %rax
        movq    %rax, conf_syscall_record + 16(%rip)    /* rcx */
        movq    24(%rsp), %rax
        movq    %rax, conf_syscall_record + 24(%rip)    /* r11 */
        movq    32(%rsp), %rax
        movq    %rax, conf_syscall_record + 32(%rip)    /* rip */
        movq    40(%rsp), %rax
        movq    %rax, conf_syscall_record + 40(%rip)    /* cs */
        movq    48(%rsp), %rax
        movq    %rax, conf_syscall_record + 48(%rip)    /* rflags */
        movq    56(%rsp), %rax
        movq    %rax, conf_syscall_record + 56(%rip)    /* rsp */
        movq    64(%rsp), %rax
        movq    %rax, conf_syscall_record + 64(%rip)    /* ss */
        movq    conf_mask_byte_address(%rip), %rax
        movzbq  (%rax), %rax
        movq    %rax, conf_syscall_record + 80(%rip)    /* upcall mask */
        leaq    16(%rsp), %rax
        movq    %rax, conf_syscall_record + 88(%rip)    /* the frame */
        cld
        movq    conf_syscall_record + 8(%rip), %rax
        jmp     iret_probe_return       /* conf_user_enter returns the user's rax */

/* Where a user fault's handler sends the kernel (conf_user_enter returns ~0). */
        .globl  conf_user_fault_return
conf_user_fault_return:
        movq    $-1, %rax
        jmp     iret_probe_return

/*
 * User code, copied to the low user page (CONF_USER_CODE_VA); the flag the
 * kernel sets lives in the user stack page (CONF_USER_FLAG_VA).
 */
#define CONF_USER_FLAG_VA 0x401800

        .globl  conf_blob_spin, conf_blob_spin_end
conf_blob_spin:                         /* until the flag is set (or it gives up): rax = what is left */
        movl    $200000000, %ecx
1:      cmpl    $0, CONF_USER_FLAG_VA
        jne     2f
        pause
        decl    %ecx
        jnz     1b
2:      movl    %ecx, %eax
        syscall
        ud2
conf_blob_spin_end:

        .globl  conf_blob_syscall64, conf_blob_syscall64_at, conf_blob_syscall64_end
conf_blob_syscall64:                    /* a marker in rax, DF set, syscall */
        movl    $0x5e5c0de, %eax
        std
conf_blob_syscall64_at:
        syscall
        ud2
conf_blob_syscall64_end:

        .globl  conf_blob_compat, conf_blob_compat_at, conf_blob_compat_end
        .code32
conf_blob_compat:                       /* 32-bit code (CS 0xe023): a marker in eax, syscall */
        movl    $0x32c0de, %eax
conf_blob_compat_at:
        syscall
        ud2
conf_blob_compat_end:
        .code64

/* Where iret_probe (lib/iret_probe.S) frames lead: 1 a fault (conf_iret_fault),
 * 2 conf_iret_landing ran. */
        .globl  conf_iret_landing
conf_iret_landing:                      /* conf_iret_landed: rax, rsp, rflags */
        movq    %rax, conf_iret_landed + 0(%rip)
        movq    %rsp, conf_iret_landed + 8(%rip)
        pushfq
        popq    conf_iret_landed + 16(%rip)
        movq    $2, %rax
        jmp     iret_probe_return

/*
 * Trap entries while the iret subtest runs. conf_iret_fault: vector, error
 * code, rip, cs, rflags, rsp, ss of Xen's bounce frame, the handler's rsp
 * and the upcall mask at entry.
 */
        .macro  iret_fault vector, has_error_code
        .globl  conf_iret_fault_\vector
conf_iret_fault_\vector:
        movq    $\vector, conf_iret_fault + 0(%rip)
        .if \has_error_code
        movq    16(%rsp), %rax
        movq    %rax, conf_iret_fault + 8(%rip)
        leaq    24(%rsp), %rsi
        .else
        movq    $0, conf_iret_fault + 8(%rip)
        leaq    16(%rsp), %rsi
        .endif
        jmp     conf_iret_fault_common
        .endm

        iret_fault 6, 0
        iret_fault 11, 1
        iret_fault 12, 1
        iret_fault 13, 1
        iret_fault 14, 1

conf_iret_fault_common:
        movq    0(%rsi), %rax
        movq    %rax, conf_iret_fault + 16(%rip)        /* rip */
        movq    8(%rsi), %rax
        movq    %rax, conf_iret_fault + 24(%rip)        /* cs */
        movq    16(%rsi), %rax
        movq    %rax, conf_iret_fault + 32(%rip)        /* rflags */
        movq    24(%rsi), %rax
        movq    %rax, conf_iret_fault + 40(%rip)        /* rsp */
        movq    32(%rsi), %rax
        movq    %rax, conf_iret_fault + 48(%rip)        /* ss */
        movq    %rsp, conf_iret_fault + 56(%rip)
        movq    conf_mask_byte_address(%rip), %rax
        movzbq  (%rax), %rax
        movq    %rax, conf_iret_fault + 64(%rip)
        movq    $1, %rax
        jmp     iret_probe_return

/* void conf_iret_unreadable(uint64_t rsp): HYPERVISOR_iret with rsp there. */
        .globl  conf_iret_unreadable
conf_iret_unreadable:
        movq    %rdi, %rsp
        movl    $__HYPERVISOR_iret, %eax
        syscall
        ud2                             /* the domain should be dead */

        .bss
        .balign 8
        .globl  conf_upcall_frame, conf_syscall_record, conf_mask_byte_address, conf_iret_fault, conf_iret_landed
conf_upcall_frame:
        .skip   6 * 8
conf_syscall_record:
        .skip   12 * 8
conf_mask_byte_address:
        .skip   8
conf_iret_fault:
        .skip   9 * 8
conf_iret_landed:
        .skip   3 * 8

/*
 * Pages: the kernel stack named by stack_switch for user trips, the user
 * code and stack pages (mapped low by a user L4 of their own), a staging
 * window to write page tables, a page VCPUOP_register_vcpu_info moves
 * vcpu_info into, one for the runstate area, and a stack for iret targets.
 */
        .section .bss.page_aligned, "aw", @nobits
        .balign 4096
        .globl  conf_kernel_stack, conf_user_code, conf_user_stack, conf_table_staging
        .globl  conf_vcpu_info_page, conf_runstate_page, conf_iret_stack
conf_kernel_stack:
        .skip   4096
conf_user_code:
        .skip   4096
conf_user_stack:
        .skip   4096
conf_table_staging:
        .skip   4096
conf_vcpu_info_page:
        .skip   4096
conf_runstate_page:
        .skip   4096
conf_iret_stack:
        .skip   4096

        .section .note.GNU-stack, "", @progbits
