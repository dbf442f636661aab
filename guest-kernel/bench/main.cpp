// Micro-benchmark guest: the cost of a null hypercall (xen_version
// XENVER_version) through the hypercall page, in TSC cycles. The monitor
// measures a bare ring 3 -> ring 0 -> ring 3 round trip in the same run
// (its start-up probe), so the two numbers can be put side by side.
//
// Command line: hypercalls=N (default 2000; 0 runs none, for baselines).
#include "../lib/batches.hpp"
#include "../lib/console.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/runtime.hpp"

namespace {

constexpr unsigned kBatches = batches::kMaxBatches;

using batches::rdtsc;

}  // namespace

unsigned guest_main(const start_info&) {
    const auto total = static_cast<unsigned>(runtime::command_line_number("hypercalls", 2000));
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
    batches::sort(cycles, kBatches);
    print(
        "bench: null hypercall (xen_version) round trip: median %lu cycles, min %lu, max %lu "
        "(%u batches of %u)\n",
        cycles[kBatches / 2], cycles[0], cycles[kBatches - 1], kBatches, per_batch);
    print("bench: checksum %ld\n", checksum);
    return SHUTDOWN_poweroff;
}
