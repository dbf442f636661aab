// Xen's timers (do_set_timer_op, VCPUOP_*_timer) as VIRQ_TIMER events.
//
// timers: the default 10 ms periodic timer ticks once VIRQ_TIMER is bound
// (checked while running, 100 ms: 3..12 ticks; missed ticks collapse into
// one, as in Xen, so a loaded emulator host sees fewer); set_timer_op with a past
// deadline raises VIRQ_TIMER before the hypercall returns; 0 stops a
// pending single-shot (nothing in 40 ms); a deadline 10 ms ahead wakes a
// poll on the timer port after >= 10 ms; a negative or more-than-2^50-ns-
// ahead timeout fires in 100 ms (Xen's jiffies-wrap workaround);
// VCPUOP_set_singleshot_timer with a future deadline fires then, with a
// past one (VCPU_SSHOTTMR_future set: ignored since Xen 4.18) at once
// and returns 0; VCPUOP_stop_singleshot_timer stops it; singleshot on
// another vCPU -XEN_EINVAL, on a vCPU id >= nr_vcpus -XEN_ENOENT, an unreadable
// argument -XEN_EFAULT; set_periodic_timer below 1 ms or above 2^62 - 1 ns
// -XEN_EINVAL, 2^62 - 1 accepted; a 4 ms periodic timer ticks about every
// 4 ms while the vCPU runs (80 ms: 6..22 ticks).
//
// timer_accuracy: N sleeps of 10 ms (set_timer_op + SCHEDOP_block) timed
// with pvclock: lateness min/median/max; never early, and the median must
// be within sleep_tolerance_us (command line; default 50000).
#include "../lib/runtime.hpp"
#include "events_support.hpp"

namespace {

using evs::kMs;
using evs::now;

// Runs (never blocks) for `duration` with upcalls enabled; returns the ticks.
unsigned ticks_while_running(evs::PortCount& counter, uint64_t duration) {
    counter.count = 0;
    events::enable();
    const uint64_t end = now() + duration;
    while (now() < end)
        asm volatile("pause");
    events::disable();
    return counter.count;
}

// Polls the timer port (masked) until it is pending or `limit` passes;
// returns the time since `since` (when the timer was set: a deadline is
// relative to that, not to the start of the poll).
uint64_t wait_for_timer(evtchn_port_t timer, uint64_t since, uint64_t limit) {
    evs::poll(&timer, 1, now() + limit);
    return now() - since;
}

}  // namespace

Outcome test_timers() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    evs::PortCount counter{};
    evtchn_port_t timer = 0;
    // Bound by hand: the periodic timer keeps running.
    long rc = evs::bind_virq(VIRQ_TIMER, 0, timer);
    REQUIRE(rc == 0, "bind_virq(VIRQ_TIMER) returned %ld", rc);
    scope.keep(timer);
    evs::count_events(timer, counter);
    const unsigned ticks = ticks_while_running(counter, 100 * kMs);
    print("conformance:   default periodic timer: %u ticks in 100 ms\n", ticks);
    REQUIRE(ticks >= 3 && ticks <= 12, "the default periodic timer (10 ms) ticked %u times in 100 ms", ticks);
    REQUIRE(evs::vcpu_op(VCPUOP_stop_periodic_timer, 0, nullptr) == 0, "stop_periodic_timer failed");
    events::enable();
    events::disable();
    REQUIRE(ticks_while_running(counter, 30 * kMs) == 0, "VIRQ_TIMER ticks after stop_periodic_timer");

    events::mask(timer);  // from here on: pending bits, polled
    // A deadline in the past: VIRQ_TIMER before the hypercall returns.
    REQUIRE(pvclock::set_timer(1) == 0 && events::is_pending(timer),
            "set_timer_op(a past deadline) did not raise VIRQ_TIMER at once");
    events::clear_pending(timer);
    // 0 stops it.
    REQUIRE(pvclock::set_timer(now() + 20 * kMs) == 0 && pvclock::set_timer(0) == 0, "set_timer_op failed");
    uint64_t took = wait_for_timer(timer, now(), 40 * kMs);
    REQUIRE(!events::is_pending(timer), "set_timer_op(0) did not stop the timer (fired after %lu us)", took / 1000);
    // 10 ms ahead.
    uint64_t t0 = now();
    pvclock::set_timer(t0 + 10 * kMs);
    took = wait_for_timer(timer, t0, 2000 * kMs);
    REQUIRE(events::is_pending(timer) && took >= 10 * kMs && took < 1000 * kMs,
            "set_timer_op(now + 10 ms) fired after %lu us", took / 1000);
    events::clear_pending(timer);
    // Huge and negative timeouts: 100 ms from now.
    const uint64_t huge[2] = {now() + (1ull << 51), 1ull << 63};
    for (uint64_t deadline : huge) {
        t0 = now();
        rc = pvclock::set_timer(deadline);
        took = wait_for_timer(timer, t0, 2000 * kMs);
        REQUIRE(rc == 0 && events::is_pending(timer) && took >= 99 * kMs && took < 1000 * kMs,
                "set_timer_op(%#lx): rc %ld, fired after %lu us, expected 100 ms (Xen's huge-timeout clamp)", deadline,
                rc, took / 1000);
        events::clear_pending(timer);
    }

    // VCPUOP singleshot.
    t0 = now();
    rc = evs::set_singleshot(0, t0 + 10 * kMs);
    took = wait_for_timer(timer, t0, 2000 * kMs);
    REQUIRE(rc == 0 && events::is_pending(timer) && took >= 10 * kMs && took < 1000 * kMs,
            "set_singleshot_timer(now + 10 ms): rc %ld, fired after %lu us", rc, took / 1000);
    events::clear_pending(timer);
    rc = evs::set_singleshot(0, now() - 1 * kMs, VCPU_SSHOTTMR_future);
    REQUIRE(rc == 0 && events::is_pending(timer),
            "set_singleshot_timer(past, VCPU_SSHOTTMR_future): rc %ld, pending %d: expected 0 and VIRQ_TIMER at once "
            "(Xen 4.18 ignores the flag)",
            rc, events::is_pending(timer));
    events::clear_pending(timer);
    rc = evs::set_singleshot(0, now() + 20 * kMs);
    long stop = evs::vcpu_op(VCPUOP_stop_singleshot_timer, 0, nullptr);
    took = wait_for_timer(timer, t0, 40 * kMs);
    REQUIRE(rc == 0 && stop == 0 && !events::is_pending(timer), "stop_singleshot_timer: rc %ld, the timer %s", stop,
            events::is_pending(timer) ? "fired anyway" : "stopped");
    const unsigned n = evs::nr_vcpus();
    rc = evs::set_singleshot(n, now() + 10 * kMs);
    REQUIRE(rc == -XEN_ENOENT, "set_singleshot_timer on vCPU %u (of %u) returned %ld, expected -ENOENT", n, n, rc);
    rc = evs::vcpu_op(VCPUOP_set_singleshot_timer, 0, reinterpret_cast<void*>(0x0000'4000'0000'0000));
    REQUIRE(rc == -XEN_EFAULT, "set_singleshot_timer with an unmapped argument returned %ld, expected -EFAULT", rc);
    if (n >= 2) {
        rc = evs::set_singleshot(1, now() + 10 * kMs);
        REQUIRE(rc == -XEN_EINVAL, "set_singleshot_timer on another vCPU returned %ld, expected -EINVAL", rc);
        rc = evs::vcpu_op(VCPUOP_stop_singleshot_timer, 1, nullptr);
        REQUIRE(rc == -XEN_EINVAL, "stop_singleshot_timer on another vCPU returned %ld, expected -EINVAL", rc);
        rc = evs::set_periodic(1, 10 * kMs);
        REQUIRE(rc == 0, "set_periodic_timer on another vCPU returned %ld, expected 0", rc);
        rc = evs::vcpu_op(VCPUOP_stop_periodic_timer, 1, nullptr);
        REQUIRE(rc == 0, "stop_periodic_timer on another vCPU returned %ld", rc);
        // vCPU 1's periodic timer, with its VIRQ_TIMER bound, started and
        // stopped from vCPU 0, leaves vCPU 0's pending timer alone.
        evtchn_port_t timer1 = 0;
        rc = evs::bind_virq(VIRQ_TIMER, 1, timer1);
        REQUIRE(rc == 0, "bind_virq(VIRQ_TIMER, vCPU 1) returned %ld", rc);
        scope.keep(timer1);
        t0 = now();
        pvclock::set_timer(t0 + 20 * kMs);
        REQUIRE(evs::set_periodic(1, 10 * kMs) == 0, "set_periodic_timer(vCPU 1) failed");
        REQUIRE(evs::vcpu_op(VCPUOP_stop_periodic_timer, 1, nullptr) == 0, "stop_periodic_timer(vCPU 1) failed");
        print("conformance:   (a hang here: vCPU 1's timer disarmed vCPU 0's)\n");
        took = wait_for_timer(timer, t0, 2000 * kMs);
        REQUIRE(events::is_pending(timer) && took < 1000 * kMs,
                "vCPU 0's timer (20 ms) fired after %lu us, once vCPU 1's periodic timer was set and stopped",
                took / 1000);
        events::clear_pending(timer);
        print("conformance:   timers on vCPU 1 of %u checked\n", n);
    }

    // Periodic: bounds, then ticks about every period.
    const uint64_t bad_periods[3] = {0, 999'999, 1ull << 62};
    for (uint64_t period : bad_periods) {
        rc = evs::set_periodic(0, period);
        REQUIRE(rc == -XEN_EINVAL, "set_periodic_timer(%lu ns) returned %ld, expected -EINVAL", period, rc);
    }
    rc = evs::vcpu_op(VCPUOP_set_periodic_timer, 0, reinterpret_cast<void*>(0x0000'4000'0000'0000));
    REQUIRE(rc == -XEN_EFAULT, "set_periodic_timer with an unmapped argument returned %ld, expected -EFAULT", rc);
    rc = evs::set_periodic(0, (1ull << 62) - 1);
    REQUIRE(rc == 0, "set_periodic_timer(2^62 - 1 ns, Xen's STIME_DELTA_MAX) returned %ld", rc);
    evs::clear_mask_bit(timer);
    events::clear_pending(timer);
    REQUIRE(evs::set_periodic(0, 4 * kMs) == 0, "set_periodic_timer(4 ms) failed");
    const unsigned periodic = ticks_while_running(counter, 80 * kMs);
    evs::vcpu_op(VCPUOP_stop_periodic_timer, 0, nullptr);
    print("conformance:   4 ms periodic timer: %u ticks in 80 ms\n", periodic);
    // Missed periods collapse into one tick (as in Xen), so a vCPU thread the
    // host delays gets fewer: the lower bound only says the timer repeats.
    REQUIRE(periodic >= 3 && periodic <= 22, "a 4 ms periodic timer ticked %u times in 80 ms", periodic);
    rc = evs::set_periodic(n, 10 * kMs);
    REQUIRE(rc == -XEN_ENOENT, "set_periodic_timer on vCPU %u returned %ld, expected -ENOENT", n, rc);
    return passed();
}

Outcome test_timer_accuracy() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    evs::PortCount counter{};
    evtchn_port_t timer = 0;
    REQUIRE(scope.bind_timer(timer, counter) == 0, "bind_virq(VIRQ_TIMER) failed");
    const unsigned tolerance_us = static_cast<unsigned>(runtime::command_line_number("sleep_tolerance_us", 50'000));
    unsigned samples = static_cast<unsigned>(runtime::command_line_number("timer_samples", 25));
    if (samples < 3 || samples > 200)
        samples = 25;
    int64_t lateness[200];
    for (unsigned i = 0; i < samples; ++i) {
        // Until the timer's VIRQ (the only event source here) has arrived.
        counter.count = 0;
        const uint64_t deadline = now() + 10 * kMs;
        pvclock::set_timer(deadline);
        uint64_t woke = 0;
        for (;;) {
            events::disable();
            if (counter.count != 0) {
                woke = now();
                break;
            }
            pvclock::block();
        }
        lateness[i] = static_cast<int64_t>(woke - deadline);
    }
    for (unsigned i = 1; i < samples; ++i)  // insertion sort
        for (unsigned j = i; j > 0 && lateness[j - 1] > lateness[j]; --j) {
            const int64_t t = lateness[j];
            lateness[j] = lateness[j - 1];
            lateness[j - 1] = t;
        }
    const int64_t median = lateness[samples / 2];
    print(
        "conformance:   timer_accuracy: %u sleeps of 10 ms: lateness min %ld us, median %ld us, max %ld us "
        "(tolerance %u us)\n",
        samples, lateness[0] / 1000, median / 1000, lateness[samples - 1] / 1000, tolerance_us);
    REQUIRE(lateness[0] >= 0, "VIRQ_TIMER arrived %ld ns before its deadline", -lateness[0]);
    REQUIRE(median <= static_cast<int64_t>(tolerance_us) * 1000, "median lateness %ld us above the tolerance %u us",
            median / 1000, tolerance_us);
    return passed();
}
