/*
 * Pages of the image the MMU tests remap. They lie inside the boot mapping,
 * so their L1 entries exist. Defined in assembly so the compiler cannot
 * assume what they contain.
 *   scratch_page  the spare frame the tests map elsewhere
 *   window_a      remapped with HYPERVISOR_update_va_mapping
 *   window_b      remapped with HYPERVISOR_mmu_update on its L1 entry
 */
        .section .bss.page_aligned, "aw", @nobits
        .balign 4096
        .globl  scratch_page, window_a, window_b
scratch_page:
        .skip   4096
window_a:
        .skip   4096
window_b:
        .skip   4096

/*
 * Pages of the stale-TLB subtest: a frame that becomes a page table while
 * a TLB may still hold a writable mapping of it, the decoy frame that
 * mapping should point at afterwards, and the window that maps both.
 */
        .section .bss.page_aligned, "aw", @nobits
        .balign 4096
        .globl  tlb_victim, tlb_decoy, tlb_window
tlb_victim:
        .skip   4096
tlb_decoy:
        .skip   4096
tlb_window:
        .skip   4096

/*
 * Pages of the TLB-refresh subtest: one window per check (8 ways to flush,
 * 2 entry kinds), each touched by that check only, and the two frames the
 * windows are switched between. refresh_target is the window user mode
 * reads.
 */
        .section .bss.page_aligned, "aw", @nobits
        .balign 4096
        .globl  refresh_windows, refresh_old, refresh_new
refresh_windows:
        .skip   4096 * 16
refresh_old:
        .skip   4096
refresh_new:
        .skip   4096

/*
 * Pages of the user-mode / base-pointer subtest: the kernel stack named by
 * stack_switch, a user stack, a new L4 and a GDT page.
 */
        .section .bss.page_aligned, "aw", @nobits
        .balign 4096
        .globl  switch_stack, user_stack, new_l4, gdt_page
switch_stack:
        .skip   4096
user_stack:
        .skip   4096
new_l4:
        .skip   4096
gdt_page:
        .skip   4096
