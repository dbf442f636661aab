// A PV kernel image checked and laid out by the rules of Xen's domain
// builder (libelf's elf_xen_parse / elf_xen_addr_calc_check), ready for the
// host to copy its segments into guest memory.
#pragma once

#include "vmm/elf/elf_file.hpp"
#include "vmm/elf/xen_notes.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pvvmm::elf {

struct GuestImage {
    ElfFile elf;  // views into the bytes given to load_guest_image
    XenNotes notes;
    uint64_t virt_base;     // VIRT_BASE, default 0: where the initial mapping starts
    uint64_t paddr_offset;  // PADDR_OFFSET, default 0
    // Added to a segment's paddr to get its virtual address:
    // virt_base - paddr_offset (modulo 2^64, as in Xen).
    uint64_t virt_offset;
    uint64_t virt_kstart;     // lowest PT_LOAD paddr + virt_offset (page aligned)
    uint64_t virt_kend;       // highest PT_LOAD paddr end + virt_offset (exclusive)
    uint64_t virt_entry;      // ENTRY note, else e_entry; inside [kstart, kend)
    uint64_t hypercall_page;  // HYPERCALL_PAGE note (page aligned, in the image), 0 if absent
    // FEATURES split into "!name" (required) and "name" entries; names are
    // not validated here (see xen_feature_bit).
    std::vector<std::string> required_features;
    std::vector<std::string> optional_features;
};

// Parses and checks a 64-bit PV kernel. `bytes` must outlive the result.
Result<GuestImage> load_guest_image(std::span<const uint8_t> bytes);

// One line for logs: guest identity, virtual layout, entry, features.
std::string describe(const GuestImage& image);

}  // namespace pvvmm::elf
