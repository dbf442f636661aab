// Refusals that leave nothing behind: pinning an L1 that maps a monitor
// frame, or an L2 holding a superpage entry, fails, and the frame is
// untyped afterwards (it can be mapped writable again); the L4 in use as
// the base pointer may be unpinned but stays typed; set_gdt refuses a call
// gate and a system descriptor.
#include "mmu_helpers.hpp"
#include "subtest.hpp"

extern "C" char tlb_decoy[], gdt_page[];

namespace {

// Writes `entry` at `index` of the page (all else zero), makes the page
// read-only and tries to pin it at `level`; then makes it writable again.
long pin_with_entry(unsigned level, unsigned index, uint64_t entry, long& remap_rc) {
    const uint64_t va = mmu::address(tlb_decoy), mfn = physmap::virt_to_mfn(va);
    auto* t = reinterpret_cast<volatile uint64_t*>(tlb_decoy);
    for (unsigned i = 0; i < 512; ++i)
        t[i] = 0;
    t[index] = entry;
    if (mmu::map_page(va, pt::entry(mfn, pt::kernel_ro)) != 0)
        return 1;
    const long rc = mmu::mmuext_mfn(MMUEXT_PIN_L1_TABLE + level - 1, mfn);
    if (rc == 0)
        mmu::mmuext_mfn(MMUEXT_UNPIN_TABLE, mfn);
    remap_rc = mmu::restore_window(tlb_decoy);  // fails if the refused pin left a type behind
    return rc;
}

long gdt_with(uint64_t descriptor) {
    auto* gdt = reinterpret_cast<uint64_t*>(gdt_page);
    const uint64_t va = mmu::address(gdt_page), mfn = physmap::virt_to_mfn(va);
    gdt[0] = 0;
    gdt[1] = descriptor;
    gdt[2] = 0;
    if (mmu::map_page(va, pt::entry(mfn, pt::kernel_ro)) != 0)
        return 1;
    unsigned long frames[1] = {mfn};
    const long rc = hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 3);
    if (rc == 0)
        hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 0);
    mmu::restore_window(gdt_page);
    return rc;
}

}  // namespace

Outcome test_refusals() {
    long remap = 0;
    long rc = pin_with_entry(1, 0, pt::entry(1, pt::kernel_ro | pt::user), remap);  // mfn 1: monitor memory
    REQUIRE(rc < 0, "pinned an L1 mapping a monitor frame (returned %ld)", rc);
    REQUIRE(remap == 0, "the refused L1 pin left the frame typed: remapping it writable returned %ld", remap);

    const uint64_t own = physmap::virt_to_mfn(mmu::address(scratch_page));
    rc = pin_with_entry(2, 0, pt::entry(own, pt::kernel_ro | pt::large_page), remap);
    REQUIRE(rc < 0, "pinned an L2 holding a superpage entry (returned %ld)", rc);
    REQUIRE(remap == 0, "the refused L2 pin left the frame typed: remapping it writable returned %ld", remap);

    rc = pin_with_entry(1, 3, pt::entry(own, pt::kernel_ro), remap);  // a valid L1 still pins afterwards
    REQUIRE(rc == 0 && remap == 0, "a valid L1 did not pin (%ld) or stayed typed (%ld)", rc, remap);

    // As in Xen, the L4 in use as the base pointer may be unpinned (Linux
    // does so in xen_setup_kernel_pagetable): the base pointer holds its own
    // type reference, so the table stays an L4 that cannot be mapped
    // writable, and it can be pinned again, once.
    const uint64_t l4_mfn = physmap::virt_to_mfn(setup().info->pt_base);
    rc = mmu::mmuext_mfn(MMUEXT_UNPIN_TABLE, l4_mfn);
    REQUIRE(rc == 0, "unpinning the L4 in use as the base pointer returned %ld", rc);
    const long writable = mmu::map_page(mmu::address(tlb_decoy), pt::entry(l4_mfn, pt::kernel_rw));
    mmu::restore_window(tlb_decoy);
    REQUIRE(writable < 0, "the unpinned base-pointer L4 could be mapped writable");
    rc = mmu::mmuext_mfn(MMUEXT_PIN_L4_TABLE, l4_mfn);
    REQUIRE(rc == 0, "pinning the base-pointer L4 again returned %ld", rc);
    rc = mmu::mmuext_mfn(MMUEXT_PIN_L4_TABLE, l4_mfn);
    REQUIRE(rc < 0, "the in-use L4 could be pinned twice (returned %ld)", rc);

    constexpr uint64_t kCallGateDpl3 = 0x0000ec0000000000;  // 64-bit call gate, DPL 3, present
    constexpr uint64_t kTssDpl3 = 0x0000e90000000067;       // available 64-bit TSS, DPL 3
    REQUIRE(gdt_with(kCallGateDpl3) < 0, "set_gdt accepted a call gate");
    REQUIRE(gdt_with(kTssDpl3) < 0, "set_gdt accepted a system (TSS) descriptor");
    REQUIRE(gdt_with(0x00affb000000ffff) == 0, "set_gdt refused a DPL-3 code descriptor");
    return passed();
}
