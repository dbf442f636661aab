/* All ways into and out of the monitor: boot, exception stubs, the common
 * entry that completes the GuestRegs frame, the exit to the guest, and the
 * guest-memory copy with its fault fixup.
 *
 * Three entry/exit paths, one chosen per CPU at boot through its IDT:
 *   plain: XPTI off, no CR3 switch.
 *   flag:  XPTI as Xen after J. Gross's series: entry loads xen_cr3 (the
 *          monitor's view) when it is set, exit loads pv_cr3 (the restricted
 *          root) with use_pv_cr3 = 1 so a nested entry (NMI/#MC, a fault in
 *          the exit path) returning into ring 0 can tell which CR3 the
 *          interrupted code expects.
 *   sign:  the naive baseline: xen_cr3 > 0 means "switch on entry", < 0
 *          "already switched" (so a no-flush bit 63 cannot be carried).
 * Everything up to the CR3 switch lives in .text.entry, the only part of
 * the monitor image the restricted root maps (layout::kEntryTextVirt). */
#include "monitor/arch/x86_64/asm_offsets.hpp"

	.section .text.boot, "ax", @progbits
	.globl monitor_boot
/* rdi = vCPU id, rsi = BootInfo (direct map), rsp = top of this CPU's stack.
 * The top CPUINFO_SIZE bytes of the stack hold CpuInfo. */
monitor_boot:
	sub $CPUINFO_SIZE, %rsp
	xor %ebp, %ebp
	call monitor_main
1:	cli
	hlt
	jmp 1b

.macro SAVE_REGS
	pushq %rdi
	pushq %rsi
	pushq %rdx
	pushq %rcx
	pushq %rax
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
.endm

.macro RESTORE_REGS_IRET
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rax
	popq %rcx
	popq %rdx
	popq %rsi
	popq %rdi
	add $16, %rsp		/* vector, error code */
	/* Every way out: a fault of this iretq (a guest frame the CPU refuses)
	 * is the guest's, not the monitor's (traps/trap_entry.cpp). */
	.pushsection .exit_iret, "a"
	.quad 9f
	.popsection
9:	iretq
.endm

/* rbx = this CPU's CpuInfo, from any of its stacks (per-CPU areas are
 * PERCPU_VIRT_STRIDE aligned): nested and IST entries cannot assume rsp. */
/* Out to the guest under XPTI: arm xen_cr3 for the next entry, then run on
 * the restricted root (the flag variant first says pv_cr3 is live). */
.macro SWITCH_TO_PV_CR3 base, flag
	mov CPUINFO_MONITOR_CR3(\base), %rcx
	mov CPUINFO_PV_CR3(\base), %rax
	mov %rcx, CPUINFO_XEN_CR3(\base)
	.if \flag
	movb $1, CPUINFO_USE_PV_CR3(\base)
	.endif
	mov %rax, %cr3
.endm

.macro CPUINFO_TO_RBX
	mov %rsp, %rbx
	and $-PERCPU_VIRT_STRIDE, %rbx
	add $PERCPU_CPUINFO_OFFSET, %rbx
.endm

/* Exception stubs: make every frame look alike (vector, error code, iret
 * frame) before joining the variant's entry. IST vectors (NMI, #DF, #MC)
 * run on their own stacks and take the nested path. */
.macro STUB variant, vec, has_error, target
	.balign 16
stub_\variant\()_\vec:
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\vec
	jmp \target
.endm

.macro STUBS variant
.irp v, 0,1,3,4,5,6,7,9,15,16,19,20,22,23,24,25,26,27,28,31
	STUB \variant, \v, 0, entry_\variant
.endr
.irp v, 10,11,12,13,14,17,21,29,30
	STUB \variant, \v, 1, entry_\variant
.endr
	STUB \variant, 2, 0, entry_\variant\()_nested
	STUB \variant, 18, 0, entry_\variant\()_nested
	STUB \variant, 8, 1, entry_\variant\()_nested
/* Local APIC interrupts: from the guest or from the monitor's idle hlt. */
.irp v, VECTOR_LAPIC_TIMER, VECTOR_HOST_KICK, VECTOR_IPI, VECTOR_SPURIOUS
	STUB \variant, \v, 0, entry_\variant
.endr
.endm

.macro STUB_TABLE variant
	.globl idt_stubs_\variant
idt_stubs_\variant:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad stub_\variant\()_\v
.endr
	/* interrupt_vectors[] order (descriptors.cpp) */
.irp v, VECTOR_LAPIC_TIMER, VECTOR_HOST_KICK, VECTOR_IPI, VECTOR_SPURIOUS
	.quad stub_\variant\()_\v
.endr
.endm

	.section .text.entry, "ax", @progbits

/* ---- plain: no XPTI ---- */
	STUBS plain
	.balign 16
	.globl entry_plain
entry_plain:
entry_plain_nested:
	SAVE_REGS
	mov %rsp, %rdi
	call trap_entry
	.globl exit_plain
exit_plain:
	RESTORE_REGS_IRET

/* ---- flag: Xen's XPTI with the use_pv_cr3 flag byte ---- */
	STUBS flag
	.balign 16
	.globl entry_flag
entry_flag:
	SAVE_REGS
	testb $3, REGS_CS(%rsp)
	jz .Lflag_nested_saved
	/* From the guest: the frame is CpuInfo.regs, so rsp is CpuInfo, and
	 * xen_cr3 is armed (every way out to the guest arms it), so unlike
	 * the nested path this one need not test it. */
	mov CPUINFO_XEN_CR3(%rsp), %rax
	movb $0, CPUINFO_USE_PV_CR3(%rsp)
	mov %rax, %cr3
	movq $0, CPUINFO_XEN_CR3(%rsp)
	mov %rsp, %rdi
	call trap_entry
	.globl exit_flag
exit_flag:
	SWITCH_TO_PV_CR3 %rsp, 1
	RESTORE_REGS_IRET

entry_flag_nested:
	SAVE_REGS
.Lflag_nested_saved:
	CPUINFO_TO_RBX
	/* r15/r14: what the interrupted code had (callee-saved over trap_entry). */
	mov CPUINFO_XEN_CR3(%rbx), %r15
	movzbl CPUINFO_USE_PV_CR3(%rbx), %r14d
	test %r15, %r15
	jz 1f
	movb $0, CPUINFO_USE_PV_CR3(%rbx)
	mov %r15, %cr3
	movq $0, CPUINFO_XEN_CR3(%rbx)
1:	mov %rsp, %rdi
	call trap_entry
	testb $3, REGS_CS(%rsp)
	jz 2f
	SWITCH_TO_PV_CR3 %rbx, 1
	jmp 3f
2:	/* Back into ring 0: restore the interrupted state; late exit code
	 * that had switched to pv_cr3 gets it back. */
	mov %r15, CPUINFO_XEN_CR3(%rbx)
	mov %r14b, CPUINFO_USE_PV_CR3(%rbx)
	test %r14b, %r14b
	jz 3f
	mov CPUINFO_PV_CR3(%rbx), %rax
	mov %rax, %cr3
3:	RESTORE_REGS_IRET

/* ---- sign: the naive baseline's sign-encoded xen_cr3 ---- */
	STUBS sign
	.balign 16
	.globl entry_sign
entry_sign:
	SAVE_REGS
	testb $3, REGS_CS(%rsp)
	jz .Lsign_nested_saved
	mov CPUINFO_XEN_CR3(%rsp), %rax
	test %rax, %rax
	jle 1f			/* 0: none; negative: already switched */
	mov %rax, %cr3
	neg %rax
	mov %rax, CPUINFO_XEN_CR3(%rsp)
1:	mov %rsp, %rdi
	call trap_entry
	.globl exit_sign
exit_sign:
	SWITCH_TO_PV_CR3 %rsp, 0	/* positive: switch on the next entry */
	RESTORE_REGS_IRET

entry_sign_nested:
	SAVE_REGS
.Lsign_nested_saved:
	CPUINFO_TO_RBX
	mov CPUINFO_XEN_CR3(%rbx), %r15
	test %r15, %r15
	jle 1f
	mov %r15, %cr3
	mov %r15, %rax
	neg %rax
	mov %rax, CPUINFO_XEN_CR3(%rbx)
1:	mov %rsp, %rdi
	call trap_entry
	testb $3, REGS_CS(%rsp)
	jz 2f
	SWITCH_TO_PV_CR3 %rbx, 0
	jmp 3f
2:	/* Positive: the interrupted code was on its way out to the guest. */
	mov %r15, CPUINFO_XEN_CR3(%rbx)
	test %r15, %r15
	jle 3f
	mov CPUINFO_PV_CR3(%rbx), %rax
	mov %rax, %cr3
3:	RESTORE_REGS_IRET

/* The cheapest possible ring-0 visit: the start-up probe times int3 into
 * this and straight back, as the bare cost of a ring 3 -> 0 -> 3 trip. */
	.globl bare_iret
bare_iret:
	iretq

	.text
/* void enter_frame(GuestRegs* regs): resume regs, this CPU's CpuInfo.regs
 * (first guest entry), through this CPU's exit path. */
	.globl enter_frame
enter_frame:
	mov %rdi, %rsp
	jmp *CPUINFO_EXIT_PATH(%rsp)

/* uint64_t copy_guest(void* dst, const void* src, uint64_t n): bytes NOT
 * copied; a fault on either side lands in the fixup, not in a panic. */
	.globl copy_guest
copy_guest:
	mov %rdx, %rcx
copy_guest_insn:
	rep movsb
copy_guest_fixup:
	mov %rcx, %rax
	ret

	.section .rodata
	.balign 8
	STUB_TABLE plain
	STUB_TABLE flag
	STUB_TABLE sign

	.section .extable, "a"
	.balign 8
	.quad copy_guest_insn, copy_guest_fixup

	.section .note.GNU-stack, "", @progbits
