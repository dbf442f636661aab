// What a PV guest must not be able to do, and must survive trying:
//  - map a machine frame it does not own (Xen: -EPERM for I/O or
//    nonexistent frames, -EBUSY for frames owned by someone else);
//  - write its page tables directly (they are mapped read-only: #PF);
//  - map a page-table frame writable (Xen: -EBUSY, the frame cannot take
//    the writable type) -- read-only is allowed;
//  - install an L4 entry in the hypervisor's slots 256..271 (Xen: -EINVAL);
//  - write the M2P (read-only: #PF);
//  - call a hypercall that does not exist (-ENOSYS).
#include "../lib/fault_probe.hpp"
#include "fault_checks.hpp"
#include "mmu_helpers.hpp"
#include "subtest.hpp"

namespace {

constexpr unsigned first_hypervisor_l4_slot = 256;
constexpr unsigned last_hypervisor_l4_slot = 271;
constexpr unsigned unused_hypercall = 60;

// The M2P is mapped only as far as machine memory exists; a lookup for a
// frame beyond it faults, and such a frame is certainly not ours.
bool owned_frame(uint64_t mfn) {
    uint64_t pfn = physmap::invalid_frame;
    traps::Fault fault = traps::catch_fault(traps::page_fault, [&] {
        pfn = probe::read_u64(MACH2PHYS_VIRT_START + mfn * sizeof(uint64_t), physmap::invalid_frame);
    });
    if (fault.taken)
        return false;
    return pfn < physmap::nr_pages() && physmap::pfn_to_mfn(pfn) == mfn;
}

Outcome foreign_frames_refused() {
    const uint64_t window = mmu::address(window_a);
    const uint64_t shared_info_mfn = setup().info->shared_info >> 12;
    // Low memory (the hypervisor's or the I/O hole), a frame near 1 MiB,
    // and one far beyond any RAM.
    const uint64_t candidates[] = {1, 0x100, 0xfffff00};
    unsigned tried = 0;
    for (uint64_t mfn : candidates) {
        if (owned_frame(mfn) || mfn == shared_info_mfn)
            continue;
        ++tried;
        const uint64_t flag_sets[] = {pt::kernel_rw, pt::kernel_ro};
        for (uint64_t flags : flag_sets) {
            long rc = mmu::map_page(window, pt::entry(mfn, flags));
            if (rc == 0)
                mmu::restore_window(window_a);
            REQUIRE(rc < 0, "update_va_mapping of foreign mfn %#lx (%s) succeeded", mfn,
                    flags == pt::kernel_rw ? "rw" : "ro");
        }
    }
    REQUIRE(tried > 0, "every candidate foreign frame belongs to us");
    // A refused update leaves the old entry in place.
    pt::L1Slot slot{};
    const char* why = "";
    REQUIRE(pt::find_l1_slot(window, slot, &why), "walking the page tables: %s", why);
    REQUIRE(pt::mfn_of(*slot.entry) == physmap::virt_to_mfn(window),
            "window_a's L1 entry is %#lx after refused updates", *slot.entry);
    return passed();
}

Outcome page_tables_read_only(const pt::L1Slot& slot) {
    // Store the value already there: harmless if it wrongly succeeded.
    const uint64_t l4 = physmap::address_of(pt::top_level_table());
    traps::Fault fault = traps::catch_fault(traps::page_fault, [&] { probe::write_u64(l4, mmu::word(l4)); });
    REQUIRE_KERNEL_FAULT(fault, traps::page_fault, "write to the L4 page table");
    REQUIRE((fault.error_code & (traps::pf_present | traps::pf_write)) == (traps::pf_present | traps::pf_write),
            "#PF error code %#lx on the L4 write, expected present|write", fault.error_code);
    REQUIRE(fault.cr2 == l4, "cr2 %#lx, expected %#lx", fault.cr2, l4);

    const uint64_t l1_entry = physmap::address_of(slot.entry);
    fault = traps::catch_fault(traps::page_fault, [&] { probe::write_u64(l1_entry, *slot.entry); });
    REQUIRE_KERNEL_FAULT(fault, traps::page_fault, "write to an L1 page table");
    REQUIRE(fault.cr2 == l1_entry, "cr2 %#lx, expected %#lx", fault.cr2, l1_entry);
    return passed();
}

Outcome no_writable_page_table_mappings(const pt::L1Slot& slot) {
    const uint64_t window = mmu::address(window_a);
    const uint64_t frames[] = {pt::top_level_mfn(), slot.l1_mfn};
    for (uint64_t mfn : frames) {
        long rc = mmu::map_page(window, pt::entry(mfn, pt::kernel_rw));
        if (rc == 0)
            mmu::restore_window(window_a);
        REQUIRE(rc < 0, "writable mapping of page-table frame %#lx accepted", mfn);
        // Read-only mappings of page tables are legitimate.
        rc = mmu::map_page(window, pt::entry(mfn, pt::kernel_ro));
        REQUIRE(rc == 0, "read-only mapping of page-table frame %#lx returned %ld", mfn, rc);
        auto* original = reinterpret_cast<const volatile uint64_t*>(physmap::pfn_to_virt(physmap::mfn_to_pfn(mfn)));
        REQUIRE(mmu::word(window) == original[0], "read-only view of frame %#lx differs", mfn);
    }
    long rc = mmu::restore_window(window_a);
    REQUIRE(rc == 0, "restoring window_a returned %ld", rc);
    return passed();
}

Outcome hypervisor_l4_slots_refused() {
    const volatile uint64_t* l4 = pt::top_level_table();
    const uint64_t l4_machine = pt::top_level_mfn() << 12;
    const uint64_t m2p_pfn_before = physmap::mfn_to_pfn(setup().info->console.domU.mfn);
    // A valid entry (the L3 that maps our own image) so the slot number is
    // the only thing wrong; and clearing the M2P slot.
    const uint64_t valid_entry = l4[pt::index(physmap::virt_base(), 4)];
    struct Attempt {
        unsigned slot;
        uint64_t value;
    };
    const Attempt attempts[] = {
        {last_hypervisor_l4_slot, valid_entry},
        {first_hypervisor_l4_slot + 1, valid_entry},
        {first_hypervisor_l4_slot, 0},
    };
    for (const Attempt& attempt : attempts) {
        unsigned done = 0;
        long rc = mmu::write_pte(l4_machine + attempt.slot * sizeof(uint64_t), attempt.value, &done);
        REQUIRE(rc < 0, "mmu_update of L4 slot %u to %#lx accepted (rc %ld)", attempt.slot, attempt.value, rc);
        REQUIRE(done == 0, "mmu_update of L4 slot %u reports %u done", attempt.slot, done);
    }
    REQUIRE(physmap::mfn_to_pfn(setup().info->console.domU.mfn) == m2p_pfn_before, "M2P changed");
    return passed();
}

Outcome m2p_read_only() {
    const uint64_t entry = MACH2PHYS_VIRT_START + setup().info->console.domU.mfn * sizeof(uint64_t);
    traps::Fault fault = traps::catch_fault(traps::page_fault, [&] { probe::write_u64(entry, mmu::word(entry)); });
    REQUIRE_KERNEL_FAULT(fault, traps::page_fault, "write to the M2P");
    REQUIRE((fault.error_code & (traps::pf_present | traps::pf_write)) == (traps::pf_present | traps::pf_write),
            "#PF error code %#lx on the M2P write, expected present|write", fault.error_code);
    return passed();
}

}  // namespace

Outcome test_security() {
    pt::L1Slot slot{};
    const char* why = "";
    REQUIRE(pt::find_l1_slot(mmu::address(window_b), slot, &why), "walking the page tables: %s", why);

    // In order, stopping at the first failure.
    Outcome step = foreign_frames_refused();
    if (step.kind == Outcome::Kind::ok)
        step = page_tables_read_only(slot);
    if (step.kind == Outcome::Kind::ok)
        step = no_writable_page_table_mappings(slot);
    if (step.kind == Outcome::Kind::ok)
        step = hypervisor_l4_slots_refused();
    if (step.kind == Outcome::Kind::ok)
        step = m2p_read_only();
    if (step.kind != Outcome::Kind::ok)
        return step;

    long rc = hv::call<unused_hypercall>();
    REQUIRE(rc == -XEN_ENOSYS, "hypercall %u returned %ld, expected -ENOSYS (%d)", unused_hypercall, rc, -XEN_ENOSYS);
    return passed();
}
