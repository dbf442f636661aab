// The machine-to-phys table: read-only at MACH2PHYS_VIRT_START in every
// 64-bit PV guest, and reported by XENMEM_machphys_mapping.
#include "../lib/hypercall.hpp"
#include "../lib/physmap.hpp"
#include "subtest.hpp"

Outcome test_m2p() {
    const start_info& info = *setup().info;
    const uint64_t console_mfn = info.console.domU.mfn;

    auto* fixed_m2p = reinterpret_cast<const volatile uint64_t*>(MACH2PHYS_VIRT_START);
    uint64_t console_pfn = fixed_m2p[console_mfn];
    REQUIRE(console_pfn < info.nr_pages, "M2P[console mfn %#lx] = %#lx, beyond nr_pages %lu", console_mfn, console_pfn,
            info.nr_pages);
    REQUIRE(physmap::pfn_to_mfn(console_pfn) == console_mfn, "p2m[%#lx] = %#lx, but M2P says console mfn %#lx",
            console_pfn, physmap::pfn_to_mfn(console_pfn), console_mfn);

    xen_machphys_mapping_t mapping{};
    long rc = hv::memory_op(XENMEM_machphys_mapping, &mapping);
    REQUIRE(rc == 0, "XENMEM_machphys_mapping returned %ld", rc);
    REQUIRE(mapping.v_start < mapping.v_end, "machphys mapping [%#lx, %#lx) is empty", mapping.v_start, mapping.v_end);
    REQUIRE(mapping.v_start >= HYPERVISOR_VIRT_START && mapping.v_end <= HYPERVISOR_VIRT_END,
            "machphys mapping [%#lx, %#lx) outside the hypervisor hole", mapping.v_start, mapping.v_end);
    REQUIRE(console_mfn <= mapping.max_mfn, "console mfn %#lx above max_mfn %#lx", console_mfn, mapping.max_mfn);
    uint64_t reported_entry = mapping.v_start + console_mfn * sizeof(uint64_t);
    REQUIRE(reported_entry + sizeof(uint64_t) <= mapping.v_end, "console mfn outside the reported M2P");
    uint64_t reported_pfn = *reinterpret_cast<const volatile uint64_t*>(reported_entry);
    REQUIRE(reported_pfn == console_pfn,
            "M2P via XENMEM_machphys_mapping (%#lx) says %#lx, "
            "M2P at MACH2PHYS_VIRT_START says %#lx",
            mapping.v_start, reported_pfn, console_pfn);

    // Every frame we own round-trips: M2P[p2m[pfn]] == pfn.
    for (uint64_t pfn = 0; pfn < info.nr_pages; ++pfn) {
        uint64_t mfn = physmap::pfn_to_mfn(pfn);
        REQUIRE(mfn <= mapping.max_mfn, "p2m[%#lx] = %#lx above max_mfn %#lx", pfn, mfn, mapping.max_mfn);
        uint64_t back = fixed_m2p[mfn];
        REQUIRE(back == pfn, "M2P[p2m[%#lx] = %#lx] = %#lx", pfn, mfn, back);
    }
    return passed();
}
