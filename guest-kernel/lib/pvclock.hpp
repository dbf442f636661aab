// Xen time for our PV guests: system time from this vCPU's pvclock
// (vcpu_time_info, read with its version protocol) and the wall clock from
// shared_info. Needs shared_info mapped (xen_shared::map).
#pragma once

#include "xen.hpp"

namespace pvclock {

// Xen system time: ns since the hypervisor started.
uint64_t system_time_ns();
// Wall clock (ns since the Unix epoch) now: shared_info's wc at system time
// 0 plus the system time.
uint64_t wallclock_ns();

// set_timer_op: VIRQ_TIMER at an absolute system time (0 stops it).
long set_timer(uint64_t deadline_ns);
// SCHEDOP_block: enables upcalls and sleeps until one is pending.
long block();

}  // namespace pvclock
