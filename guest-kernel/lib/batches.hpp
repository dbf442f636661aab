// Benchmark batches, shared by every guest that measures (the bench guest,
// kernel.elf's workloads and its user programs): N operations in up to
// kMaxBatches batches, each timed with the TSC, the median reported.
// Header-only and dependency-free: user programs link no guest library.
#pragma once

#include <stdint.h>

namespace batches {

inline constexpr unsigned kMaxBatches = 9;

struct Split {
    unsigned count;
    long per_batch;
};

// N / 9 operations per batch; fewer than 9 operations: one per batch.
inline Split split(long n) {
    Split s{kMaxBatches, n / kMaxBatches};
    if (s.per_batch == 0)
        s = Split{static_cast<unsigned>(n > 0 ? n : 1), 1};
    return s;
}

// The TSC, after earlier instructions finished (lfence).
inline uint64_t rdtsc() {
    uint32_t low, high;
    asm volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return (uint64_t{high} << 32) | low;
}

// Sorts `values` in place (insertion sort: a handful of values).
inline void sort(uint64_t* values, unsigned count) {
    for (unsigned i = 1; i < count; ++i)
        for (unsigned j = i; j > 0 && values[j - 1] > values[j]; --j) {
            const uint64_t t = values[j];
            values[j] = values[j - 1];
            values[j - 1] = t;
        }
}

// Sorts `values` in place and returns the middle one (0 for none).
inline uint64_t median(uint64_t* values, unsigned count) {
    sort(values, count);
    return count == 0 ? 0 : values[count / 2];
}

}  // namespace batches
