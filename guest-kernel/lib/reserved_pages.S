/*
 * Page-aligned holes in the image whose mapping the guest replaces at run
 * time with HYPERVISOR_update_va_mapping. Inside the image they are covered
 * by the boot page tables, so the L1 entry to rewrite already exists.
 * Defined here rather than in C++ so the compiler cannot assume it knows
 * their (zero) contents.
 */
        .section .bss.page_aligned, "aw", @nobits
        .balign 4096
        .globl  shared_info_window
shared_info_window:
        .skip   4096
