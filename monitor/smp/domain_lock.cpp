#include "monitor/smp/domain_lock.hpp"

#include "monitor/log.hpp"
#include "monitor/smp/wait.hpp"

namespace monitor::smp {

namespace {

constexpr uint32_t kFree = 0;
uint32_t holder = kFree;  // the holding vCPU's id + 1

bool try_lock(uint32_t me) {
    uint32_t expected = kFree;
    return __atomic_compare_exchange_n(&holder, &expected, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

}  // namespace

void lock_domain(Vcpu& v) {
    const uint32_t me = v.id + 1;
    if (__atomic_load_n(&holder, __ATOMIC_RELAXED) == me)
        panic("domain lock taken twice by vCPU %u", v.id);
    if (try_lock(me))
        return;
    v.counters->domain_lock_waits++;
    // The holder may be waiting for us (a remote request): wait_until serves.
    wait_until(
        v, [&] { return try_lock(me); },
        [&](uint64_t cycles) {
            log(LogLevel::Warn, "waiting %lu cycles for the domain lock, held by vCPU %d", cycles,
                static_cast<int>(__atomic_load_n(&holder, __ATOMIC_RELAXED)) - 1);
        });
}

void unlock_domain(Vcpu& v) {
    if (__atomic_load_n(&holder, __ATOMIC_RELAXED) != v.id + 1)
        panic("vCPU %u releases a domain lock it does not hold", v.id);
    __atomic_store_n(&holder, kFree, __ATOMIC_RELEASE);
}

bool holds_domain_lock(const Vcpu& v) { return __atomic_load_n(&holder, __ATOMIC_RELAXED) == v.id + 1; }

}  // namespace monitor::smp
