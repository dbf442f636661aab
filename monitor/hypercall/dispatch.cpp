#include <stdint.h>
#include <xen/xen.h>
#include "monitor/lib/xen_errno.hpp"

#include "monitor/hypercall/hypercall.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/audit.hpp"
#include "monitor/state.hpp"

namespace monitor {

namespace {

struct Entry {
    HypercallHandler handler;
    const char* name;
};

constexpr Entry make_table_entry(unsigned nr) {
    switch (nr) {
    case __HYPERVISOR_set_trap_table: return {hc_set_trap_table, "set_trap_table"};
    case __HYPERVISOR_mmu_update: return {hc_mmu_update, "mmu_update"};
    case __HYPERVISOR_set_gdt: return {hc_set_gdt, "set_gdt"};
    case __HYPERVISOR_update_descriptor: return {hc_update_descriptor, "update_descriptor"};
    case __HYPERVISOR_stack_switch: return {hc_stack_switch, "stack_switch"};
    case __HYPERVISOR_fpu_taskswitch: return {hc_fpu_taskswitch, "fpu_taskswitch"};
    case __HYPERVISOR_memory_op: return {hc_memory_op, "memory_op"};
    case __HYPERVISOR_update_va_mapping: return {hc_update_va_mapping, "update_va_mapping"};
    case __HYPERVISOR_xen_version: return {hc_xen_version, "xen_version"};
    case __HYPERVISOR_console_io: return {hc_console_io, "console_io"};
    case __HYPERVISOR_vm_assist: return {hc_vm_assist, "vm_assist"};
    case __HYPERVISOR_iret: return {hc_iret, "iret"};
    case __HYPERVISOR_set_segment_base: return {hc_set_segment_base, "set_segment_base"};
    case __HYPERVISOR_mmuext_op: return {hc_mmuext_op, "mmuext_op"};
    case __HYPERVISOR_sched_op: return {hc_sched_op, "sched_op"};
    case __HYPERVISOR_callback_op: return {hc_callback_op, "callback_op"};
    case __HYPERVISOR_event_channel_op: return {hc_event_channel_op, "event_channel_op"};
    case __HYPERVISOR_multicall: return {hc_multicall, "multicall"};
    default: return {nullptr, nullptr};
    }
}

struct Table {
    Entry e[abi::kHypercallSlots];
    constexpr Table() : e{} {
        for (unsigned i = 0; i < abi::kHypercallSlots; ++i)
            e[i] = make_table_entry(i);
    }
};
constexpr Table table;

}  // namespace

int64_t unknown_subop(const char* hypercall, uint64_t subop) {
    current().counters->subops_unknown++;
    log(LogLevel::Debug, "%s: unknown sub-op %lu -> -ENOSYS", hypercall, subop);
    return -ENOSYS;
}

namespace {

// Out of line, off the successful hypercall's path: refusal counts and
// the --audit check.
[[gnu::noinline]] void after_hypercall(uint64_t nr, int64_t rc) {
    if (rc < 0 && nr != __HYPERVISOR_iret)  // iret returns the guest's rax, not a status
        current().counters->hypercalls_refused[nr]++;
    mm::audit_if_due(false);
}

// Inlined into the register path: every ring-0 instruction counts there.
[[gnu::always_inline]] inline int64_t dispatch(GuestRegs& r, uint64_t nr, HypercallArgs args) {
    Vcpu& v = current();
    if (nr >= abi::kHypercallSlots || table.e[nr].handler == nullptr) {
        v.counters->hypercalls_unknown++;
        log(LogLevel::Debug, "unknown hypercall %lu -> -ENOSYS", nr);
        return -ENOSYS;
    }
    v.counters->hypercalls[nr]++;
    const int64_t rc = table.e[nr].handler(r, args);
    if (rc < 0 || domain().boot.audit_every) [[unlikely]]
        after_hypercall(nr, rc);
    return rc;
}

}  // namespace

int64_t dispatch_hypercall(GuestRegs& r, uint64_t nr, HypercallArgs args) { return dispatch(r, nr, args); }

void do_hypercall(GuestRegs& r) {
    const uint64_t nr = r.rax;
    const int64_t rc = dispatch(r, nr, HypercallArgs(r));
    if (nr != __HYPERVISOR_iret)  // iret restores the guest's rax itself
        r.rax = static_cast<uint64_t>(rc);
}

}  // namespace monitor
