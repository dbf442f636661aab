// MMUEXT_SET_LDT: an LDT page must be the guest's, mapped read-only, and
// hold only code/data descriptors (their DPL raised to 3, as Xen does) or
// not-present ones; it then changes only through
// update_descriptor. Where ring 3 honours guest selectors (real x86), an
// LDT selector loads while the LDT is set and faults once it is cleared.
#include "../lib/fault_probe.hpp"
#include "fault_checks.hpp"
#include "host_quirks.hpp"
#include "mmu_helpers.hpp"
#include "subtest.hpp"

extern "C" char tlb_victim[];

namespace {

constexpr uint64_t kFlatDataDpl3 = 0x00cff3000000ffff;
constexpr uint64_t kFlatDataDpl0 = 0x00cf93000000ffff;
constexpr uint64_t kTss = 0x0000890000000067;  // available 64-bit TSS: a system descriptor
constexpr uint16_t kLdtSelector0 = 0x7;        // index 0, TI (LDT), RPL 3

long set_ldt(uint64_t va, unsigned entries) { return mmu::mmuext_raw(MMUEXT_SET_LDT, va, entries); }

void load_fs(uint16_t selector) {
    asm volatile("1: mov %0, %%fs\n2:\n\t" PROBE_FIXUP_ENTRY("1b", "2b")::"r"(selector) : "memory");
}

}  // namespace

Outcome test_ldt() {
    const uint64_t va = mmu::address(tlb_victim), mfn = physmap::virt_to_mfn(va);
    auto* ldt = reinterpret_cast<volatile uint64_t*>(tlb_victim);
    for (unsigned i = 0; i < 512; ++i)
        ldt[i] = 0;
    ldt[0] = kFlatDataDpl3;
    REQUIRE(set_ldt(va, 1) < 0, "SET_LDT accepted a page that is mapped writable");
    REQUIRE(mmu::map_page(va, pt::entry(mfn, pt::kernel_ro)) == 0, "LDT page read-only");
    REQUIRE(set_ldt(va + 8, 1) < 0, "SET_LDT accepted a misaligned address");
    REQUIRE(set_ldt(va, 8193) < 0, "SET_LDT accepted 8193 entries");
    long rc = set_ldt(va, 2);
    REQUIRE(rc == 0, "SET_LDT of a valid LDT returned %ld", rc);

    const bool honours_selectors = !host_quirks::ring3_uses_host_selectors();
    if (honours_selectors) {
        traps::Fault f = traps::catch_fault(traps::general_protection, [] { load_fs(kLdtSelector0); });
        REQUIRE(!f.taken, "loading LDT selector %#x faulted (error %#lx)", kLdtSelector0, f.error_code);
    }
    rc = hv::call<__HYPERVISOR_update_descriptor>((mfn << 12) + 8, kFlatDataDpl0);
    REQUIRE(rc == 0 && ldt[1] == kFlatDataDpl3, "update_descriptor of a DPL-0 LDT entry returned %ld, wrote %#lx", rc,
            ldt[1]);
    rc = hv::call<__HYPERVISOR_update_descriptor>((mfn << 12) + 8, kTss);
    REQUIRE(rc < 0, "update_descriptor put a TSS descriptor into the LDT");
    load_fs(0);

    REQUIRE(set_ldt(0, 0) == 0, "clearing the LDT failed");
    if (honours_selectors) {
        traps::Fault f = traps::catch_fault(traps::general_protection, [] { load_fs(kLdtSelector0); });
        REQUIRE(f.taken, "an LDT selector still loaded after the LDT was cleared");
    }
    REQUIRE(mmu::restore_window(tlb_victim) == 0, "LDT page writable again");
    ldt[0] = kTss;
    REQUIRE(mmu::map_page(va, pt::entry(mfn, pt::kernel_ro)) == 0, "LDT page read-only");
    rc = set_ldt(va, 1);
    if (rc == 0)
        set_ldt(0, 0);
    REQUIRE(mmu::restore_window(tlb_victim) == 0, "LDT page writable again");
    REQUIRE(rc < 0, "SET_LDT accepted a TSS descriptor");
    ldt[0] = kFlatDataDpl0;  // accepted with its DPL raised to 3, in the guest's page (Xen)
    REQUIRE(mmu::map_page(va, pt::entry(mfn, pt::kernel_ro)) == 0, "LDT page read-only");
    rc = set_ldt(va, 1);
    const uint64_t fixed = ldt[0];
    if (rc == 0)
        set_ldt(0, 0);
    REQUIRE(mmu::restore_window(tlb_victim) == 0, "LDT page writable again");
    REQUIRE(rc == 0 && fixed == kFlatDataDpl3, "SET_LDT of a DPL-0 descriptor returned %ld, left %#lx", rc, fixed);
    return passed();
}
