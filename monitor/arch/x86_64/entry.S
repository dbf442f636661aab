/* All ways into and out of the monitor: boot, exception stubs, the common
 * entry that completes the GuestRegs frame, the exit to the guest, and the
 * guest-memory copy with its fault fixup. */
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

	.text
/* Exception stubs: make every frame look alike (vector, error code, iret
 * frame) before joining common_entry. */
.macro STUB vec, has_error
	.balign 16
stub_\vec:
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\vec
	jmp common_entry
.endm

.irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
	STUB \v, 0
.endr
.irp v, 8,10,11,12,13,14,17,21,29,30
	STUB \v, 1
.endr

	.section .rodata
	.balign 8
	.globl idt_stub_table
idt_stub_table:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad stub_\v
.endr

	.text
	.balign 16
	.globl common_entry
common_entry:
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
	mov %rsp, %rdi
	call trap_entry
	/* fall through: resume whatever the frame at rsp describes */

	.globl exit_to_frame
exit_to_frame:
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
	iretq

/* The cheapest possible ring-0 visit: the start-up probe times int3 into
 * this and straight back, as the bare cost of a ring 3 -> 0 -> 3 trip. */
	.globl bare_iret
bare_iret:
	iretq

/* void enter_frame(GuestRegs* regs): resume regs (first guest entry). */
	.globl enter_frame
enter_frame:
	mov %rdi, %rsp
	jmp exit_to_frame

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

	.section .extable, "a"
	.balign 8
	.quad copy_guest_insn, copy_guest_fixup

	.section .note.GNU-stack, "", @progbits
