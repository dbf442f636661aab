#include "page_table.hpp"

#include "physmap.hpp"
#include "runtime.hpp"

namespace pt {
namespace {

// The boot page tables occupy [pt_base, pt_base + nr_pt_frames pages).
bool is_boot_page_table(uint64_t virtual_address) {
    const start_info& info = runtime::boot_info();
    return virtual_address >= info.pt_base && virtual_address < info.pt_base + info.nr_pt_frames * physmap::page_size;
}

}  // namespace

const volatile uint64_t* top_level_table() {
    return reinterpret_cast<const volatile uint64_t*>(runtime::boot_info().pt_base);
}

uint64_t top_level_mfn() { return physmap::virt_to_mfn(runtime::boot_info().pt_base); }

bool find_l1_slot(uint64_t virtual_address, L1Slot& slot, const char** failure) {
    const volatile uint64_t* table = top_level_table();
    uint64_t table_mfn = top_level_mfn();
    for (unsigned level = 4; level >= 1; --level) {
        if (level == 1) {
            unsigned i = index(virtual_address, 1);
            slot.l1_mfn = table_mfn;
            slot.machine_address = (table_mfn << 12) + i * sizeof(uint64_t);
            slot.entry = &table[i];
            return true;
        }
        uint64_t e = table[index(virtual_address, level)];
        if ((e & present) == 0) {
            *failure = "page-table entry not present";
            return false;
        }
        if (level < 4 && (e & large_page) != 0) {
            *failure = "superpage in the initial mapping";
            return false;
        }
        table_mfn = mfn_of(e);
        uint64_t pfn = physmap::mfn_to_pfn(table_mfn);
        if (pfn >= physmap::nr_pages() || physmap::pfn_to_mfn(pfn) != table_mfn) {
            *failure = "M2P and p2m disagree about a page-table frame";
            return false;
        }
        uint64_t next = physmap::pfn_to_virt(pfn);
        if (!is_boot_page_table(next)) {
            *failure = "page table outside the boot page-table frames";
            return false;
        }
        table = reinterpret_cast<const volatile uint64_t*>(next);
    }
    return false;  // not reached: level 1 returns
}

}  // namespace pt
