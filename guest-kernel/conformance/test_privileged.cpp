// Privileged instructions a PV guest kernel may execute although it runs in
// ring 3, which the hypervisor emulates: mov from %cr3 (the machine address
// of the current L4), rdmsr/wrmsr of the FS/GS bases (effective at once);
// and set_segment_base. An MSR Xen does not emulate gives #GP.
#include "../lib/fault_probe.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/physmap.hpp"
#include "fault_checks.hpp"
#include "subtest.hpp"

namespace {

constexpr uint32_t kMsrFsBase = 0xc0000100, kMsrGsBase = 0xc0000101, kMsrShadowGsBase = 0xc0000102;

uint64_t read_cr3() {
    uint64_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

void wrmsr(uint32_t msr, uint64_t v) {
    asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(v)), "d"(static_cast<uint32_t>(v >> 32)) : "memory");
}

// wrmsr that may fault; the fault handler resumes after it.
void wrmsr_probe(uint32_t msr, uint64_t v) {
    asm volatile("1: wrmsr\n2:\n\t" PROBE_FIXUP_ENTRY("1b", "2b")::"c"(msr), "a"(static_cast<uint32_t>(v)),
                 "d"(static_cast<uint32_t>(v >> 32))
                 : "memory");
}

uint64_t read_fs0() {
    uint64_t v;
    asm volatile("mov %%fs:0, %0" : "=r"(v));
    return v;
}

uint64_t read_gs0() {
    uint64_t v;
    asm volatile("mov %%gs:0, %0" : "=r"(v));
    return v;
}

volatile uint64_t fs_target = 0x1111222233334444;
volatile uint64_t gs_target = 0x5555666677778888;

}  // namespace

Outcome test_privileged() {
    const uint64_t l4_mfn = physmap::virt_to_mfn(setup().info->pt_base);
    REQUIRE(read_cr3() == l4_mfn << 12, "mov %%cr3 gave %#lx, expected the L4 machine address %#lx", read_cr3(),
            l4_mfn << 12);

    wrmsr(kMsrFsBase, physmap::address_of(&fs_target));
    REQUIRE(rdmsr(kMsrFsBase) == physmap::address_of(&fs_target), "rdmsr FS_BASE %#lx after wrmsr", rdmsr(kMsrFsBase));
    REQUIRE(read_fs0() == fs_target, "%%fs:0 reads %#lx, expected %#lx", read_fs0(), fs_target);

    wrmsr(kMsrGsBase, physmap::address_of(&gs_target));
    REQUIRE(rdmsr(kMsrGsBase) == physmap::address_of(&gs_target), "rdmsr GS_BASE %#lx after wrmsr", rdmsr(kMsrGsBase));
    REQUIRE(read_gs0() == gs_target, "%%gs:0 reads %#lx, expected %#lx", read_gs0(), gs_target);

    wrmsr(kMsrShadowGsBase, 0x123000);
    REQUIRE(rdmsr(kMsrShadowGsBase) == 0x123000, "rdmsr SHADOW_GS_BASE %#lx after wrmsr", rdmsr(kMsrShadowGsBase));

    // set_segment_base(SEGBASE_FS) is the hypercall way to the same thing.
    REQUIRE(hv::call<__HYPERVISOR_set_segment_base>(SEGBASE_FS, physmap::address_of(&gs_target)) == 0,
            "set_segment_base(SEGBASE_FS) failed");
    REQUIRE(read_fs0() == gs_target, "%%fs:0 reads %#lx after set_segment_base", read_fs0());

    wrmsr(kMsrFsBase, 0);
    wrmsr(kMsrGsBase, 0);
    wrmsr(kMsrShadowGsBase, 0);

    traps::Fault fault = traps::catch_fault(traps::general_protection, [] { wrmsr_probe(0x10, 0); });
    REQUIRE_KERNEL_FAULT(fault, traps::general_protection, "wrmsr of the TSC MSR");
    return passed();
}
