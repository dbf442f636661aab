// Xen hypercall names by number, for the host's reports (`pvvmm run
// --stats`). Each row is built from Xen's own __HYPERVISOR_<name>, so a name
// cannot disagree with its number. Numbers without a row have no Xen name
// on x86-64. Host only: it needs Xen's public headers.
#pragma once

#include <stdint.h>
#include <xen/xen.h>

#include "guest-abi/counters.hpp"

namespace abi {

struct HypercallName {
    uint32_t number;
    const char* name;
};

#define PVVMM_XEN_HYPERCALL(name) \
    HypercallName { __HYPERVISOR_##name, #name }

inline constexpr HypercallName kHypercallNames[] = {
    PVVMM_XEN_HYPERCALL(set_trap_table),
    PVVMM_XEN_HYPERCALL(mmu_update),
    PVVMM_XEN_HYPERCALL(set_gdt),
    PVVMM_XEN_HYPERCALL(stack_switch),
    PVVMM_XEN_HYPERCALL(set_callbacks),
    PVVMM_XEN_HYPERCALL(fpu_taskswitch),
    PVVMM_XEN_HYPERCALL(sched_op_compat),
    PVVMM_XEN_HYPERCALL(platform_op),
    PVVMM_XEN_HYPERCALL(set_debugreg),
    PVVMM_XEN_HYPERCALL(get_debugreg),
    PVVMM_XEN_HYPERCALL(update_descriptor),
    PVVMM_XEN_HYPERCALL(memory_op),
    PVVMM_XEN_HYPERCALL(multicall),
    PVVMM_XEN_HYPERCALL(update_va_mapping),
    PVVMM_XEN_HYPERCALL(set_timer_op),
    PVVMM_XEN_HYPERCALL(event_channel_op_compat),
    PVVMM_XEN_HYPERCALL(xen_version),
    PVVMM_XEN_HYPERCALL(console_io),
    PVVMM_XEN_HYPERCALL(physdev_op_compat),
    PVVMM_XEN_HYPERCALL(grant_table_op),
    PVVMM_XEN_HYPERCALL(vm_assist),
    PVVMM_XEN_HYPERCALL(update_va_mapping_otherdomain),
    PVVMM_XEN_HYPERCALL(iret),
    PVVMM_XEN_HYPERCALL(vcpu_op),
    PVVMM_XEN_HYPERCALL(set_segment_base),
    PVVMM_XEN_HYPERCALL(mmuext_op),
    PVVMM_XEN_HYPERCALL(xsm_op),
    PVVMM_XEN_HYPERCALL(nmi_op),
    PVVMM_XEN_HYPERCALL(sched_op),
    PVVMM_XEN_HYPERCALL(callback_op),
    PVVMM_XEN_HYPERCALL(xenoprof_op),
    PVVMM_XEN_HYPERCALL(event_channel_op),
    PVVMM_XEN_HYPERCALL(physdev_op),
    PVVMM_XEN_HYPERCALL(hvm_op),
    PVVMM_XEN_HYPERCALL(sysctl),
    PVVMM_XEN_HYPERCALL(domctl),
    PVVMM_XEN_HYPERCALL(kexec_op),
    PVVMM_XEN_HYPERCALL(tmem_op),
    PVVMM_XEN_HYPERCALL(argo_op),
    PVVMM_XEN_HYPERCALL(xenpmu_op),
    PVVMM_XEN_HYPERCALL(dm_op),
    PVVMM_XEN_HYPERCALL(hypfs_op),
    HypercallName{__HYPERVISOR_arch_0, "mca"},  // x86's arch_0 (xen/arch-x86/xen-mca.h)
};

#undef PVVMM_XEN_HYPERCALL

// nullptr: no Xen name (the reports then use the number).
constexpr const char* hypercall_name(uint32_t number) {
    for (const HypercallName& h : kHypercallNames)
        if (h.number == number)
            return h.name;
    return nullptr;
}

namespace hypercall_names_check {

constexpr bool numbers_counted_and_unique() {
    for (const HypercallName& h : kHypercallNames) {
        if (h.number >= kHypercallSlots)
            return false;
        for (const HypercallName& g : kHypercallNames)
            if (&h != &g && (h.number == g.number || counter_table_check::same(h.name, g.name)))
                return false;
    }
    return true;
}

}  // namespace hypercall_names_check

static_assert(hypercall_names_check::numbers_counted_and_unique(),
              "kHypercallNames: numbers must be < kHypercallSlots, numbers and names unique");

}  // namespace abi
