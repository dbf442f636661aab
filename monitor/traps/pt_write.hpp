// Xen's writable page tables (VMASST_TYPE_writable_pagetables, ptwr): a
// guest write to a page-table frame through its read-only mapping faults,
// and the monitor performs the write as a validated mmu_update would.
// Linux relies on it: ptep_get_and_clear is a plain xchg, clear_bit on a
// PTE a locked and, ptep_test_and_clear_young a locked btr.
#pragma once

#include "monitor/arch/x86_64/regs.hpp"

namespace monitor {

// A write fault at `cr2` (present page, no reserved bit, not a fetch):
// true if it was a write to an L1 page table that the monitor performed
// (registers, flags and rip updated). False leaves the fault to the guest:
// the assist is off, the target is no L1 table, the instruction is not one
// that writes page-table entries, or the new entry is refused.
bool emulate_page_table_write(GuestRegs& regs, uint64_t cr2);

}  // namespace monitor
