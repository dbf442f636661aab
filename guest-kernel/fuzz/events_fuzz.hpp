// The fuzzer's events-and-time part (events_fuzz.cpp): event_channel_op
// with structured random arguments, vcpu_op (timers, run state, vcpu_info),
// set_timer_op, SCHEDOP_block and SCHEDOP_poll (only ever with a short
// timer or timeout armed, so a run cannot hang), SCHEDOP_shutdown_code
// (reason poweroff only, so the run's exit status stays), set_callbacks,
// and random HYPERVISOR_iret frames whose faults the fuzzer recovers from.
// Upcalls stay masked in kernel mode except while blocked; the caller puts
// the callbacks, trap table and user-mode set-up back after set_callbacks
// and iret (restore_user_mode_setup).
#pragma once

#include <stdint.h>

#include "rng.hpp"

namespace fuzz {

// The main fuzzer's argument makers.
struct ArgSource {
    uint64_t (*pointer)(Rng&);   // sandbox or wild
    uint64_t (*any)(Rng&);       // anything
    uint64_t (*boundary)(Rng&);  // boundary values
    uint64_t (*sandbox)(unsigned page);
};

struct EventStats {
    unsigned blocks, polls, timer_ops, vcpu_ops, evtchn_ops, iret_frames, iret_faults, iret_landed, iret_syscalls;
    unsigned user_timeouts;  // user excursions ended by the watchdog
};

// vcpu_info moved into a page of its own at a random offset (the library
// follows), VIRQ_TIMER bound; false (printed) if that failed.
bool events_set_up(Rng& rng);

long fuzz_event_channel(Rng& rng, const ArgSource& args);
long fuzz_vcpu_op(Rng& rng, const ArgSource& args);
long fuzz_timer(Rng& rng, const ArgSource& args);
long fuzz_sched_wait(Rng& rng, const ArgSource& args);
long fuzz_set_callbacks(Rng& rng, const ArgSource& args);
// Needs the user base pointer and stack_switch in place (the fuzzer's user space).
long fuzz_iret(Rng& rng, const ArgSource& args);

const EventStats& event_stats();

// A user excursion may loop (its random bytes can hold a jump): the
// watchdog (VIRQ_TIMER, single-shot) ends it after 20 ms through the event
// callback fuzz_event_entry, which restore_user_mode_setup registers.
void arm_user_watchdog();
void disarm_user_watchdog();

}  // namespace fuzz
