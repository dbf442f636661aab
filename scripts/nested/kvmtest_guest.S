/* kvmtest_guest.S: guest code for kvmtest.c, copied to GPA/VA 0x10000 (the
 * guest is identity mapped, 0..2 MiB, one user-accessible 2 MiB page).
 * Starts in 64-bit ring 0 (CS 0x08).  Reports through `out %eax, $port`:
 *   0x10 CS in ring 0 at entry           0x11 CS in ring 3 (IOPL=3 allows out)
 *   0x12 CS in the LSTAR handler          0x13 RCX there (low 32 bits)
 *   0x14 SS in the LSTAR handler          0x1f syscall returned to ring 3 (bad)
 * then `hlt` in the handler (ring 0) ends the test.  No int3/IDT is used: any
 * exception is a triple fault, i.e. KVM_EXIT_SHUTDOWN on the host. */
	.set LSTAR, 0xc0000082
	.set STAR,  0xc0000081
	.set FMASK, 0xc0000084

	.section .rodata.kvmtest_guest, "a"
	.globl kvmtest_guest_start, kvmtest_guest_end, kvmtest_after_syscall
	.code64
kvmtest_guest_start:
	mov %cs, %eax
	out %eax, $0x10
	lea handler(%rip), %rax		/* LSTAR = handler */
	mov %rax, %rdx
	shr $32, %rdx
	mov $LSTAR, %ecx
	wrmsr
	xor %eax, %eax			/* STAR: syscall CS 0x08 / SS 0x10; sysret base 0x10 */
	mov $0x00100008, %edx
	mov $STAR, %ecx
	wrmsr
	xor %eax, %eax			/* FMASK = 0 */
	xor %edx, %edx
	mov $FMASK, %ecx
	wrmsr
	/* iretq to ring 3: SS 0x1b, RSP 0x9000, RFLAGS IOPL=3, CS 0x23, RIP user */
	pushq $0x1b
	pushq $0x9000
	pushq $0x3002
	pushq $0x23
	lea user(%rip), %rax
	push %rax
	iretq

user:
	mov %cs, %eax
	out %eax, $0x11
	syscall
kvmtest_after_syscall:
	mov $0xbad, %eax
	out %eax, $0x1f
1:	jmp 1b

handler:
	mov %cs, %eax
	out %eax, $0x12
	mov %rcx, %rax
	out %eax, $0x13
	mov %ss, %eax
	out %eax, $0x14
	hlt
	jmp handler
kvmtest_guest_end:
	.section .note.GNU-stack, "", @progbits
