// Pseudo-physical <-> machine <-> virtual translation for a PV guest.
//
// pfn -> mfn: the p2m list the domain builder left at start_info.mfn_list.
// mfn -> pfn: the read-only machine-to-phys table every 64-bit PV guest
// sees at MACH2PHYS_VIRT_START. pfn -> virtual: the initial mapping maps
// pseudo-physical frame n at VIRT_BASE + n * 4 KiB (the image starts at
// frame 0), which covers the image, p2m, start_info, xenstore and console
// pages, and the boot page tables.
#pragma once

#include "xen.hpp"

namespace physmap {

constexpr uint64_t page_size = 4096;
constexpr uint64_t invalid_frame = ~uint64_t{0};

void init(const start_info& info);

uint64_t virt_base();
uint64_t nr_pages();

// The start_info p2m entry, or invalid_frame when pfn >= nr_pages.
uint64_t pfn_to_mfn(uint64_t pfn);
// The M2P entry (no range check beyond the M2P's own size).
uint64_t mfn_to_pfn(uint64_t mfn);

// The address of a frame in the initial mapping.
uint64_t pfn_to_virt(uint64_t pfn);
uint64_t virt_to_pfn(uint64_t virtual_address);
uint64_t virt_to_mfn(uint64_t virtual_address);

inline uint64_t address_of(const volatile void* pointer) { return reinterpret_cast<uint64_t>(pointer); }

}  // namespace physmap
