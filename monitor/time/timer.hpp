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

}  // namespace monitor::timer
