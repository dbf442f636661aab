/*
 * Xen ELF notes (xen/elfnote.h): how a Xen domain builder loads this image.
 *
 * Addresses: the image is linked at VIRT_BASE (0xffffffff80000000, like
 * Linux's __START_KERNEL_map) and every PT_LOAD's p_paddr is the offset
 * from VIRT_BASE. libelf computes virt = p_paddr + VIRT_BASE - PADDR_OFFSET
 * (libelf-dominfo.c, elf_xen_addr_calc_check), so PADDR_OFFSET is 0, as in
 * Linux. The image starts at pseudo-physical frame 0.
 *
 * FEATURES is deliberately absent: we need nothing beyond the classic PV
 * ABI (no writable_page_tables, no auto_translated_physmap,
 * no supervisor_mode_kernel), and an absent note means exactly that.
 */
#include <xen/elfnote.h>

        .macro  xen_note_begin type
        .pushsection .note.Xen, "a", @note
        .balign 4
        .long   2f - 1f         /* namesz */
        .long   4f - 3f         /* descsz */
        .long   \type
1:      .asciz  "Xen"
2:      .balign 4
3:
        .endm

        .macro  xen_note_end
4:      .balign 4
        .popsection
        .endm

        .macro  xen_note_string type, text
        xen_note_begin \type
        .asciz  "\text"
        xen_note_end
        .endm

        .macro  xen_note_quad type, value
        xen_note_begin \type
        .quad   \value
        xen_note_end
        .endm

        xen_note_string XEN_ELFNOTE_GUEST_OS,      "pvvmm-test"
        xen_note_string XEN_ELFNOTE_GUEST_VERSION, PVVMM_GUEST_VERSION
        xen_note_string XEN_ELFNOTE_XEN_VERSION,   "xen-3.0"
        xen_note_string XEN_ELFNOTE_LOADER,        "generic"
        xen_note_string XEN_ELFNOTE_PAE_MODE,      "yes"
        xen_note_quad   XEN_ELFNOTE_VIRT_BASE,     __xen_virt_base
        xen_note_quad   XEN_ELFNOTE_PADDR_OFFSET,  0
        xen_note_quad   XEN_ELFNOTE_ENTRY,         _start
        xen_note_quad   XEN_ELFNOTE_HYPERCALL_PAGE, hypercall_page
