// The kernel's page-table hypercalls (Xen PV MMU). Guest page tables are
// read-only to the guest: every write goes through mmu_update (one entry,
// by machine address), update_va_mapping (the L1 entry of a virtual
// address in the current tables, with a flush) or mmuext_op (pin, unpin,
// base pointers, flushes). A refusal means a kernel bug or a monitor bug,
// so every failure panics with the hypercall's result.
#pragma once

#include <stdint.h>

#include "../lib/xen.hpp"

namespace mmu {

// Machine address of entry `index` of the page table in frame `pfn`.
uint64_t entry_address(uint64_t table_pfn, unsigned index);

// One immediate MMU_NORMAL_PT_UPDATE.
void write_entry(uint64_t entry_machine_address, uint64_t value);

// Queues MMU_NORMAL_PT_UPDATEs and issues them in one mmu_update.
class UpdateBatch {
public:
    void add(uint64_t entry_machine_address, uint64_t value);
    // Queues a change of the frame's direct-map entry (see make_readonly).
    void remap(uint64_t pfn, bool writable);
    void flush();
    ~UpdateBatch() { flush(); }

private:
    static constexpr unsigned capacity = 128;
    mmu_update_t requests_[capacity];
    unsigned count_ = 0;
};

// Remaps a frame's direct-map page read-only (before it becomes a page
// table: the monitor refuses tables that are mapped writable) or
// read-write again (after it stopped being one).
void make_readonly(uint64_t pfn);
void make_writable(uint64_t pfn);

// Sets the L1 entry of `virtual_address` in the current tables, flushing
// that address from this vCPU's TLB.
void set_current_mapping(uint64_t virtual_address, uint64_t entry);

void pin(unsigned level, uint64_t pfn);
void unpin(uint64_t pfn);
// Kernel and user base pointers (user_l4_pfn == none: no user L4).
void switch_base(uint64_t l4_pfn, uint64_t user_l4_pfn);
void flush_tlb();
void invalidate_page(uint64_t virtual_address);

// Counters for the workloads' reports.
struct Counters {
    uint64_t entry_updates;  // page-table entries written via mmu_update
    uint64_t va_updates;     // update_va_mapping calls
    uint64_t pins, unpins, base_switches, flushes;
};
const Counters& counters();

}  // namespace mmu
