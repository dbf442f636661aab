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
// that address from the TLB of every vCPU in `vcpus` (a mask; this vCPU's
// flush is local, others' come with UVMF_MULTI); this vCPU's only when the
// mask names no other.
void set_current_mapping(uint64_t virtual_address, uint64_t entry, uint64_t vcpus = 0);

void pin(unsigned level, uint64_t pfn);
void unpin(uint64_t pfn);
// Kernel and user base pointers (user_l4_pfn == none: no user L4).
void switch_base(uint64_t l4_pfn, uint64_t user_l4_pfn);
void flush_tlb();
void invalidate_page(uint64_t virtual_address);
// The same on every vCPU of the mask (nothing for 0; local when it names
// only this vCPU, else MMUEXT_TLB_FLUSH_MULTI / INVLPG_MULTI, which return
// once every named vCPU has flushed).
void flush_tlb_on(uint64_t vcpus);
void invalidate_page_on(uint64_t vcpus, uint64_t virtual_address);

// Counters for the workloads' reports.
struct Counters {
    uint64_t entry_updates;  // page-table entries written via mmu_update
    uint64_t va_updates;     // update_va_mapping calls
    uint64_t pins, unpins, base_switches, flushes;
    uint64_t remote_flushes;  // flushes (of any kind) that named another vCPU
};
const Counters& counters();

}  // namespace mmu
