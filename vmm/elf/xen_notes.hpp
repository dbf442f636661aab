// Decodes the "Xen" ELF notes (XEN_ELFNOTE_*, xen/include/public/elfnote.h)
// through which a PV kernel tells the domain builder how to load it.
//
// The legacy `__xen_guest` section string (pre-Xen-3.0.4 kernels) is not
// supported: every 64-bit PV kernel of interest carries ELF notes.
#pragma once

#include "vmm/elf/elf_file.hpp"

#include <stdint.h>
#include <xen/features.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pvvmm::elf {

// One mask/value pair of XEN_ELFNOTE_L1_MFN_VALID: a non-present L1 entry
// e carries a valid MFN when (e & mask) == value.
struct L1MfnValid {
    uint64_t mask;
    uint64_t value;
};

// What the notes say; each field is absent/empty when its note is. When a
// note repeats, the last one wins, as in Xen.
struct XenNotes {
    size_t count = 0;  // notes named "Xen", including ones of unknown type

    // Numeric notes (the descriptor is a 1, 2, 4 or 8-byte little-endian
    // integer, as Xen's elf_note_numeric accepts).
    std::optional<uint64_t> entry;           // ENTRY: virtual entry point
    std::optional<uint64_t> hypercall_page;  // HYPERCALL_PAGE: virtual address
    std::optional<uint64_t> virt_base;       // VIRT_BASE
    std::optional<uint64_t> paddr_offset;    // PADDR_OFFSET
    std::optional<uint64_t> hv_start_low;    // HV_START_LOW (32-bit guests only)
    std::optional<uint64_t> init_p2m;        // INIT_P2M: virtual address for the p2m
    std::optional<uint64_t> mod_start_pfn;   // MOD_START_PFN: non-zero = copes with unmapped initrd
    std::optional<uint64_t> phys32_entry;    // PHYS32_ENTRY (PVH only)
    bool suspend_cancel = false;             // SUSPEND_CANCEL != 0

    // String notes (NUL-terminated inside the descriptor).
    std::string xen_version;    // XEN_VERSION, e.g. "xen-3.0"
    std::string guest_os;       // GUEST_OS, e.g. "linux"
    std::string guest_version;  // GUEST_VERSION
    std::string loader;         // LOADER, e.g. "generic"
    std::string pae_mode;       // PAE_MODE (32-bit guests only)
    std::string features;       // FEATURES, e.g. "!writable_page_tables|pae_pgdir_above_4gb"
    bool bsd_symtab = false;    // BSD_SYMTAB == "yes": wants its symbol table loaded

    // SUPPORTED_FEATURES: XENFEAT_* bitmap words (zero when absent).
    std::array<uint32_t, XENFEAT_NR_SUBMAPS> supported_features{};
    // L1_MFN_VALID: 8-byte mask/value pairs.
    std::vector<L1MfnValid> l1_mfn_valid;

    // Types of "Xen" notes this parser does not know; ignored, as Xen does
    // (the caller may log them).
    std::vector<uint32_t> unknown_types;
};

// Xen's elf_strval refuses longer strings; so do we.
inline constexpr size_t kMaxNoteStringLength = 4096;

// Decodes every note named "Xen" in `elf`; a known note with a malformed
// descriptor is a BadInput error.
Result<XenNotes> parse_xen_notes(const ElfFile& elf);

}  // namespace pvvmm::elf
