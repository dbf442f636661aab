// vcpu_op for the vCPUs of this domain: bring-up (monitor/smp/vcpus.hpp),
// timers (monitor/time/timer.cpp), run state, vcpu_info placement. The ops
// Xen allows on another vCPU act on its state, running or not.
#include <stdint.h>
#include <xen/sched.h>
#include <xen/vcpu.h>

#include "monitor/events/evtchn.hpp"
#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/smp/vcpus.hpp"
#include "monitor/time/clock.hpp"
#include "monitor/time/runstate.hpp"
#include "monitor/time/timer.hpp"

namespace monitor {

namespace {

constexpr uint64_t kMinPeriodNs = 1'000'000;        // Xen: MILLISECS(1)
constexpr uint64_t kMaxDeltaNs = (1ull << 62) - 1;  // Xen's STIME_DELTA_MAX (~0ull >> 2)

int64_t set_periodic(Vcpu& v, uint64_t va) {
    vcpu_set_periodic_timer_t set;
    if (!GuestPtr<vcpu_set_periodic_timer_t>(va).read(set))
        return -EFAULT;
    if (set.period_ns < kMinPeriodNs || set.period_ns > kMaxDeltaNs)
        return -EINVAL;
    timer::set_periodic(v, set.period_ns);
    return 0;
}

int64_t set_singleshot(Vcpu& v, uint64_t va) {
    if (&v != &current())
        return -EINVAL;
    vcpu_set_singleshot_timer_t set;
    if (!GuestPtr<vcpu_set_singleshot_timer_t>(va).read(set))
        return -EFAULT;
    // Xen 4.18+: VCPU_SSHOTTMR_future is ignored, a past deadline fires at once.
    timer::set_singleshot(v, set.timeout_abs_ns ? set.timeout_abs_ns : 1);  // 0 would mean "off"
    return 0;
}

int64_t register_runstate_area(Vcpu& v, uint64_t va) {
    vcpu_register_runstate_memory_area_t area;
    if (!GuestPtr<vcpu_register_runstate_memory_area_t>(va).read(area))
        return -EFAULT;
    // Xen's guest_handle_okay (__addr_ok): below 2^47 or above the hypervisor's range.
    const uint64_t addr = reinterpret_cast<uint64_t>(area.addr.v);
    if (addr >= (1ull << 47) && addr < HYPERVISOR_VIRT_END)
        return -EFAULT;
    v.time.runstate_va = addr;
    vcpu_runstate_info_t now;
    runstate::snapshot(v, now);
    if (v.time.runstate_va)
        (void)GuestPtr<vcpu_runstate_info_t>(v.time.runstate_va).write(now);
    return 0;
}

int64_t get_runstate(Vcpu& v, uint64_t va) {
    vcpu_runstate_info_t now;
    runstate::snapshot(v, now);
    return GuestPtr<vcpu_runstate_info_t>(va).write(now) ? 0 : -EFAULT;
}

int64_t register_vcpu_info(Vcpu& v, uint64_t va) {
    vcpu_register_vcpu_info_t info;
    if (!GuestPtr<vcpu_register_vcpu_info_t>(va).read(info))
        return -EFAULT;
    return events::register_vcpu_info(v, info.mfn, info.offset);
}

}  // namespace

int64_t hc_vcpu_op(GuestRegs&, HypercallArgs a) {
    const uint64_t cmd = a.a1(), id = a.a2(), arg = a.a3();
    if (id >= domain().boot.nr_vcpus)
        return -ENOENT;
    Vcpu& v = vcpu(static_cast<uint32_t>(id));
    switch (cmd) {
    case VCPUOP_is_up: return smp::is_up(v);
    case VCPUOP_up: return smp::up(v);
    case VCPUOP_down: return smp::down(v);
    case VCPUOP_initialise: return smp::initialise(v, arg);
    case VCPUOP_get_physid: return -EINVAL;  // a domU's vCPUs have none
    case VCPUOP_get_runstate_info: return get_runstate(v, arg);
    case VCPUOP_register_runstate_memory_area: return register_runstate_area(v, arg);
    case VCPUOP_set_periodic_timer: return set_periodic(v, arg);
    case VCPUOP_stop_periodic_timer: timer::set_periodic(v, 0); return 0;
    case VCPUOP_set_singleshot_timer: return set_singleshot(v, arg);
    case VCPUOP_stop_singleshot_timer:
        if (&v != &current())
            return -EINVAL;
        timer::set_singleshot(v, 0);
        return 0;
    case VCPUOP_register_vcpu_info: return register_vcpu_info(v, arg);
    default: return unknown_subop("vcpu_op", cmd);
    }
}

// set_timer_op: the singleshot timer at an absolute system time; 0 stops
// it, a time already past fires at once. Xen's workaround for Linux's
// jiffies wrap: a negative timeout, or one more than 2^50 ns (~13 days)
// ahead, fires in 100 ms.
int64_t hc_set_timer_op(GuestRegs&, HypercallArgs a) {
    uint64_t timeout = a.a1();
    const uint64_t now = time::now_ns();
    if (static_cast<int64_t>(timeout) < 0 || (timeout > now && ((timeout - now) >> 50) != 0))
        timeout = now + 100'000'000;
    timer::set_singleshot(current(), timeout);
    return 0;
}

}  // namespace monitor
