#include "monitor/smp/vcpus.hpp"

#include <xen/sched.h>

#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/log.hpp"
#include "monitor/pending.hpp"
#include "monitor/smp/guest_context.hpp"
#include "monitor/smp/remote.hpp"
#include "monitor/time/runstate.hpp"
#include "monitor/time/timer.hpp"

namespace monitor::smp {

namespace {

// ~5 KiB, too big for a monitor stack; used under the domain lock only.
vcpu_guest_context_t context_buffer;

bool any_other_up(const Vcpu& self) {
    for (uint32_t id = 0; id < domain().boot.nr_vcpus; ++id)
        if (id != self.id && __atomic_load_n(&vcpu(id).smp.up, __ATOMIC_ACQUIRE))
            return true;
    return false;
}

}  // namespace

void boot_vcpu_is_up(Vcpu& v) {
    v.smp.initialised = true;
    __atomic_store_n(&v.smp.started, true, __ATOMIC_RELEASE);
    __atomic_store_n(&v.smp.up, true, __ATOMIC_RELEASE);
}

int64_t initialise(Vcpu& target, uint64_t context_va) {
    if (target.smp.initialised)
        return -EEXIST;  // Xen: each vCPU is initialised once
    if (!GuestPtr<vcpu_guest_context_t>(context_va).read(context_buffer))
        return -EFAULT;
    if (int64_t rc = load_guest_context(target, context_buffer); rc < 0)
        return rc;
    target.smp.initialised = true;
    return 0;
}

int64_t up(Vcpu& target) {
    if (!target.smp.initialised)
        return -EINVAL;
    // Counted among the vCPUs that remote flushes reach from now on: what
    // its first exit copies is current, later writes reach it.
    __atomic_store_n(&target.smp.started, true, __ATOMIC_RELEASE);
    if (!__atomic_exchange_n(&target.smp.up, true, __ATOMIC_ACQ_REL))
        post_and_kick(target, 0);  // wakes it from its halt
    return 0;
}

int64_t down(Vcpu& target) {
    if (!__atomic_load_n(&target.smp.up, __ATOMIC_ACQUIRE))
        return 0;
    if (!any_other_up(target))
        shutdown_domain(SHUTDOWN_poweroff);  // Xen: the last vCPU up going down
    __atomic_store_n(&target.smp.up, false, __ATOMIC_RELEASE);
    post_and_kick(target, kPendingDown);  // it stops on its way back to the guest
    return 0;
}

int64_t is_up(const Vcpu& target) { return __atomic_load_n(&target.smp.up, __ATOMIC_ACQUIRE) ? 1 : 0; }

void park_while_down(Vcpu& v) {
    const bool was_running = v.smp.engine_ready;
    if (was_running)
        runstate::enter(v, RUNSTATE_offline);
    while (!__atomic_load_n(&v.smp.up, __ATOMIC_ACQUIRE)) {
        remote::serve(v);
        wait_for_interrupt();
        do_background_work(v);  // the watchdog's timer interrupt, say
        if (timer::idle_watchdog_fired(v) && __atomic_load_n(&v.smp.up, __ATOMIC_ACQUIRE))
            v.counters->lost_wakeups++;  // VCPUOP_up's kick never arrived
    }
    remote::serve(v);
    if (was_running)
        runstate::enter(v, RUNSTATE_running);
}

}  // namespace monitor::smp
