// A frame becoming a page table must not stay writable through a stale TLB
// entry: map it writable at a window, touch it, move the window elsewhere
// without a flush, pin the frame as an L1, then write through the window.
// The write must land in the window's new frame, never in the page table
// (Xen flushes on the type change; see its TLB-flush clock). The stale
// entry is observable on real x86 KVM (scripts/nested), not on kvm_pvm.
#include "mmu_helpers.hpp"
#include "subtest.hpp"

extern "C" char tlb_victim[], tlb_decoy[], tlb_window[];

namespace {
constexpr uint64_t kMarker = 0x7e57ab1e5ca1ab1e;
constexpr uint64_t kNoFlush = 0;
}  // namespace

Outcome test_stale_tlb() {
    const uint64_t victim = mmu::address(tlb_victim), decoy = mmu::address(tlb_decoy);
    const uint64_t window = mmu::address(tlb_window);
    const uint64_t victim_mfn = physmap::virt_to_mfn(victim), decoy_mfn = physmap::virt_to_mfn(decoy);

    // The victim's only writable mapping: the window (its own address read-only).
    REQUIRE(mmu::map_page(victim, pt::entry(victim_mfn, pt::kernel_ro)) == 0, "victim read-only failed");
    REQUIRE(mmu::map_page(window, pt::entry(victim_mfn, pt::kernel_rw)) == 0, "window -> victim failed");
    mmu::word(window) = 0;  // a writable translation is now in the TLB
    REQUIRE(hv::update_va_mapping(window, pt::entry(decoy_mfn, pt::kernel_rw), kNoFlush) == 0,
            "window -> decoy failed");

    const long pin = mmu::mmuext_mfn(MMUEXT_PIN_L1_TABLE, victim_mfn);
    REQUIRE(pin == 0, "pinning the victim as an L1 returned %ld", pin);
    mmu::word(window) = kMarker;
    const uint64_t in_table = mmu::word(victim), in_decoy = mmu::word(decoy);

    REQUIRE(mmu::mmuext_mfn(MMUEXT_UNPIN_TABLE, victim_mfn) == 0, "unpinning the victim failed");
    REQUIRE(mmu::restore_window(tlb_window) == 0 && mmu::restore_window(tlb_victim) == 0, "restoring failed");
    REQUIRE(in_table == 0, "a stale writable TLB entry wrote %#lx into a pinned page table", in_table);
    REQUIRE(in_decoy == kMarker, "the write through the window went nowhere (decoy holds %#lx)", in_decoy);
    return passed();
}
