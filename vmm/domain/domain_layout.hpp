// Where the domain builder puts things in the guest's virtual address space,
// in Xen's order: kernel image, initrd, p2m list, start_info, xenstore page,
// console page, initial page tables, boot stack; all mapped from virt_base
// (pfn 0, as Xen does, even when the kernel starts higher) to mapped_end (at
// least 512 KiB past the boot stack, 4 MiB aligned). A kernel with a
// non-zero MOD_START_PFN note gets its initrd unmapped instead, in the
// frames right after mapped_end, and its pfn in start_info (Xen's
// unmapped_initrd).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vmm/elf/guest_image.hpp"
#include "vmm/result.hpp"

namespace pvvmm::domain {

struct DomainConfig {
    uint64_t memory_bytes = 64ull << 20;
    std::string cmdline;
    std::span<const uint8_t> initrd;  // --initrd: start_info's module; empty: none
};

struct DomainLayout {
    uint64_t nr_pages = 0;
    uint64_t virt_base = 0;
    uint64_t virt_start = 0;  // kernel start (the mapping starts at virt_base)
    uint64_t kernel_end = 0;
    uint64_t module_pages = 0;  // the initrd, rounded up to pages (0: none)
    uint64_t module_va = 0;     // mapped initrd: its address; 0 when unmapped
    uint64_t module_pfn = 0;    // its first frame, mapped or not
    uint64_t p2m_va = 0;
    uint64_t p2m_pages = 0;
    uint64_t start_info_va = 0;
    uint64_t store_va = 0;
    uint64_t console_va = 0;
    uint64_t pt_va = 0;  // L4 first, then L3s, L2s, L1s
    uint64_t pt_frames = 0;
    uint64_t stack_va = 0;
    uint64_t mapped_end = 0;
    uint64_t entry = 0;
    uint64_t hypercall_page = 0;

    [[nodiscard]] uint64_t pfn_of(uint64_t va) const { return (va - virt_base) >> 12; }
};

// Pure planning: no memory touched, so it is unit-testable. Fails with
// BadInput when the image does not fit the configured memory.
[[nodiscard]] Result<DomainLayout> plan_domain(const elf::GuestImage& image, const DomainConfig& config);

// Page-table frames needed to map [start, end) with 4 KiB pages.
[[nodiscard]] uint64_t count_page_tables(uint64_t start, uint64_t end);

}  // namespace pvvmm::domain
