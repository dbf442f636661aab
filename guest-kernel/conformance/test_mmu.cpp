// Changing our own page tables the PV way: HYPERVISOR_update_va_mapping,
// HYPERVISOR_mmu_update on an L1 entry found by walking from pt_base, and
// the local TLB flushes of HYPERVISOR_mmuext_op.
#include "../lib/fault_probe.hpp"
#include "fault_checks.hpp"
#include "mmu_helpers.hpp"
#include "subtest.hpp"

namespace {

constexpr uint64_t pattern_scratch = 0x5ca7c4a11ed0001;
constexpr uint64_t pattern_via_window = 0x5ca7c4a11ed0002;
constexpr uint64_t pattern_window_b = 0x5ca7c4a11ed0003;

Outcome update_va_mapping_cycle(uint64_t spare_mfn) {
    const uint64_t scratch = mmu::address(scratch_page);
    const uint64_t window = mmu::address(window_a);

    long rc = mmu::map_page(window, pt::entry(spare_mfn, pt::kernel_rw));
    REQUIRE(rc == 0, "update_va_mapping(window, spare page, rw) returned %ld", rc);
    REQUIRE(mmu::word(window) == pattern_scratch, "window reads %#lx, the spare page holds %#lx", mmu::word(window),
            pattern_scratch);
    mmu::word(window) = pattern_via_window;
    REQUIRE(mmu::word(scratch) == pattern_via_window, "a write through the window did not reach the frame");

    // Read-only: reads work, a write is a protection #PF (present|write).
    rc = mmu::map_page(window, pt::entry(spare_mfn, pt::kernel_ro));
    REQUIRE(rc == 0, "update_va_mapping(window, spare page, ro) returned %ld", rc);
    REQUIRE(mmu::word(window) == pattern_via_window, "read-only window reads %#lx", mmu::word(window));
    traps::Fault fault = traps::catch_fault(traps::page_fault, [&] { probe::write_u64(window, ~pattern_via_window); });
    REQUIRE_KERNEL_FAULT(fault, traps::page_fault, "write to a read-only mapping");
    REQUIRE((fault.error_code & (traps::pf_present | traps::pf_write | traps::pf_user)) ==
                (traps::pf_present | traps::pf_write),
            "#PF error code %#lx, expected present|write without user", fault.error_code);
    REQUIRE(fault.cr2 == window, "cr2 %#lx, expected %#lx", fault.cr2, window);
    REQUIRE(mmu::word(scratch) == pattern_via_window, "the faulting write changed the frame");

    // Unmapped: a read is a not-present #PF.
    rc = mmu::map_page(window, 0);
    REQUIRE(rc == 0, "update_va_mapping(window, 0) returned %ld", rc);
    fault = traps::catch_fault(traps::page_fault, [&] { probe::read_u64(window); });
    REQUIRE_KERNEL_FAULT(fault, traps::page_fault, "read of an unmapped window");
    REQUIRE((fault.error_code & (traps::pf_present | traps::pf_write | traps::pf_user)) == 0,
            "#PF error code %#lx, expected a not-present read", fault.error_code);
    REQUIRE(fault.cr2 == window, "cr2 %#lx, expected %#lx", fault.cr2, window);

    rc = mmu::restore_window(window_a);
    REQUIRE(rc == 0, "restoring the window's own frame returned %ld", rc);
    return passed();
}

Outcome mmu_update_cycle(uint64_t spare_mfn) {
    const uint64_t window = mmu::address(window_b);
    mmu::word(window) = pattern_window_b;

    pt::L1Slot slot{};
    const char* why = "";
    REQUIRE(pt::find_l1_slot(window, slot, &why), "walking the page tables for %#lx: %s", window, why);
    const uint64_t original = *slot.entry;
    REQUIRE(pt::mfn_of(original) == physmap::virt_to_mfn(window),
            "L1 entry %#lx for %#lx does not name the window's frame %#lx", original, window,
            physmap::virt_to_mfn(window));

    unsigned done = 0;
    long rc = mmu::write_pte(slot.machine_address, pt::entry(spare_mfn, pt::kernel_rw), &done);
    REQUIRE(rc == 0 && done == 1, "mmu_update(L1 %#lx) returned %ld, %u done", slot.machine_address, rc, done);
    REQUIRE(pt::mfn_of(*slot.entry) == spare_mfn, "the L1 entry reads %#lx after mmu_update", *slot.entry);
    // mmu_update does not flush: drop any stale translation ourselves.
    rc = mmu::mmuext(MMUEXT_INVLPG_LOCAL, window);
    REQUIRE(rc == 0, "MMUEXT_INVLPG_LOCAL returned %ld", rc);
    REQUIRE(mmu::word(window) == pattern_via_window, "window_b reads %#lx, the spare page holds %#lx",
            mmu::word(window), pattern_via_window);

    rc = mmu::write_pte(slot.machine_address, original, &done);
    REQUIRE(rc == 0 && done == 1, "restoring the L1 entry returned %ld, %u done", rc, done);
    rc = mmu::mmuext(MMUEXT_TLB_FLUSH_LOCAL);
    REQUIRE(rc == 0, "MMUEXT_TLB_FLUSH_LOCAL returned %ld", rc);
    REQUIRE(mmu::word(window) == pattern_window_b, "window_b reads %#lx after restoring, expected %#lx",
            mmu::word(window), pattern_window_b);
    return passed();
}

}  // namespace

Outcome test_mmu() {
    const uint64_t spare_mfn = physmap::virt_to_mfn(mmu::address(scratch_page));
    mmu::word(mmu::address(scratch_page)) = pattern_scratch;

    Outcome outcome = update_va_mapping_cycle(spare_mfn);
    if (outcome.kind != Outcome::Kind::ok)
        return outcome;
    return mmu_update_cycle(spare_mfn);
}
