// The one list of Xen hypercalls, as Xen's hypercall-defs: adding a
// hypercall to pvvmm is moving its line from XEN to IMPL (and writing
// monitor/hypercall's hc_<name>). From this list come the monitor's
// dispatch table (handler hc_<name>, argument kinds for its trace log),
// the names in `pvvmm run --stats` and the statistics' keys.
//
//   IMPL(name, argument kinds...)  implemented: Xen's __HYPERVISOR_<name>
//   XEN(name)                      Xen has it, pvvmm answers -ENOSYS
//
// Freestanding (the monitor includes it); numbers come from Xen's public
// headers (libxen-dev), so a name cannot disagree with its number.
#pragma once

#include <stdint.h>
#include <xen/xen.h>

#include "guest-abi/counters.hpp"

#ifndef __HYPERVISOR_mca
#define __HYPERVISOR_mca __HYPERVISOR_arch_0  // xen/arch-x86/xen-mca.h
#endif

namespace abi {

// What a hypercall argument is, for logs (and argument-aware fuzzing).
enum class HypercallArg : uint8_t {
    Value,  // a number
    Cmd,    // a sub-operation
    Ptr,    // guest-virtual address of a structure or array
    Count,  // number of elements at a Ptr
    Domid,  // a domain id (DOMID_SELF)
    Va,     // a guest-virtual address to map or flush
    Pte,    // a page-table entry
    Flags,
    Vcpu,  // a vCPU id
};

#define PVVMM_HYPERCALLS(IMPL, XEN)          \
    IMPL(set_trap_table, Ptr)                \
    IMPL(mmu_update, Ptr, Count, Ptr, Domid) \
    IMPL(set_gdt, Ptr, Count)                \
    IMPL(stack_switch, Value, Value)         \
    IMPL(set_callbacks, Va, Va, Va)          \
    IMPL(fpu_taskswitch, Value)              \
    XEN(sched_op_compat)                     \
    XEN(platform_op)                         \
    XEN(set_debugreg)                        \
    XEN(get_debugreg)                        \
    IMPL(update_descriptor, Value, Value)    \
    IMPL(memory_op, Cmd, Ptr)                \
    IMPL(multicall, Ptr, Count)              \
    IMPL(update_va_mapping, Va, Pte, Flags)  \
    IMPL(set_timer_op, Value)                \
    XEN(event_channel_op_compat)             \
    IMPL(xen_version, Cmd, Ptr)              \
    IMPL(console_io, Cmd, Count, Ptr)        \
    XEN(physdev_op_compat)                   \
    XEN(grant_table_op)                      \
    IMPL(vm_assist, Cmd, Value)              \
    XEN(update_va_mapping_otherdomain)       \
    IMPL(iret, Flags)                        \
    IMPL(vcpu_op, Cmd, Vcpu, Ptr)            \
    IMPL(set_segment_base, Cmd, Value)       \
    IMPL(mmuext_op, Ptr, Count, Ptr, Domid)  \
    XEN(xsm_op)                              \
    XEN(nmi_op)                              \
    IMPL(sched_op, Cmd, Ptr)                 \
    IMPL(callback_op, Cmd, Ptr)              \
    XEN(xenoprof_op)                         \
    IMPL(event_channel_op, Cmd, Ptr)         \
    IMPL(physdev_op, Cmd, Ptr)               \
    XEN(hvm_op)                              \
    XEN(sysctl)                              \
    XEN(domctl)                              \
    XEN(kexec_op)                            \
    XEN(tmem_op)                             \
    XEN(argo_op)                             \
    XEN(xenpmu_op)                           \
    XEN(dm_op)                               \
    XEN(hypfs_op)                            \
    XEN(mca)

struct HypercallInfo {
    uint32_t number;
    const char* name;
    bool implemented;
    uint8_t nr_args;
    HypercallArg args[5];
};

namespace hypercall_list {

template <typename... Arg>
constexpr HypercallInfo impl(uint32_t number, const char* name, Arg... args) {
    return HypercallInfo{number, name, true, sizeof...(Arg), {args...}};
}
constexpr HypercallInfo xen(uint32_t number, const char* name) { return HypercallInfo{number, name, false, 0, {}}; }

#define PVVMM_HC_COUNT_IMPL(name, ...) +1
#define PVVMM_HC_COUNT_XEN(name) +1
inline constexpr unsigned kCount = 0 PVVMM_HYPERCALLS(PVVMM_HC_COUNT_IMPL, PVVMM_HC_COUNT_XEN);
#undef PVVMM_HC_COUNT_IMPL
#undef PVVMM_HC_COUNT_XEN

struct Table {
    HypercallInfo e[kCount];
};

constexpr Table make() {
    using enum HypercallArg;
#define PVVMM_HC_IMPL(name, ...) impl(__HYPERVISOR_##name, #name, __VA_ARGS__),
#define PVVMM_HC_XEN(name) xen(__HYPERVISOR_##name, #name),
    return Table{{PVVMM_HYPERCALLS(PVVMM_HC_IMPL, PVVMM_HC_XEN)}};
#undef PVVMM_HC_IMPL
#undef PVVMM_HC_XEN
}

}  // namespace hypercall_list

inline constexpr hypercall_list::Table kHypercalls = hypercall_list::make();

// nullptr: no Xen name (the reports then use the number).
constexpr const HypercallInfo* hypercall_info(uint32_t number) {
    for (const HypercallInfo& h : kHypercalls.e)
        if (h.number == number)
            return &h;
    return nullptr;
}
constexpr const char* hypercall_name(uint32_t number) {
    const HypercallInfo* h = hypercall_info(number);
    return h ? h->name : nullptr;
}

namespace hypercalls_check {

constexpr bool same(const char* a, const char* b) {
    while (*a && *a == *b)
        ++a, ++b;
    return *a == *b;
}

constexpr bool numbers_counted_and_unique() {
    for (const HypercallInfo& h : kHypercalls.e) {
        if (h.number >= kHypercallSlots)
            return false;
        for (const HypercallInfo& g : kHypercalls.e)
            if (&h != &g && (h.number == g.number || same(h.name, g.name)))
                return false;
    }
    return true;
}

}  // namespace hypercalls_check

static_assert(hypercalls_check::numbers_counted_and_unique(),
              "kHypercalls: numbers must be < kHypercallSlots, numbers and names unique");

}  // namespace abi
