#include "pvclock.hpp"

#include "hypercall.hpp"
#include "shared_info.hpp"

namespace pvclock {
namespace {

uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t{hi} << 32) | lo;
}

// ((delta << shift or >> -shift) * mul) >> 32, the product 96 bits wide.
uint64_t scale(uint64_t delta, uint32_t mul, int8_t shift) {
    delta = shift < 0 ? delta >> -shift : delta << shift;
    uint64_t high, low;
    asm("mulq %3" : "=d"(high), "=a"(low) : "a"(delta), "rm"(uint64_t{mul}));
    return (high << 32) | (low >> 32);
}

}  // namespace

uint64_t system_time_ns() {
    volatile vcpu_time_info& t = xen_shared::this_vcpu()->time;
    for (;;) {
        const uint32_t version = t.version;
        asm volatile("" ::: "memory");
        const uint64_t ns = t.system_time + scale(rdtsc() - t.tsc_timestamp, t.tsc_to_system_mul, t.tsc_shift);
        asm volatile("" ::: "memory");
        if ((version & 1) == 0 && version == t.version)
            return ns;
    }
}

uint64_t wallclock_ns() {
    volatile shared_info& s = *xen_shared::page();
    for (;;) {
        const uint32_t version = s.wc_version;
        asm volatile("" ::: "memory");
        const uint64_t seconds = (uint64_t{s.wc_sec_hi} << 32) | s.wc_sec;
        const uint64_t base = seconds * 1'000'000'000 + s.wc_nsec;
        asm volatile("" ::: "memory");
        if ((version & 1) == 0 && version == s.wc_version)
            return base + system_time_ns();
    }
}

long set_timer(uint64_t deadline_ns) { return hv::call<__HYPERVISOR_set_timer_op>(deadline_ns); }

long block() { return hv::sched_op(SCHEDOP_block, nullptr); }

}  // namespace pvclock
