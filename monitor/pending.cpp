#include "monitor/pending.hpp"

#include "monitor/arch/x86_64/lapic.hpp"
#include "monitor/events/evtchn.hpp"
#include "monitor/hypercall/console.hpp"
#include "monitor/log.hpp"
#include "monitor/smp/remote.hpp"
#include "monitor/smp/vcpus.hpp"
#include "monitor/time/timer.hpp"

namespace monitor {

void post_and_kick(Vcpu& v, uint32_t work) {
    post(v, work);
    Vcpu& self = current();
    if (&v == &self)
        return;
    if (domain().boot.test_hook == abi::TestHook::DropIpis && (work & (kPendingEvent | kPendingRemote)) &&
        (++self.smp.kicks_for_drop_hook % (__atomic_load_n(&v.smp.idle, __ATOMIC_SEQ_CST) ? 16 : 2)) == 0)
        return;  // lost on the way: the idle watchdog or a second kick must make up for it
    self.counters->ipis_sent++;
    lapic::send_ipi(v.id, lapic::kVectorIpi);
}

namespace {

void take_host_posts(Vcpu& v) {
    const uint32_t posts = __atomic_exchange_n(&v.channel->posted, 0, __ATOMIC_SEQ_CST);
    if (posts & abi::kPostConsoleInput)
        console_input_arrived();
}

}  // namespace

void do_background_work(Vcpu& v) {
    for (;;) {
        const uint32_t work = __atomic_fetch_and(&v.pending, kPendingEvent, __ATOMIC_SEQ_CST) & ~kPendingEvent;
        if (work == 0)
            return;
        if (work & kPendingRemote)  // first: flushes deferred while asleep precede any guest-memory access
            remote::serve(v);
        if (work & kPendingHost) {
            take_host_posts(v);
            timer::expire_if_overdue(v);
        }
        if (work & kPendingTimer)
            timer::expire(v);
    }
}

void do_pending_work(GuestRegs& r, Vcpu& v) {
    do_background_work(v);
    if (!__atomic_load_n(&v.smp.up, __ATOMIC_ACQUIRE)) [[unlikely]]
        smp::park_while_down(v);
    if ((__atomic_load_n(&v.pending, __ATOMIC_RELAXED) & kPendingEvent) || upcall_due(v))
        events::deliver_upcall(r, v);
}

void wait_for_interrupt() {
    Vcpu& v = current();
    v.counters->idle_halts++;
    timer::arm_idle_watchdog(v);
    __atomic_store_n(&v.smp.idle, true, __ATOMIC_SEQ_CST);
    v.channel->halted_at_tsc = cpu::rdtsc();
    asm volatile("sti; hlt; cli" ::: "memory");
    v.channel->halted_at_tsc = 0;
    __atomic_store_n(&v.smp.idle, false, __ATOMIC_SEQ_CST);  // before any pending work is looked at
}

void handle_interrupt(uint64_t vector) {
    Vcpu& v = current();
    switch (vector) {
    case lapic::kVectorTimer:
        v.counters->timer_interrupts++;
        post(v, kPendingTimer);
        break;
    case lapic::kVectorHostKick:
        v.counters->host_kicks++;
        post(v, kPendingHost);
        break;
    case lapic::kVectorIpi:
        v.counters->ipis_received++;  // the sender posted the work
        break;
    case lapic::kVectorSpurious: return;  // no EOI for a spurious interrupt
    default: panic("unexpected interrupt vector %#lx", vector);
    }
    lapic::eoi();
}

}  // namespace monitor
