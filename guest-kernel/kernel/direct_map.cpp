#include "direct_map.hpp"

#include "../lib/page_table.hpp"
#include "../lib/panic.hpp"
#include "../lib/physmap.hpp"
#include "../lib/string.hpp"
#include "mmu.hpp"

namespace direct_map {
namespace {

// The machine frame of the L1 behind each 2 MiB chunk of the direct map.
uint64_t chunk_l1_mfn[max_frames / 512];
uint64_t mapped_limit = 0;  // one past the last frame mapped

// A boot page table named by an entry, through the initial mapping (the M2P
// is fine here: a handful of reads at boot).
const volatile uint64_t* boot_table(uint64_t entry, uint64_t* pfn) {
    *pfn = physmap::mfn_to_pfn(pt::mfn_of(entry));
    return reinterpret_cast<const volatile uint64_t*>(physmap::pfn_to_virt(*pfn));
}

}  // namespace

Range extend(const start_info& info) {
    const uint64_t base = physmap::virt_base();
    Range range{};
    // Xen's layout: page tables, then one page of boot stack; the initial
    // mapping runs at least 512 KiB further (to a 4 MiB boundary).
    range.first_free = physmap::virt_to_pfn(info.pt_base) + info.nr_pt_frames + 1;
    range.limit = info.nr_pages < max_frames ? info.nr_pages : max_frames;

    uint64_t l3_pfn = 0, l2_pfn = 0;
    const volatile uint64_t* l4 = reinterpret_cast<const volatile uint64_t*>(info.pt_base);
    const volatile uint64_t* l3 = boot_table(l4[pt::index(base, 4)], &l3_pfn);
    const volatile uint64_t* l2 = boot_table(l3[pt::index(base, 3)], &l2_pfn);

    // Page tables for new chunks come from frames already mapped; each new
    // chunk maps 512 more, so the frontier always stays ahead.
    uint64_t next_table = range.first_free;
    mmu::UpdateBatch batch;
    for (uint64_t chunk = 0; chunk * 512 < range.limit; ++chunk) {
        const unsigned l2_index = pt::index(base, 2) + static_cast<unsigned>(chunk);
        const uint64_t first = chunk * 512;
        const uint64_t last = first + 512 < range.limit ? first + 512 : range.limit;
        if ((l2[l2_index] & pt::present) != 0) {
            // A boot L1: fill its empty entries (beyond the mapped end).
            uint64_t l1_pfn = 0;
            const volatile uint64_t* l1 = boot_table(l2[l2_index], &l1_pfn);
            chunk_l1_mfn[chunk] = pt::mfn_of(l2[l2_index]);
            for (uint64_t pfn = first; pfn < last; ++pfn)
                if ((l1[pfn - first] & pt::present) == 0)
                    batch.add(mmu::entry_address(l1_pfn, static_cast<unsigned>(pfn - first)),
                              pt::entry(physmap::pfn_to_mfn(pfn), pt::kernel_rw));
            batch.flush();
            continue;
        }
        // A new L1, written while it is still an ordinary writable page,
        // then made read-only and hooked into the L2 (validated there).
        const uint64_t l1_pfn = next_table++;
        if (l1_pfn >= first)
            panic("direct map: no mapped frame left for the L1 of chunk %lu", chunk);
        auto* l1 = reinterpret_cast<uint64_t*>(physmap::pfn_to_virt(l1_pfn));
        memset(l1, 0, 4096);
        for (uint64_t pfn = first; pfn < last; ++pfn)
            l1[pfn - first] = pt::entry(physmap::pfn_to_mfn(pfn), pt::kernel_rw);
        mmu::make_readonly(l1_pfn);
        chunk_l1_mfn[chunk] = physmap::pfn_to_mfn(l1_pfn);
        mmu::write_entry(mmu::entry_address(l2_pfn, l2_index), pt::entry(physmap::pfn_to_mfn(l1_pfn), pt::kernel_rw));
    }
    range.first_free = next_table;
    mapped_limit = range.limit;
    return range;
}

uint64_t entry_address(uint64_t pfn) { return (chunk_l1_mfn[pfn / 512] << 12) + (pfn % 512) * 8; }

bool allows(uint64_t address, bool write) {
    const uint64_t base = physmap::virt_base();
    if (address < base || (address - base) / 4096 >= mapped_limit)
        return false;
    const uint64_t pfn = (address - base) / 4096;
    // The L1s are direct-mapped themselves (read-only, as page tables).
    const uint64_t l1_pfn = physmap::mfn_to_pfn(chunk_l1_mfn[pfn / 512]);
    const uint64_t entry = reinterpret_cast<const volatile uint64_t*>(physmap::pfn_to_virt(l1_pfn))[pfn % 512];
    return (entry & pt::present) != 0 && (!write || (entry & pt::writable) != 0);
}

}  // namespace direct_map
