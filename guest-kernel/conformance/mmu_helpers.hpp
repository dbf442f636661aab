// Page-table operations the MMU and security subtests share.
#pragma once

#include "../lib/hypercall.hpp"
#include "../lib/page_table.hpp"
#include "../lib/physmap.hpp"

// conformance/mapping_windows.S
extern "C" char scratch_page[], window_a[], window_b[];

namespace mmu {

inline uint64_t address(const char* page) { return physmap::address_of(page); }

inline volatile uint64_t& word(uint64_t address) { return *reinterpret_cast<volatile uint64_t*>(address); }

inline long map_page(uint64_t virtual_address, uint64_t pte) {
    return hv::update_va_mapping(virtual_address, pte, UVMF_INVLPG | UVMF_LOCAL);
}

// Puts a window page's own frame back at its address.
inline long restore_window(const char* page) {
    uint64_t va = address(page);
    return map_page(va, pt::entry(physmap::virt_to_mfn(va), pt::kernel_rw));
}

// One MMU_NORMAL_PT_UPDATE; `done` receives the count Xen completed.
inline long write_pte(uint64_t pte_machine_address, uint64_t value, unsigned* done) {
    mmu_update_t request{};
    request.ptr = pte_machine_address | MMU_NORMAL_PT_UPDATE;
    request.val = value;
    return hv::mmu_update(&request, 1, done, DOMID_SELF);
}

// One mmuext_op. arg2 is written through its widest member, which covers
// nr_ents (SET_LDT), vcpumask (the MULTI flushes) and src_mfn (COPY_PAGE).
inline long mmuext_raw(unsigned command, uint64_t arg1, uint64_t arg2 = 0) {
    mmuext_op_t op{};
    op.cmd = command;
    op.arg1.mfn = arg1;  // arg1 is an mfn or a linear address: one 64-bit field
    op.arg2.src_mfn = arg2;
    unsigned done = 0;
    return hv::mmuext_op(&op, 1, &done, DOMID_SELF);
}

inline long mmuext(unsigned command, uint64_t linear_address = 0) { return mmuext_raw(command, linear_address); }
inline long mmuext_mfn(unsigned command, uint64_t mfn) { return mmuext_raw(command, mfn); }

}  // namespace mmu
