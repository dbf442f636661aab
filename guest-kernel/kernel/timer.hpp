// Kernel time: Xen system time (pvclock) and one timer per vCPU on its
// VIRQ_TIMER (each vCPU has its own single-shot timer in Xen, bound and
// armed by the vCPU itself; everything here is about the calling vCPU).
//
// The kernel is tickless: init_this_cpu() stops Xen's default 10 ms periodic timer
// (VCPUOP_stop_periodic_timer, as Linux does) and binds VIRQ_TIMER; every
// deadline the kernel needs (a sleeper's wake-up, the end of the running
// process's time slice) goes through arm() onto Xen's single-shot timer
// (set_timer_op). arm() is lazy: a deadline later than the one already
// armed costs nothing, the earlier expiry just finds nothing due and arms
// again (sched::timer_expired).
#pragma once

#include <stdint.h>

namespace timer {

// On each vCPU, once, with the kernel lock held.
void init_this_cpu();

// Xen system time, ns.
uint64_t now();

// VIRQ_TIMER no later than `deadline_ns` (system time; one in the past
// fires at once).
void arm(uint64_t deadline_ns);
// Whether a VIRQ_TIMER is due no later than `deadline_ns` already (on this
// vCPU, or on vCPU `cpu`: read under the kernel lock).
bool armed_by(uint64_t deadline_ns);
bool armed_by(unsigned cpu, uint64_t deadline_ns);

// Waits for an event upcall with events enabled (the caller masks them
// again): SCHEDOP_block, unless the armed deadline is less than 200 us
// away; then it waits for the VIRQ_TIMER without blocking. A workaround:
// on the nested backend a vCPU that the monitor halts (sti; hlt) when its
// LAPIC timer has just expired can miss that interrupt and sleep forever.
void block();
// How often block() found the timer (nearly) due and did not block (all vCPUs).
uint64_t unblocked_waits();

// This vCPU's VIRQ_TIMER events, and the system time when its last one was
// handled; all vCPUs' events.
uint64_t events();
uint64_t last_event_ns();
uint64_t all_events();

}  // namespace timer
