#include "monitor/time/clock.hpp"

#include <xen/xen.h>

#include "monitor/arch/x86_64/cpu.hpp"

namespace monitor::time {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;

__extension__ typedef unsigned __int128 Product;  // 64 x 64 -> 128 bits: one mul

uint64_t mul_shift32(uint64_t a, uint64_t b) { return static_cast<uint64_t>((static_cast<Product>(a) * b) >> 32); }

struct Scale {
    uint64_t tsc0 = 0;  // system time 0
    uint32_t mul = 0;   // ns = ((tsc delta << shift or >> -shift) * mul) >> 32
    int8_t shift = 0;
    uint64_t tsc_per_ns = 0;  // 32.32 fixed point, for deadlines
};
Scale scale;

// Xen's set_time_scale: shift the frequency into (1e9, 2e9] ticks per
// second, then mul = 1e9 / that, as a 0.32 fraction.
void set_scale(uint64_t ticks_per_second) {
    uint64_t tps = ticks_per_second;
    int shift = 0;
    while (tps > 2 * kNsPerSecond) {
        tps >>= 1;
        --shift;
    }
    while (tps <= kNsPerSecond) {
        tps <<= 1;
        ++shift;
    }
    scale.mul = static_cast<uint32_t>((kNsPerSecond << 32) / tps);
    scale.shift = static_cast<int8_t>(shift);
    scale.tsc_per_ns = (ticks_per_second << 32) / kNsPerSecond;
}

uint64_t scale_delta(uint64_t delta) {
    delta = scale.shift < 0 ? delta >> -scale.shift : delta << scale.shift;
    return mul_shift32(delta, scale.mul);
}

}  // namespace

void init(const abi::BootInfo& boot) {
    scale.tsc0 = cpu::rdtsc();
    set_scale(boot.tsc_khz * 1000);
    // Wall clock at system time 0, from the host's (wall clock, TSC) pair.
    const uint64_t wall0 = boot.wallclock_tsc <= scale.tsc0
                               ? boot.wallclock_ns + scale_delta(scale.tsc0 - boot.wallclock_tsc)
                               : boot.wallclock_ns - scale_delta(boot.wallclock_tsc - scale.tsc0);
    shared_info_t& s = *domain().shared_info;
    __atomic_fetch_add(&s.wc_version, 1, __ATOMIC_SEQ_CST);
    s.wc_sec = static_cast<uint32_t>(wall0 / kNsPerSecond);
    s.wc_sec_hi = static_cast<uint32_t>((wall0 / kNsPerSecond) >> 32);
    s.wc_nsec = static_cast<uint32_t>(wall0 % kNsPerSecond);
    __atomic_fetch_add(&s.wc_version, 1, __ATOMIC_SEQ_CST);
}

uint64_t ns_at(uint64_t tsc) { return tsc > scale.tsc0 ? scale_delta(tsc - scale.tsc0) : 0; }

uint64_t now_ns() { return ns_at(cpu::rdtsc()); }

uint64_t now_ns(const Vcpu& v) {
    if (v.time.published_tsc == 0)
        return now_ns();
    return ns_at(v.time.published_tsc) + scale_delta(cpu::rdtsc() - v.time.published_tsc);
}

// Rounded up: an interrupt before the deadline would only be re-armed.
uint64_t tsc_at(uint64_t ns) { return scale.tsc0 + mul_shift32(ns, scale.tsc_per_ns) + 1; }

void publish(Vcpu& v) {
    vcpu_time_info_t& t = v.events.info->time;
    const uint64_t tsc = cpu::rdtsc();
    __atomic_store_n(&t.version, t.version + 1, __ATOMIC_SEQ_CST);  // odd: changing
    t.tsc_timestamp = tsc;
    t.system_time = ns_at(tsc);
    v.time.published_tsc = tsc;
    t.tsc_to_system_mul = scale.mul;
    t.tsc_shift = scale.shift;
    t.flags = 0;
    __atomic_store_n(&t.version, t.version + 1, __ATOMIC_SEQ_CST);
}

}  // namespace monitor::time
