#include "frames.hpp"

#include "../lib/page_table.hpp"
#include "../lib/panic.hpp"
#include "../lib/physmap.hpp"
#include "../lib/string.hpp"

namespace frames {
namespace {

// Free frames form a list through their own first word (they are mapped
// read-write in the direct map while free).
constexpr uint64_t end_of_list = ~uint64_t{0};
uint64_t free_head = end_of_list;
uint64_t free_frames = 0;
uint64_t managed_frames = 0;
uint64_t limit_pfn = 0;

// Reference counts, and an mfn -> pfn map when our mfns are compact (as
// pvvmm's are): both live in frames carved off the free area at init. The
// M2P would do too, but reading it from ring 3 is emulated on this host
// (kvm-host.md); it remains the fallback for scattered mfns (real Xen).
uint16_t* reference_counts = nullptr;
uint32_t* pfn_by_mfn = nullptr;
uint64_t lowest_mfn = 0, mfn_span = 0;
constexpr uint64_t max_span_per_frame = 4;  // map at most 4 mfns per frame we own

uint64_t& next_of(uint64_t pfn) { return *static_cast<uint64_t*>(pointer(pfn)); }

}  // namespace

void init(uint64_t first_free, uint64_t limit) {
    limit_pfn = limit;
    uint64_t lowest = ~uint64_t{0}, highest = 0;
    for (uint64_t pfn = 0; pfn < limit; ++pfn) {
        uint64_t m = physmap::pfn_to_mfn(pfn);
        lowest = m < lowest ? m : lowest;
        highest = m > highest ? m : highest;
    }
    lowest_mfn = lowest;
    mfn_span = highest - lowest + 1;

    // Carve the tables from the start of the free area (contiguous there).
    const bool compact = mfn_span <= limit * max_span_per_frame;
    uint64_t count_bytes = limit * sizeof(uint16_t);
    uint64_t reverse_bytes = compact ? mfn_span * sizeof(uint32_t) : 0;
    uint64_t carved = (count_bytes + 4095) / 4096 + (reverse_bytes + 4095) / 4096;
    if (first_free + carved >= limit)
        panic("frames: no room for the frame tables (%lu frames)", carved);
    reference_counts = static_cast<uint16_t*>(pointer(first_free));
    memset(reference_counts, 0, count_bytes);
    if (compact) {
        pfn_by_mfn = reinterpret_cast<uint32_t*>(address(first_free) + (count_bytes + 4095) / 4096 * 4096);
        memset(pfn_by_mfn, 0xff, reverse_bytes);
        for (uint64_t pfn = 0; pfn < limit; ++pfn)
            pfn_by_mfn[physmap::pfn_to_mfn(pfn) - lowest_mfn] = static_cast<uint32_t>(pfn);
    }

    // Highest first, so allocation hands out ascending frames.
    for (uint64_t pfn = limit; pfn-- > first_free + carved;) {
        next_of(pfn) = free_head;
        free_head = pfn;
        ++free_frames;
    }
    managed_frames = free_frames;
}

uint64_t mfn(uint64_t pfn) { return physmap::pfn_to_mfn(pfn); }

uint64_t pfn_of_mfn(uint64_t m) {
    if (m < lowest_mfn || m - lowest_mfn >= mfn_span)
        return none;
    if (pfn_by_mfn == nullptr) {
        uint64_t pfn = physmap::mfn_to_pfn(m);
        return pfn < limit_pfn && physmap::pfn_to_mfn(pfn) == m ? pfn : none;
    }
    uint32_t pfn = pfn_by_mfn[m - lowest_mfn];
    return pfn == ~uint32_t{0} ? none : pfn;
}

uint64_t address(uint64_t pfn) { return physmap::pfn_to_virt(pfn); }

uint64_t allocate() {
    if (free_head == end_of_list)
        return none;
    uint64_t pfn = free_head;
    free_head = next_of(pfn);
    --free_frames;
    reference_counts[pfn] = 1;
    return pfn;
}

uint64_t allocate_zeroed() {
    uint64_t pfn = allocate();
    if (pfn != none)
        memset(pointer(pfn), 0, 4096);
    return pfn;
}

void get(uint64_t pfn) {
    if (reference_counts[pfn] == 0 || reference_counts[pfn] == 0xffff)
        panic("frames::get(%#lx) with %u references", pfn, reference_counts[pfn]);
    ++reference_counts[pfn];
}

void put(uint64_t pfn) {
    if (pfn >= limit_pfn || reference_counts[pfn] == 0)
        panic("frames::put(%#lx) of a free or foreign frame", pfn);
    if (--reference_counts[pfn] != 0)
        return;
    next_of(pfn) = free_head;
    free_head = pfn;
    ++free_frames;
}

unsigned references(uint64_t pfn) { return reference_counts[pfn]; }
uint64_t free_count() { return free_frames; }
uint64_t managed_count() { return managed_frames; }

}  // namespace frames
