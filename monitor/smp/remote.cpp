#include "monitor/smp/remote.hpp"

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/log.hpp"
#include "monitor/pending.hpp"
#include "monitor/smp/domain_lock.hpp"
#include "monitor/smp/wait.hpp"
#include "monitor/xpti/xpti.hpp"

namespace monitor::remote {

namespace {

constexpr uint64_t kAllVcpus = ~uint64_t{0};

// A vCPU asleep in hlt runs no guest code before it serves its requests
// (pending.cpp looks at them first), so it is neither woken nor waited
// for: the work is merged into what it does on waking (a full flush; a
// refresh of any L4: every root recopied; a release of any: every cached
// root emptied). The post comes
// before the second look at `idle`: a vCPU that woke in between sees it.
bool defer_if_idle(Vcpu& t, uint32_t work) {
    if (!__atomic_load_n(&t.smp.idle, __ATOMIC_SEQ_CST))
        return false;
    uint32_t merged = (work & (kFlushAll | kFlushOne)) ? uint32_t{kFlushAll} : 0u;
    if (work & kRootRefresh)
        merged |= kRootRefresh;
    if (work & kL4Released) {
        merged |= kL4Released | kFlushAll;  // no root or PCID may stand for the old L4
        __atomic_store_n(&cpu_info_of(t.id)->cached_roots_await_drop, 1, __ATOMIC_SEQ_CST);
    }
    __atomic_fetch_or(&t.smp.deferred, merged, __ATOMIC_SEQ_CST);
    post(t, kPendingRemote);
    return __atomic_load_n(&t.smp.idle, __ATOMIC_SEQ_CST);
}

bool all_served(uint64_t targets) {
    for (uint32_t id = 0; id < domain().boot.nr_vcpus; ++id) {
        if (!((targets >> id) & 1))
            continue;
        const RemoteRequest& q = vcpu(id).smp.request;
        if (__atomic_load_n(&q.served_seq, __ATOMIC_SEQ_CST) != q.posted_seq)
            return false;
    }
    return true;
}

// A target that has not served its request by now may never have seen the
// IPI (interrupts do get lost on nested hosts) and may be running guest
// code that waits for us: kick it again.
constexpr uint64_t kRekickCycles = 20'000'000;

[[gnu::noinline]] void kick_unserved(uint64_t targets) {
    for (uint32_t id = 0; id < domain().boot.nr_vcpus; ++id) {
        Vcpu& t = vcpu(id);
        if (((targets >> id) & 1) &&
            __atomic_load_n(&t.smp.request.served_seq, __ATOMIC_SEQ_CST) != t.smp.request.posted_seq) {
            current().counters->ipis_resent++;
            post_and_kick(t, kPendingRemote);
        }
    }
}

[[gnu::noinline]] void report_slow_targets(uint32_t work, uint64_t targets, uint64_t cycles) {
    for (uint32_t id = 0; id < domain().boot.nr_vcpus; ++id) {
        const Vcpu& t = vcpu(id);
        if (!((targets >> id) & 1) ||
            __atomic_load_n(&t.smp.request.served_seq, __ATOMIC_SEQ_CST) == t.smp.request.posted_seq)
            continue;
        log(LogLevel::Warn, "request %#x to vCPU %u unserved after %lu cycles (pending %#x, idle %d, up %d)", work, id,
            cycles, __atomic_load_n(&t.pending, __ATOMIC_RELAXED), t.smp.idle, t.smp.up);
    }
}

void serve_deferred(Vcpu& v, xpti::Engine& e) {
    const uint32_t work = __atomic_exchange_n(&v.smp.deferred, 0, __ATOMIC_SEQ_CST);
    if (work == 0)
        return;
    if (work & kL4Released) {
        e.drop_cached_roots();  // their copies may point to tables that are guest data by now
        __atomic_store_n(&v.cpu_info->cached_roots_await_drop, 0, __ATOMIC_SEQ_CST);
    }
    if ((work & kRootRefresh) && domain().boot.test_hook != abi::TestHook::DropRootRefresh)
        e.refresh_all_roots();
    if (work & kFlushAll)
        e.flush_all(abi::FlushReason::GuestFlushRequest);
    v.counters->remote_deferred_served++;
}

void send(uint32_t work, abi::FlushReason reason, uint64_t vcpus, uint64_t va, uint64_t l4_pa) {
    Vcpu& self = current();
    uint64_t targets = 0;
    for (uint32_t id = 0; id < domain().boot.nr_vcpus; ++id)
        if (id != self.id && ((vcpus >> id) & 1) && __atomic_load_n(&vcpu(id).smp.started, __ATOMIC_ACQUIRE))
            targets |= uint64_t{1} << id;
    if (targets == 0)
        return;
    if (!smp::holds_domain_lock(self))
        panic("remote request (work %#x) without the domain lock", work);
    const uint64_t start = cpu::rdtsc();
    for (uint32_t id = 0; id < domain().boot.nr_vcpus; ++id) {
        if (!((targets >> id) & 1))
            continue;
        Vcpu& t = vcpu(id);
        if (defer_if_idle(t, work)) {
            targets &= ~(uint64_t{1} << id);
            self.counters->remote_requests_deferred++;
            continue;
        }
        RemoteRequest& q = t.smp.request;
        q.work = work;
        q.reason = static_cast<uint32_t>(reason);
        q.va = va;
        q.l4 = l4_pa;
        __atomic_store_n(&q.posted_seq, q.posted_seq + 1, __ATOMIC_RELEASE);
        self.counters->remote_requests_sent++;
        if (work & kRootRefresh)
            self.counters->root_refreshes_sent++;
        post_and_kick(t, kPendingRemote);
    }
    if (targets == 0)
        return;
    uint64_t next_kick = start + kRekickCycles;
    smp::wait_until(
        self,
        [&] {
            if (all_served(targets))
                return true;
            if (cpu::rdtsc() > next_kick) {
                kick_unserved(targets);
                next_kick = cpu::rdtsc() + kRekickCycles;
            }
            return false;
        },
        [&](uint64_t cycles) { report_slow_targets(work, targets, cycles); });
    self.counters->remote_waits++;
    self.counters->remote_wait_cycles += cpu::rdtsc() - start;
}

}  // namespace

void flush_all(abi::FlushReason reason, uint64_t vcpus) { send(kFlushAll, reason, vcpus, 0, 0); }
void flush_one(abi::FlushReason reason, uint64_t vcpus, uint64_t va) { send(kFlushOne, reason, vcpus, va, 0); }
void root_refresh(uint64_t l4_pa) { send(kRootRefresh, abi::FlushReason::GuestFlushRequest, kAllVcpus, 0, l4_pa); }
void l4_released(uint64_t l4_pa) { send(kL4Released, abi::FlushReason::GuestFlushRequest, kAllVcpus, 0, l4_pa); }

void serve(Vcpu& v) {
    const bool ready = __atomic_load_n(&v.smp.engine_ready, __ATOMIC_ACQUIRE);  // else its first exit copies afresh
    if (__atomic_load_n(&v.smp.deferred, __ATOMIC_RELAXED)) {
        if (ready) {
            serve_deferred(v, xpti::engine(v));
        } else {  // no roots yet: nothing to drop
            __atomic_store_n(&v.smp.deferred, 0, __ATOMIC_SEQ_CST);
            __atomic_store_n(&v.cpu_info->cached_roots_await_drop, 0, __ATOMIC_SEQ_CST);
        }
    }
    RemoteRequest& q = v.smp.request;
    const uint64_t posted = __atomic_load_n(&q.posted_seq, __ATOMIC_ACQUIRE);
    if (posted == q.served_seq)
        return;
    if (ready) {
        xpti::Engine& e = xpti::engine(v);
        const auto reason = static_cast<abi::FlushReason>(q.reason);
        if (q.work & kL4Released)
            e.l4_released(q.l4);
        if (q.work & kRootRefresh) {
            v.counters->root_refreshes_received++;
            // TestHook::DropRootRefresh: the flag lost on the way, as in the
            // bug Xen's review found; the race subtest must then fail.
            if (domain().boot.test_hook != abi::TestHook::DropRootRefresh)
                e.l4_refresh(q.l4);
        }
        if (q.work & kFlushAll)
            e.flush_all(reason);
        else if (q.work & kFlushOne)
            e.flush_one(reason, q.va);
    }
    v.counters->remote_requests_served++;
    __atomic_store_n(&q.served_seq, posted, __ATOMIC_RELEASE);
}

}  // namespace monitor::remote
