// The PV MMU: validated direct paging. Every guest page-table entry is
// checked before it is installed (ownership, types, no writable mapping of
// a page-table frame, no guest entry in the monitor's L4 slots, _PAGE_USER
// forced because the guest kernel runs in ring 3). Errors are Xen's.
#pragma once

#include <stdint.h>

#include "monitor/mm/frame_table.hpp"

namespace monitor::mm {

// Take a type reference: validates the frame as `type` on the first one.
[[nodiscard]] int get_page_type(uint64_t mfn, FrameType type);
void put_page_type(uint64_t mfn);

// Update entry `index` of the page table in frame `table_mfn` (its level is
// the frame's current type). With `preserve_ad` the entry keeps the
// accessed and dirty bits it has (Xen's MMU_PT_UPDATE_PRESERVE_AD, which
// Linux uses for ptep_modify_prot_commit). A frame of no type is a plain
// page to Xen: the value is stored as given. 0 or a negative Xen errno.
[[nodiscard]] int update_entry(uint64_t table_mfn, unsigned index, uint64_t new_entry, bool preserve_ad = false);

// As update_entry, but only while the entry still holds `expected`, else
// kEntryChanged and nothing done (a CPU set its accessed/dirty bits since):
// for an emulated guest read-modify-write, which then reads it again.
inline constexpr int kEntryChanged = 1;
[[nodiscard]] int update_entry_if(uint64_t table_mfn, unsigned index, uint64_t expected, uint64_t new_entry);

// Machine frame of the L1 table that maps `va` under root `l4_mfn`, or 0.
[[nodiscard]] uint64_t find_l1(uint64_t l4_mfn, uint64_t va);

[[nodiscard]] bool guest_may_map(uint64_t mfn);

}  // namespace monitor::mm
