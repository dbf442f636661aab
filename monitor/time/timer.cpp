#include "monitor/time/timer.hpp"

#include <xen/xen.h>

#include "monitor/arch/x86_64/lapic.hpp"
#include "monitor/events/evtchn.hpp"
#include "monitor/pending.hpp"
#include "monitor/time/clock.hpp"

namespace monitor::timer {

namespace {

constexpr uint64_t kRepublishNs = 1'000'000'000;  // as Xen's once-a-second time calibration

uint64_t earliest(uint64_t a, uint64_t b) { return a == 0 ? b : b == 0 ? a : (a < b ? a : b); }

bool periodic_runs(const Vcpu& v) {
    return v.time.periodic_ns && !v.time.blocked && v.events.virq_port[VIRQ_TIMER] != 0;
}

// Recorded in the host channel too: the host's report on a hung guest shows it.
void program_lapic(Vcpu& v, uint64_t tsc) {
    v.channel->timer_deadline_tsc = tsc;
    const auto hook = domain().boot.test_hook;
    if (hook == abi::TestHook::DropTimerInterrupts && tsc != 0 && ++v.time.programs_for_drop_hook % 8 == 0)
        tsc = 0;  // its interrupt will not come
    if (hook == abi::TestHook::StopTimerInterrupts && tsc != 0 && ++v.time.programs_for_drop_hook >= 8)
        tsc = 0;  // nor any later one
    lapic::arm_deadline(tsc);
}

// The LAPIC timer follows the earliest deadline (one in the past fires at once).
void rearm(Vcpu& v) {
    if (&v != &current()) {  // VCPUOP_set_periodic_timer on another vCPU: only it may program its LAPIC
        post_and_kick(v, kPendingTimer);
        return;
    }
    VcpuTime& t = v.time;
    const uint64_t periodic = periodic_runs(v) ? t.periodic_next_ns : 0;
    const uint64_t next = earliest(earliest(t.singleshot_ns, periodic), t.poll_deadline_ns);
    if (next == t.armed_ns)
        return;
    t.armed_ns = next;
    program_lapic(v, next ? time::tsc_at(next) : 0);
}

void fire(Vcpu& v) {
    v.counters->virq_timer++;
    events::send_virq(v, VIRQ_TIMER);
}

// Xen's vcpu_periodic_timer_work: a tick that is due fires now, once (missed
// ticks collapse), and the next is a period later.
bool periodic_due(Vcpu& v, uint64_t now) {
    VcpuTime& t = v.time;
    if (!periodic_runs(v) || t.periodic_next_ns > now)
        return false;
    t.periodic_next_ns = now + t.periodic_ns;
    return true;
}

}  // namespace

void set_singleshot(Vcpu& v, uint64_t deadline_ns) {
    // Xen 4.18: a deadline already past fires at once (VCPU_SSHOTTMR_future ignored).
    if (deadline_ns && deadline_ns <= time::now_ns(v)) {
        v.time.singleshot_ns = 0;
        fire(v);
    } else {
        v.time.singleshot_ns = deadline_ns;
    }
    rearm(v);
}

void set_periodic(Vcpu& v, uint64_t period_ns) {
    v.time.periodic_ns = period_ns;
    v.time.periodic_next_ns = period_ns ? time::now_ns(v) : 0;  // the first tick at once, as Xen
    if (periodic_due(v, time::now_ns(v)))
        fire(v);
    rearm(v);
}

void set_poll_deadline(Vcpu& v, uint64_t deadline_ns) {
    v.time.poll_deadline_ns = deadline_ns;
    rearm(v);
}

void blocked(Vcpu& v, bool is_blocked) {
    v.time.blocked = is_blocked;
    if (!is_blocked && periodic_due(v, time::now_ns(v)))
        fire(v);
    rearm(v);
}

void virq_timer_bound(Vcpu& v) { rearm(v); }

namespace {

bool overdue(Vcpu& v) {
    const uint64_t armed = v.time.armed_ns;
    return armed != 0 && armed + kOverdueNs < time::now_ns(v);
}

}  // namespace

bool rearm_if_overdue(Vcpu& v) {
    if (!overdue(v))
        return false;
    // Its interrupt never came (the nested emulator lost some): armed in the
    // past, it fires as soon as interrupts are on.
    v.counters->overdue_deadlines++;
    program_lapic(v, time::tsc_at(v.time.armed_ns));
    return true;
}

bool expire_if_overdue(Vcpu& v) {
    if (!overdue(v))
        return false;
    v.counters->overdue_deadlines++;
    expire(v);
    return true;
}

void arm_idle_watchdog(Vcpu& v) {
    VcpuTime& t = v.time;
    t.watchdog_fired = false;
    if (rearm_if_overdue(v))
        return;
    if (domain().boot.nr_vcpus == 1)
        return;
    const uint64_t watchdog = time::now_ns(v) + kIdleWatchdogNs;
    if (t.armed_ns != 0 && t.armed_ns <= watchdog)
        return;                             // a deadline comes first anyway
    t.armed_ns = t.watchdog_ns = watchdog;  // the next rearm puts the real deadline back
    program_lapic(v, time::tsc_at(watchdog));
}

bool idle_watchdog_fired(Vcpu& v) { return v.time.watchdog_fired; }

void expire(Vcpu& v) {
    VcpuTime& t = v.time;
    const uint64_t now = time::now_ns(v);
    if (t.watchdog_ns && t.armed_ns == t.watchdog_ns && now >= t.watchdog_ns) {
        t.watchdog_fired = true;
        v.counters->idle_watchdog_wakes++;
    }
    t.watchdog_ns = 0;
    t.armed_ns = 0;  // the interrupt consumed it
    bool due = periodic_due(v, now);
    if (t.singleshot_ns && t.singleshot_ns <= now) {
        t.singleshot_ns = 0;
        due = true;
    }
    if (t.poll_deadline_ns && t.poll_deadline_ns <= now)
        t.poll_deadline_ns = 0;  // SCHEDOP_poll sees its timeout
    if (due)
        fire(v);
    if (now - t.published_ns > kRepublishNs) {
        time::publish(v);
        t.published_ns = now;
    }
    rearm(v);
}

}  // namespace monitor::timer
