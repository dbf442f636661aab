// CPUID through the forced-emulation prefix (`ud2; .ascii "xen"; cpuid`)
// shows Xen's hypervisor leaves: 0x40000000 = max leaf + "XenVMMXenVMM",
// 0x40000001 = the version that XENVER_version reports. Linux requires at
// least leaf 0x40000002 (hypercall page MSR) before it believes it is on Xen.
#include "../lib/hypercall.hpp"
#include "subtest.hpp"

namespace {

bool xen_signature(const cpu::CpuidResult& r) {
    return r.ebx == XEN_CPUID_SIGNATURE_EBX && r.ecx == XEN_CPUID_SIGNATURE_ECX && r.edx == XEN_CPUID_SIGNATURE_EDX;
}

}  // namespace

Outcome test_cpuid() {
    const cpu::CpuidResult& early = setup().hypervisor_leaf_before_traps;
    REQUIRE(xen_signature(early),
            "before set_trap_table: leaf %#x gave ebx %#x ecx %#x edx %#x, "
            "not \"XenVMMXenVMM\"",
            XEN_CPUID_FIRST_LEAF, early.ebx, early.ecx, early.edx);

    cpu::CpuidResult base = cpu::forced_emulation_cpuid(XEN_CPUID_FIRST_LEAF);
    REQUIRE(xen_signature(base), "leaf %#x gave ebx %#x ecx %#x edx %#x, not \"XenVMMXenVMM\"", XEN_CPUID_FIRST_LEAF,
            base.ebx, base.ecx, base.edx);
    REQUIRE(base.eax >= XEN_CPUID_LEAF(2) && base.eax < XEN_CPUID_FIRST_LEAF + 0x100,
            "max hypervisor leaf %#x, expected %#x..%#x", base.eax, XEN_CPUID_LEAF(2), XEN_CPUID_FIRST_LEAF + 0xff);
    REQUIRE(early.eax == base.eax, "max leaf changed from %#x to %#x", early.eax, base.eax);

    cpu::CpuidResult version = cpu::forced_emulation_cpuid(XEN_CPUID_LEAF(1));
    long xen_version = hv::xen_version(XENVER_version, nullptr);
    REQUIRE(static_cast<long>(version.eax) == xen_version, "leaf %#x eax %#x differs from XENVER_version %#lx",
            XEN_CPUID_LEAF(1), version.eax, xen_version);
    return passed();
}
