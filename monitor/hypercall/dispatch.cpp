#include <stdint.h>
#include <xen/xen.h>
#include "monitor/lib/xen_errno.hpp"

#include "guest-abi/hypercalls.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/audit.hpp"
#include "monitor/smp/domain_lock.hpp"
#include "monitor/state.hpp"

namespace monitor {

namespace {

using Handler = HypercallHandler;

// From the one list (guest-abi/hypercalls.hpp): hc_<name> for every IMPL.
// (clang-format 14 would join the next #define into the first macro.)
// clang-format off
#define PVVMM_HC_CASE(name, ...) case __HYPERVISOR_##name: return hc_##name;
#define PVVMM_HC_NONE(name)
// clang-format on
constexpr Handler handler_for(unsigned nr) {
    switch (nr) {
        PVVMM_HYPERCALLS(PVVMM_HC_CASE, PVVMM_HC_NONE)
    default: return nullptr;
    }
}
#undef PVVMM_HC_CASE
#undef PVVMM_HC_NONE

// Hypercalls that touch only the calling vCPU's state (or sleep: sched_op,
// and multicall, whose entries lock one by one) run without the domain
// lock (monitor/smp/domain_lock.hpp); every other one holds it.
constexpr bool vcpu_local(unsigned nr) {
    switch (nr) {
    case __HYPERVISOR_iret:
    case __HYPERVISOR_sched_op:
    case __HYPERVISOR_set_timer_op:
    case __HYPERVISOR_stack_switch:
    case __HYPERVISOR_set_segment_base:
    case __HYPERVISOR_fpu_taskswitch:
    case __HYPERVISOR_multicall:
    case __HYPERVISOR_xen_version: return true;
    default: return false;
    }
}

struct Table {
    Handler e[abi::kHypercallSlots];
    bool locked[abi::kHypercallSlots];
    constexpr Table() : e{}, locked{} {
        for (unsigned i = 0; i < abi::kHypercallSlots; ++i) {
            e[i] = handler_for(i);
            locked[i] = !vcpu_local(i);
        }
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
[[gnu::noinline]] void after_hypercall(uint64_t nr, HypercallArgs args, int64_t rc) {
    if (rc < 0 && nr != __HYPERVISOR_iret) {  // iret returns the guest's rax, not a status
        current().counters->hypercalls_refused[nr]++;
        log(LogLevel::Debug, "hypercall %lu (%#lx, %#lx) -> %ld", nr, args.a1(), args.a2(), rc);
    }
    mm::audit_if_due(false);
}

// Inlined into the register path: every ring-0 instruction counts there.
[[gnu::always_inline]] inline int64_t dispatch(GuestRegs& r, uint64_t nr, HypercallArgs args) {
    Vcpu& v = current();
    if (nr >= abi::kHypercallSlots || table.e[nr] == nullptr) {
        v.counters->hypercalls_unknown++;
        log(LogLevel::Debug, "unknown hypercall %lu -> -ENOSYS", nr);
        return -ENOSYS;
    }
    v.counters->hypercalls[nr]++;
    if (!table.locked[nr]) {
        const int64_t rc = table.e[nr](r, args);
        if ((rc < 0 && nr != __HYPERVISOR_iret) || domain().boot.audit_every) [[unlikely]] {
            smp::DomainLock lock(v);  // the audit reads every frame's counts
            after_hypercall(nr, args, rc);
        }
        return rc;
    }
    smp::DomainLock lock(v);
    const int64_t rc = table.e[nr](r, args);
    if (rc < 0 || domain().boot.audit_every) [[unlikely]]
        after_hypercall(nr, args, rc);
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
