#include "vmm/domain/domain_layout.hpp"

#include "guest-abi/layout.hpp"

namespace pvvmm::domain {

namespace {
constexpr uint64_t kPage = 0x1000;
__extension__ typedef unsigned __int128 Wide;

Wide round_up_wide(Wide v, uint64_t a) { return (v + a - 1) & ~Wide{a - 1}; }

// One past the last byte of the canonical half that `va` lies in; the
// upper half's end is 2^64 - 4 MiB so that a 4 MiB-aligned end fits 64 bits.
Wide canonical_half_end(uint64_t va) { return (va >> 63) ? (Wide{1} << 64) - (4ull << 20) : Wide{0x0000800000000000}; }
constexpr uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
constexpr uint64_t round_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }

uint64_t tables_at(uint64_t start, uint64_t end, int shift) { return ((end - 1) >> shift) - (start >> shift) + 1; }
}  // namespace

uint64_t count_page_tables(uint64_t start, uint64_t end) {
    // One L4, plus one table per 512 GiB (L3), 1 GiB (L2) and 2 MiB (L1) touched.
    return 1 + tables_at(start, end, 39) + tables_at(start, end, 30) + tables_at(start, end, 21);
}

Result<DomainLayout> plan_domain(const elf::GuestImage& image, const DomainConfig& config) {
    DomainLayout l;
    l.nr_pages = config.memory_bytes >> layout::kPageShift;
    l.virt_base = image.virt_base;
    l.virt_start = round_down(image.virt_kstart, kPage);
    l.kernel_end = round_up(image.virt_kend, kPage);
    l.entry = image.virt_entry;
    l.hypercall_page = image.hypercall_page;

    uint64_t next = l.kernel_end;
    auto take = [&next](uint64_t pages) {
        uint64_t va = next;
        next += pages * kPage;
        return va;
    };
    l.module_pages = round_up(config.initrd.size(), kPage) / kPage;
    const bool module_unmapped = image.notes.mod_start_pfn.value_or(0) != 0;
    if (l.module_pages != 0 && !module_unmapped)
        l.module_va = take(l.module_pages);
    l.p2m_pages = round_up(l.nr_pages * 8, kPage) / kPage;
    l.p2m_va = take(l.p2m_pages);
    l.start_info_va = take(1);
    l.store_va = take(1);
    l.console_va = take(1);
    l.pt_va = next;

    // The tables must also map themselves and what follows them: iterate
    // until the count no longer changes (two or three rounds). Addresses are
    // computed in 128 bits: an untrusted image near the top of the address
    // space or of the lower half must be refused, not wrap around.
    if (l.virt_start < l.virt_base)
        return bad_input("guest image starts at {:#x}, below its VIRT_BASE {:#x}", l.virt_start, l.virt_base);
    const Wide limit = canonical_half_end(l.virt_start);
    uint64_t frames = 0;
    for (int round = 0;; ++round) {
        const Wide stack = Wide{l.pt_va} + Wide{frames} * kPage;
        const Wide end = round_up_wide(stack + kPage + (512ull << 10), 4ull << 20);
        if (l.kernel_end <= l.virt_start || l.pt_va < l.kernel_end || end > limit || round == 8)
            return bad_input(
                "guest image at {:#x}-{:#x} leaves no room below {:#x} for its p2m, start_info, page tables and "
                "boot stack",
                l.virt_start, l.kernel_end, static_cast<uint64_t>(limit - 1));
        // Xen maps from VIRT_BASE (pfn 0), not from the kernel's first page.
        const uint64_t need = count_page_tables(l.virt_base, static_cast<uint64_t>(end));
        if (need == frames) {
            l.stack_va = static_cast<uint64_t>(stack);
            l.mapped_end = static_cast<uint64_t>(end);
            break;
        }
        frames = need;
    }
    l.pt_frames = frames;

    uint64_t needed_pages = l.pfn_of(l.mapped_end);
    if (l.module_pages != 0) {
        l.module_pfn = module_unmapped ? needed_pages : l.pfn_of(l.module_va);
        if (module_unmapped)
            needed_pages += l.module_pages;
        if (needed_pages > l.nr_pages)
            return bad_input(
                "the initrd ({} KiB) does not fit: the kernel, initrd and boot structures need {} KiB but --memory "
                "gives {} KiB",
                config.initrd.size() / 1024, needed_pages * 4, l.nr_pages * 4);
    }
    if (needed_pages > l.nr_pages)
        return bad_input("guest needs {} KiB for its image and boot structures but --memory gives {} KiB",
                         needed_pages * 4, l.nr_pages * 4);
    return l;
}

}  // namespace pvvmm::domain
