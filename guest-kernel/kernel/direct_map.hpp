// Boot: extends the initial mapping (frame n at VIRT_BASE + n * 4 KiB) to
// every frame the kernel manages, so any frame it allocates is reachable.
#pragma once

#include <stdint.h>

#include "../lib/xen.hpp"

namespace direct_map {

struct Range {
    uint64_t first_free;  // first frame after the boot page tables and stack
    uint64_t limit;       // one past the last mapped frame
};

// The boot L2 covering VIRT_BASE spans 1 GiB; memory beyond stays unused.
constexpr uint64_t max_frames = 1ull << 18;

Range extend(const start_info& info);

// Machine address of the L1 entry that maps frame `pfn` in the direct map,
// so remapping many frames read-only or read-write is one mmu_update.
uint64_t entry_address(uint64_t pfn);

// Whether `address` lies in the direct map and its entry now allows the
// access (present; writable for a write).
bool allows(uint64_t address, bool write);

}  // namespace direct_map
