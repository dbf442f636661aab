// Micro-benchmark guest: the cost of a null hypercall (xen_version
// XENVER_version) through the hypercall page, in TSC cycles. The monitor
// measures a bare ring 3 -> ring 0 -> ring 3 round trip in the same run
// (its start-up probe), so the two numbers can be put side by side.
//
// Command line: hypercalls=N (default 2000; 0 runs none, for baselines).
#include "../lib/console.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/runtime.hpp"

namespace {

constexpr unsigned kBatches = 9;

uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

unsigned parse_unsigned(const char* s, unsigned fallback) {
    if (*s < '0' || *s > '9')
        return fallback;
    unsigned v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + static_cast<unsigned>(*s++ - '0');
    return v;
}

void sort(uint64_t* v, unsigned n) {
    for (unsigned i = 1; i < n; ++i)
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; --j) {
            const uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

}  // namespace

unsigned guest_main(const start_info&) {
    char value[16];
    const unsigned total =
        runtime::command_line_option("hypercalls", value, sizeof value) ? parse_unsigned(value, 2000) : 2000;
    const unsigned per_batch = total / kBatches;
    if (per_batch == 0) {
        print("bench: hypercalls=%u: no hypercalls measured\n", total);
        return SHUTDOWN_poweroff;
    }
    uint64_t cycles[kBatches];
    long checksum = 0;
    for (unsigned b = 0; b < kBatches; ++b) {
        const uint64_t start = rdtsc();
        for (unsigned i = 0; i < per_batch; ++i)
            checksum += hv::xen_version(XENVER_version, nullptr);
        cycles[b] = (rdtsc() - start) / per_batch;
    }
    sort(cycles, kBatches);
    print(
        "bench: null hypercall (xen_version) round trip: median %lu cycles, min %lu, max %lu "
        "(%u batches of %u)\n",
        cycles[kBatches / 2], cycles[0], cycles[kBatches - 1], kBatches, per_batch);
    print("bench: checksum %ld\n", checksum);
    return SHUTDOWN_poweroff;
}
