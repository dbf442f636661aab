// Pseudo-physical frames: the allocator over the domain's p2m, the
// machine <-> pseudo-physical translation, and the kernel direct map.
//
// The direct map is the initial mapping extended: frame n lives at
// VIRT_BASE + n * 4 KiB for every frame the kernel manages (direct_map.cpp
// builds the missing part at boot). Free frames are mapped read-write; a
// frame in use as a page table is read-only there (Xen PV rule).
// User frames are reference counted because copy-on-write shares them.
#pragma once

#include <stdint.h>

#include "../lib/xen.hpp"

namespace frames {

constexpr uint64_t none = ~uint64_t{0};

// Call once, after the direct map covers [first_free, limit).
void init(uint64_t first_free, uint64_t limit);

uint64_t mfn(uint64_t pfn);
uint64_t pfn_of_mfn(uint64_t mfn);  // none if the frame is not ours
uint64_t address(uint64_t pfn);
inline void* pointer(uint64_t pfn) { return reinterpret_cast<void*>(address(pfn)); }

// A frame with reference count 1, or none when memory is exhausted.
uint64_t allocate();
uint64_t allocate_zeroed();
void get(uint64_t pfn);
// Drops a reference; the frame returns to the free list at zero.
void put(uint64_t pfn);
unsigned references(uint64_t pfn);

uint64_t free_count();
uint64_t managed_count();

}  // namespace frames
