// SCHEDOP_block and SCHEDOP_poll (Xen's vcpu_block_enable_events, do_poll).
//
// block: with an event already pending (upcalls masked) it returns at once
// (a 2 s safety timer is armed; "at once" means well before it), clears
// the upcall mask and the upcall is delivered on its way out; with a
// set_timer_op deadline it sleeps until VIRQ_TIMER (>= the deadline); the
// periodic timer does not wake a blocked vCPU (a 5 ms period: blocking
// until a 60 ms deadline takes at most 3 blocks, not 12).
// poll: more than 128 ports -XEN_EINVAL; an unreadable port list -XEN_EFAULT; a
// closed port, port 0 or 4096 -XEN_EINVAL; a port list whose first port is
// pending returns 0 at once even if a later one is closed (ports are
// checked in order), the other way round -XEN_EINVAL; with nothing pending it
// returns 0 once the timeout (absolute system time) has passed; a pending
// port returns at once even when masked; a masked port that becomes
// pending during the poll (VIRQ_TIMER) ends it; nr_ports 0 waits for the
// timeout; the upcall mask is left as it was.
// yield: returns 0 at once, events and the upcall mask as they were (the
// monitor gives the host CPU away: counter `yields`, stats-json-yield).
#include "events_support.hpp"

namespace {

using evs::kMs;
using evs::now;

constexpr uint64_t kAtOnce = 1000 * kMs;  // what counts as "at once" (a 2 s safety timer is armed)

Outcome block_checks(evtchn_port_t ipi, evs::PortCount& ipi_count, evs::PortCount& timer_count) {
    // An event already pending: block returns at once, events enabled.
    events::disable();
    REQUIRE(events::send(ipi) == 0, "send(IPI) failed");
    const unsigned before = evs::upcalls();
    uint64_t t0 = now();
    pvclock::set_timer(t0 + 2000 * kMs);  // a wake-up in case block sleeps
    long rc = pvclock::block();
    uint64_t waited = now() - t0;
    pvclock::set_timer(0);
    REQUIRE(rc == 0, "SCHEDOP_block returned %ld", rc);
    REQUIRE(waited < kAtOnce, "SCHEDOP_block with an event pending slept %lu us", waited / 1000);
    REQUIRE(evs::upcalls() == before + 1 && ipi_count.count == 1,
            "SCHEDOP_block with an event pending: %u upcalls, expected the pending one", evs::upcalls() - before);
    REQUIRE(evs::upcall_mask() == 0, "upcall mask %u after SCHEDOP_block, expected 0 (block enables events)",
            evs::upcall_mask());

    // Sleeping until a set_timer_op deadline: woken by VIRQ_TIMER.
    events::disable();
    timer_count.count = 0;
    t0 = now();
    const uint64_t deadline = t0 + 20 * kMs;
    pvclock::set_timer(deadline);
    rc = pvclock::block();
    const uint64_t woke = now();
    REQUIRE(rc == 0, "SCHEDOP_block returned %ld", rc);
    REQUIRE(timer_count.count == 1, "SCHEDOP_block returned with %u VIRQ_TIMER events, expected 1", timer_count.count);
    REQUIRE(woke >= deadline, "woken %lu us before the 20 ms deadline", (deadline - woke) / 1000);
    REQUIRE(woke - t0 < 20 * kAtOnce, "the 20 ms block took %lu ms", (woke - t0) / kMs);

    // The periodic timer does not wake a blocked vCPU: blocking until a 60 ms
    // deadline with a 5 ms period ends about once (a tick raised just before
    // a block may end it early), not twelve times.
    REQUIRE(evs::set_periodic(0, 5 * kMs) == 0, "set_periodic(5 ms) failed");
    timer_count.count = 0;
    t0 = now();
    const uint64_t long_deadline = t0 + 60 * kMs;
    pvclock::set_timer(long_deadline);
    unsigned blocks = 0;
    for (;;) {
        events::disable();
        if (now() >= long_deadline)
            break;
        ++blocks;
        pvclock::block();
    }
    const uint64_t slept = now() - t0;
    evs::vcpu_op(VCPUOP_stop_periodic_timer, 0, nullptr);
    events::enable();
    events::disable();
    REQUIRE(blocks <= 3,
            "blocking for 60 ms with a 5 ms periodic timer took %u blocks (%u ticks) in %lu us: the periodic timer "
            "woke the blocked vCPU (Xen stops it while blocked)",
            blocks, timer_count.count, slept / 1000);
    return passed();
}

Outcome poll_checks(evtchn_port_t ipi, evtchn_port_t timer) {
    events::disable();
    evtchn_port_t ports[130];
    for (unsigned i = 0; i < 130; ++i)
        ports[i] = ipi;
    long rc = evs::poll(ports, 129, now() + 10 * kMs);
    REQUIRE(rc == -XEN_EINVAL, "poll with 129 ports returned %ld, expected -EINVAL", rc);
    rc = evs::poll(reinterpret_cast<const evtchn_port_t*>(0x0000'4000'0000'0000), 1, now() + 10 * kMs);
    REQUIRE(rc == -XEN_EFAULT, "poll with an unmapped port list returned %ld, expected -EFAULT", rc);
    const evtchn_port_t closed = evs::lowest_closed_port();
    const evtchn_port_t bad[3] = {closed, 0, EVTCHN_2L_NR_CHANNELS};
    for (evtchn_port_t p : bad) {
        rc = evs::poll(&p, 1, now() + 10 * kMs);
        REQUIRE(rc == -XEN_EINVAL, "poll on port %u (closed, reserved or invalid) returned %ld, expected -EINVAL", p,
                rc);
    }

    // Timeout: 0 once the time has passed, nothing pending.
    events::clear_pending(ipi);
    uint64_t t0 = now();
    const uint64_t timeout = t0 + 20 * kMs;
    rc = evs::poll(&ipi, 1, timeout);
    uint64_t t1 = now();
    REQUIRE(rc == 0, "poll until a timeout returned %ld", rc);
    REQUIRE(t1 >= timeout, "poll returned %lu us before its timeout", (timeout - t1) / 1000);
    REQUIRE(evs::upcall_mask() == 1, "poll changed the upcall mask to %u", evs::upcall_mask());

    // A pending port, masked: at once.
    events::mask(ipi);
    REQUIRE(events::send(ipi) == 0, "send failed");
    t0 = now();
    rc = evs::poll(&ipi, 1, t0 + 2000 * kMs);
    t1 = now();
    REQUIRE(rc == 0 && t1 - t0 < kAtOnce, "poll on a pending masked port: rc %ld after %lu us", rc, (t1 - t0) / 1000);
    // Ports are checked in order: the pending one first wins over a closed one.
    const evtchn_port_t pending_first[2] = {ipi, closed};
    t0 = now();
    rc = evs::poll(pending_first, 2, t0 + 2000 * kMs);
    t1 = now();
    REQUIRE(rc == 0 && t1 - t0 < kAtOnce, "poll(pending port, closed port): rc %ld after %lu us, expected 0 at once",
            rc, (t1 - t0) / 1000);
    const evtchn_port_t closed_first[2] = {closed, ipi};
    rc = evs::poll(closed_first, 2, now() + 2000 * kMs);
    REQUIRE(rc == -XEN_EINVAL, "poll(closed port, pending port) returned %ld, expected -EINVAL", rc);
    events::clear_pending(ipi);
    evs::clear_mask_bit(ipi);

    // A masked port that becomes pending during the poll ends it.
    events::mask(timer);
    events::clear_pending(timer);
    t0 = now();
    const uint64_t deadline = t0 + 20 * kMs;
    pvclock::set_timer(deadline);
    rc = evs::poll(&timer, 1, t0 + 2000 * kMs);
    t1 = now();
    REQUIRE(rc == 0, "poll on the timer port returned %ld", rc);
    REQUIRE(t1 >= deadline && t1 - t0 < kAtOnce,
            "poll on a masked timer port returned after %lu us (timer at 20 ms, timeout 2 s)", (t1 - t0) / 1000);
    REQUIRE(events::is_pending(timer), "the timer port is not pending after the poll");
    events::clear_pending(timer);
    evs::clear_mask_bit(timer);

    // No ports: waits for the timeout.
    t0 = now();
    rc = evs::poll(nullptr, 0, t0 + 10 * kMs);
    t1 = now();
    REQUIRE(rc == 0 && t1 >= t0 + 10 * kMs, "poll with no ports: rc %ld after %lu us, expected 0 after 10 ms", rc,
            (t1 - t0) / 1000);
    return passed();
}

Outcome yield_checks(evtchn_port_t ipi, evs::PortCount& ipi_count) {
    events::disable();
    const unsigned before = evs::upcalls(), ipis = ipi_count.count;
    REQUIRE(events::send(ipi) == 0, "send(IPI) failed");
    const uint64_t t0 = now();
    for (int i = 0; i < 5; ++i) {
        const long rc = hv::sched_op(SCHEDOP_yield, nullptr);
        REQUIRE(rc == 0, "SCHEDOP_yield returned %ld", rc);
    }
    const uint64_t took = now() - t0;
    REQUIRE(took < kAtOnce, "5 SCHEDOP_yield took %lu us", took / 1000);
    REQUIRE(evs::upcall_mask() == 1 && evs::upcalls() == before,
            "SCHEDOP_yield changed events: mask %u, %u upcalls (expected masked, none)", evs::upcall_mask(),
            evs::upcalls() - before);
    events::enable();  // the IPI sent before is delivered now
    REQUIRE(ipi_count.count == ipis + 1, "the IPI pending across SCHEDOP_yield: %u deliveries, expected 1",
            ipi_count.count - ipis);
    return passed();
}

}  // namespace

Outcome test_block_poll() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    evs::PortCount ipi_count{}, timer_count{};
    evtchn_port_t ipi = 0, timer = 0;
    REQUIRE(scope.bind_ipi(ipi, ipi_count) == 0, "bind_ipi failed");
    REQUIRE(scope.bind_timer(timer, timer_count) == 0, "bind_virq(VIRQ_TIMER) failed");
    Outcome o = block_checks(ipi, ipi_count, timer_count);
    if (o.kind == Outcome::Kind::ok)
        o = poll_checks(ipi, timer);
    if (o.kind == Outcome::Kind::ok)
        o = yield_checks(ipi, ipi_count);
    return o;
}
