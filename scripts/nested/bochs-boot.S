/*
 * scripts/nested/bochs-boot.S: floppy boot sector that starts the Debian
 * kernel's uncompressed vmlinux at its PVH entry point inside Bochs.
 *
 * Booting the bzImage through a boot loader would make the emulated CPU run
 * the kernel's XZ decompressor (~75 s of Bochs time); PVH skips it.  run.sh -b
 * hands Bochs one RAM image ("optramimage1") loaded at INFO = 1 MiB before the
 * BIOS runs:
 *   INFO + 0x000  struct hvm_start_info (version 1; memmap filled in here)
 *   INFO + 0x038  u32 PVH entry (XEN_ELFNOTE_PHYS32_ENTRY of vmlinux)
 *   INFO + 0x03c  u32 address of the end marker "MVVP"
 *   INFO + 0x040  struct hvm_modlist_entry (the initrd)
 *   INFO + 0x100  kernel command line
 *   16 MiB        vmlinux's LOAD segments, then the initrd, then the marker
 * This sector (loaded at 0x7c00 by the BIOS, real mode) collects the BIOS
 * E820 map into MEMMAP, switches to flat 32-bit protected mode, checks the
 * magic and the end marker (which catch a RAM image Bochs did not lay out
 * as expected, see run.sh), completes hvm_start_info and jumps to the PVH
 * entry with %ebx = &hvm_start_info, as Linux's pvh_start_xen expects.
 * On a failed check it prints "@@PVVMM-ERROR ...@@" on COM1 and writes
 * "Shutdown" to Bochs's shutdown port 0x8900, which ends the emulator.
 *
 * Build: as --32 -o b.o bochs-boot.S && ld -m elf_i386 -Ttext=0x7c00 -e _start --oformat binary -o b.bin b.o
 */
	.set INFO, 0x100000
	.set MEMMAP, 0x1000		/* E820 table, 24-byte hvm_memmap_table_entry each */
	.set MAXENT, 128		/* Linux takes at most E820_MAX_ENTRIES_ZEROPAGE */
	.set START_MAGIC, 0x336ec578	/* XEN_HVM_START_MAGIC_VALUE */
	.set END_MAGIC, 0x5056564d	/* "MVVP" */

	.code16
	.globl _start
_start:
	cli
	cld
	ljmp	$0, $1f
1:	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x7c00, %sp
	inb	$0x92, %al		/* fast A20 on (INFO is above 1 MiB) */
	or	$2, %al
	and	$0xfe, %al
	outb	%al, $0x92

	xor	%ebx, %ebx		/* E820 continuation value */
	mov	$MEMMAP, %di
	xor	%ebp, %ebp		/* entries so far */
2:	movl	$0, 20(%di)		/* hvm_memmap_table_entry.reserved */
	mov	$0xe820, %eax
	mov	$20, %ecx
	mov	$0x534d4150, %edx	/* "SMAP" */
	int	$0x15
	jc	3f
	cmp	$0x534d4150, %eax
	jne	3f
	add	$24, %di
	inc	%bp
	cmp	$MAXENT, %bp
	jae	3f
	test	%ebx, %ebx
	jnz	2b
3:	lgdtl	gdtr
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$8, $pm32

	.code32
pm32:	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %fs
	mov	%eax, %gs
	mov	%eax, %ss
	mov	$0x7c00, %esp
	cmpl	$START_MAGIC, INFO
	jne	bad
	test	%ebp, %ebp
	jz	bad
	movl	$MEMMAP, INFO + 40	/* memmap_paddr */
	movl	$0, INFO + 44
	mov	%ebp, INFO + 48		/* memmap_entries */
	mov	INFO + 0x3c, %eax
	cmpl	$END_MAGIC, (%eax)
	jne	bad
	mov	$INFO, %ebx
	jmp	*INFO + 0x38

bad:	mov	$0x3fb, %dx		/* COM1: 8N1 (the BIOS leaves it unset) */
	mov	$3, %al
	outb	%al, %dx
	mov	$msg, %esi
4:	mov	$0x3fd, %dx		/* wait for an empty transmitter */
5:	inb	%dx, %al
	test	$0x20, %al
	jz	5b
	lodsb
	test	%al, %al
	jz	6f
	mov	$0x3f8, %dx
	outb	%al, %dx
	jmp	4b
6:	mov	$shutdown, %esi
	mov	$0x8900, %dx
7:	lodsb
	test	%al, %al
	jz	8f
	outb	%al, %dx
	jmp	7b
8:	hlt
	jmp	8b

msg:	.asciz	"\n@@PVVMM-ERROR bochs boot sector: RAM image not where it belongs (Bochs memory layout changed?) or no E820 map@@\n"
shutdown:
	.asciz	"Shutdown"
	.p2align 3
gdt:	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08: flat 32-bit code */
	.quad	0x00cf92000000ffff	/* 0x10: flat data */
gdtr:	.word	gdtr - gdt - 1
	.long	gdt
	.org	510
	.word	0xaa55
