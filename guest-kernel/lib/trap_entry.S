/*
 * Entry stubs for everything Xen bounces to the guest kernel: exceptions
 * (HYPERVISOR_set_trap_table) and the event / failsafe callbacks
 * (CALLBACKOP_register).
 *
 * Xen builds the bounce frame on the guest kernel stack (entry.S,
 * create_bounce_frame), 16-byte aligned, and enters the stub with rsp at:
 *     RCX, R11, [ERROR CODE], RIP, CS, RFLAGS, RSP, SS
 * rcx and r11 come first because Xen returns to the guest with sysret-like
 * semantics that clobber them. CS bits 32-39 hold the saved upcall mask;
 * for a fault in guest kernel mode the RPL bits of CS are cleared (0xe030),
 * which is also what tells HYPERVISOR_iret to stay in kernel mode.
 * The failsafe callback frame carries DS, ES, FS, GS after R11 instead of an
 * error code.
 *
 * Each stub pops rcx/r11 back into their registers, pushes a uniform
 * (vector, error code) pair and all GPRs (struct traps::Frame), calls
 * handle_trap(Frame*) and leaves through HYPERVISOR_iret: the guest leaves
 * RIP, CS, RFLAGS, RSP, SS on the stack, pushes `flags` (0: not returning
 * from a syscall, so Xen restores rcx and r11 from the frame) and jumps to
 * the iret slot, which pushes rcx, r11, rax to complete struct iret_context
 * (xen-x86_64.h) and never returns.
 */
#include "trap_frame.h"
#include <xen/xen.h>
#include "trap_vectors.h"

        .text
        .code64

        .macro  trap_entry name, vector, has_error_code
        bounce_stub \name, \vector, \has_error_code, trap_common
        .endm

        trap_entry trap_entry_de,  0,  0
        trap_entry trap_entry_db,  1,  0
        trap_entry trap_entry_bp,  3,  0
        trap_entry trap_entry_of,  4,  0
        trap_entry trap_entry_br,  5,  0
        trap_entry trap_entry_ud,  6,  0
        trap_entry trap_entry_nm,  7,  0
        trap_entry trap_entry_ts,  10, 1
        trap_entry trap_entry_np,  11, 1
        trap_entry trap_entry_ss,  12, 1
        trap_entry trap_entry_gp,  13, 1
        trap_entry trap_entry_pf,  14, 1
        trap_entry trap_entry_mf,  16, 0
        trap_entry trap_entry_ac,  17, 1
        trap_entry trap_entry_xm,  19, 0

        /* Event upcall: same frame as an exception without error code. */
        trap_entry event_callback_entry, TRAP_VECTOR_EVENT_UPCALL, 0

        /* Failsafe: Xen could not load the saved data segment selectors.
         * Keep them for the report, drop them from the frame (the failed
         * ones are already null in the registers) and return normally. */
        .globl  failsafe_callback_entry
        .type   failsafe_callback_entry, @function
failsafe_callback_entry:
        popq    %rcx
        popq    %r11
        popq    failsafe_selectors + 0(%rip)    /* DS */
        popq    failsafe_selectors + 8(%rip)    /* ES */
        popq    failsafe_selectors + 16(%rip)   /* FS */
        popq    failsafe_selectors + 24(%rip)   /* GS */
        pushq   $0
        pushq   $TRAP_VECTOR_FAILSAFE
        jmp     trap_common
        .size   failsafe_callback_entry, . - failsafe_callback_entry

        .type   trap_common, @function
trap_common:
        TRAP_FRAME_CALL_AND_IRET handle_trap
        .size   trap_common, . - trap_common

        .bss
        .balign 8
        .globl  failsafe_selectors
failsafe_selectors:
        .skip   4 * 8
