/*
 * The hypercall page named by XEN_ELFNOTE_HYPERCALL_PAGE: 128 slots of 32
 * bytes that the hypervisor fills before the guest runs (slot n issues
 * hypercall n; slot __HYPERVISOR_iret is jumped to). It must be a whole,
 * page-aligned page of the image; the linker script places it at
 * VIRT_BASE + 4 KiB. Until it is filled it holds int3, so a hypervisor that
 * forgot to fill it crashes the guest at the first hypercall.
 */
        .section .text.hypercall_page, "ax", @progbits
        .balign 4096
        .globl  hypercall_page
        .type   hypercall_page, @function
hypercall_page:
        .fill   4096, 1, 0xcc
        .size   hypercall_page, 4096
