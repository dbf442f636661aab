// The rest of mmuext_op and update_va_mapping's flush targets: COPY_PAGE,
// CLEAR_PAGE (refused on a page table), TLB_FLUSH_ALL / INVLPG_ALL, the
// MULTI forms with a vCPU bitmap, and UVMF_ALL / a UVMF_MULTI bitmap.
#include "mmu_helpers.hpp"
#include "subtest.hpp"

extern "C" char tlb_victim[], tlb_decoy[], tlb_window[];

namespace {

long mmuext_multi(unsigned command, uint64_t linear_address, const unsigned long* mask) {
    return mmu::mmuext_raw(command, linear_address, physmap::address_of(mask));
}

long copy_page(uint64_t dst_mfn, uint64_t src_mfn) { return mmu::mmuext_raw(MMUEXT_COPY_PAGE, dst_mfn, src_mfn); }

}  // namespace

Outcome test_mmuext() {
    auto* src = reinterpret_cast<volatile uint64_t*>(tlb_victim);
    auto* dst = reinterpret_cast<volatile uint64_t*>(tlb_decoy);
    const uint64_t src_mfn = physmap::virt_to_mfn(mmu::address(tlb_victim));
    const uint64_t dst_mfn = physmap::virt_to_mfn(mmu::address(tlb_decoy));
    for (unsigned i = 0; i < 512; ++i) {
        src[i] = 0xc0de0000 + i;
        dst[i] = 0;
    }
    REQUIRE(copy_page(dst_mfn, src_mfn) == 0, "COPY_PAGE failed");
    for (unsigned i = 0; i < 512; ++i)
        REQUIRE(dst[i] == 0xc0de0000 + i, "COPY_PAGE: word %u is %#lx", i, dst[i]);
    REQUIRE(mmu::mmuext_mfn(MMUEXT_CLEAR_PAGE, dst_mfn) == 0, "CLEAR_PAGE failed");
    for (unsigned i = 0; i < 512; ++i)
        REQUIRE(dst[i] == 0, "CLEAR_PAGE: word %u is %#lx", i, dst[i]);

    const uint64_t l4_mfn = physmap::virt_to_mfn(setup().info->pt_base);
    REQUIRE(mmu::mmuext_mfn(MMUEXT_CLEAR_PAGE, l4_mfn) < 0, "CLEAR_PAGE of the L4 in use was accepted");
    REQUIRE(copy_page(l4_mfn, src_mfn) < 0, "COPY_PAGE onto the L4 in use was accepted");

    REQUIRE(mmu::mmuext(MMUEXT_TLB_FLUSH_ALL) == 0, "TLB_FLUSH_ALL failed");
    REQUIRE(mmu::mmuext(MMUEXT_INVLPG_ALL, mmu::address(tlb_window)) == 0, "INVLPG_ALL failed");
    const unsigned long mask = 1;  // vCPU 0
    REQUIRE(mmuext_multi(MMUEXT_TLB_FLUSH_MULTI, 0, &mask) == 0, "TLB_FLUSH_MULTI failed");
    REQUIRE(mmuext_multi(MMUEXT_INVLPG_MULTI, mmu::address(tlb_window), &mask) == 0, "INVLPG_MULTI failed");
    REQUIRE(mmuext_multi(MMUEXT_TLB_FLUSH_MULTI, 0, reinterpret_cast<const unsigned long*>(8)) < 0,
            "TLB_FLUSH_MULTI with a wild bitmap pointer was accepted");

    const uint64_t window = mmu::address(tlb_window);
    const uint64_t pte = pt::entry(dst_mfn, pt::kernel_rw);
    REQUIRE(hv::update_va_mapping(window, pte, UVMF_INVLPG | UVMF_ALL) == 0, "UVMF_INVLPG|UVMF_ALL failed");
    REQUIRE(hv::update_va_mapping(window, pte, UVMF_TLB_FLUSH | physmap::address_of(&mask)) == 0,
            "UVMF_TLB_FLUSH with a UVMF_MULTI bitmap failed");
    dst[0] = 0x77;
    REQUIRE(mmu::word(window) == 0x77, "the window does not show the frame it maps");
    REQUIRE(mmu::restore_window(tlb_window) == 0, "restoring the window failed");
    return passed();
}
