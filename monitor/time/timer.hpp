// A vCPU's Xen timers on its local APIC's TSC-deadline timer: the
// singleshot timer (set_timer_op, VCPUOP_set_singleshot_timer), the
// periodic timer (VCPUOP_set_periodic_timer; 10 ms from the start, as Xen
// gives every PV vCPU) and SCHEDOP_poll's timeout.
// The first two raise VIRQ_TIMER on that vCPU when they expire. Only the
// vCPU itself touches them (others would post work).
#pragma once

#include <stdint.h>

#include "monitor/state.hpp"

namespace monitor::timer {

void set_singleshot(Vcpu& v, uint64_t deadline_ns);  // 0: stop
void set_periodic(Vcpu& v, uint64_t period_ns);      // 0: stop
void set_poll_deadline(Vcpu& v, uint64_t deadline_ns);
// The periodic timer runs only while the vCPU runs (Xen stops it when the
// vCPU is descheduled), and only once VIRQ_TIMER is bound (its ticks would
// go nowhere before).
void blocked(Vcpu& v, bool is_blocked);
void virq_timer_bound(Vcpu& v);

// After the timer interrupt (kPendingTimer): fire what is due, re-arm.
void expire(Vcpu& v);

// Before an idle hlt of a vCPU of an SMP domain: the LAPIC timer fires
// within kIdleWatchdogNs even when no deadline is nearer, so that an IPI
// lost on its way (seen on nested hosts: a vCPU then slept forever) costs
// a short delay, not a hang. Not on one vCPU, where IPIs play no part and
// each wake-up would cost an idle guest a few percent of a core on the
// nested backend (a whole 36% at 50 ms).
inline constexpr uint64_t kIdleWatchdogNs = 200'000'000;
void arm_idle_watchdog(Vcpu& v);
// A deadline this far past whose interrupt never came (lost: a vCPU then
// halted for good) is armed again before each idle halt, and expired after
// each host kick (the host kicks a vCPU whose timer state stalls:
// vmm/stall_watch).
inline constexpr uint64_t kOverdueNs = 50'000'000;
bool rearm_if_overdue(Vcpu& v);
// After a host kick: an overdue deadline's work is done now, without the
// LAPIC. On one nested machine the LAPIC timer stopped firing for a vCPU
// altogether: its deadline, re-armed in the past 234 times, never came,
// while the host's kicks (an MSI) did.
bool expire_if_overdue(Vcpu& v);
// After it: whether the watchdog, not another interrupt, ended the halt.
[[nodiscard]] bool idle_watchdog_fired(Vcpu& v);

}  // namespace monitor::timer
