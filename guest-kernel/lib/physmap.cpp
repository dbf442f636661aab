#include "physmap.hpp"

// First byte of the image == VIRT_BASE (linker script).
extern "C" char __image_start[];

namespace physmap {
namespace {

const volatile uint64_t* p2m = nullptr;
uint64_t page_count = 0;

const volatile uint64_t* machine_to_phys() { return reinterpret_cast<const volatile uint64_t*>(MACH2PHYS_VIRT_START); }

}  // namespace

void init(const start_info& info) {
    p2m = reinterpret_cast<const volatile uint64_t*>(info.mfn_list);
    page_count = info.nr_pages;
}

uint64_t virt_base() { return address_of(__image_start); }
uint64_t nr_pages() { return page_count; }

uint64_t pfn_to_mfn(uint64_t pfn) { return pfn < page_count ? p2m[pfn] : invalid_frame; }

uint64_t mfn_to_pfn(uint64_t mfn) {
    if (mfn >= MACH2PHYS_NR_ENTRIES)
        return invalid_frame;
    return machine_to_phys()[mfn];
}

uint64_t pfn_to_virt(uint64_t pfn) { return virt_base() + pfn * page_size; }
uint64_t virt_to_pfn(uint64_t virtual_address) { return (virtual_address - virt_base()) / page_size; }
uint64_t virt_to_mfn(uint64_t virtual_address) { return pfn_to_mfn(virt_to_pfn(virtual_address)); }

}  // namespace physmap
