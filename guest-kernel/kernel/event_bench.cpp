#include "event_bench.hpp"

#include <stdint.h>

#include "../lib/batches.hpp"
#include "../lib/console.hpp"
#include "../lib/events.hpp"
#include "timer.hpp"

namespace event_bench {
namespace {

using batches::median;
using batches::rdtsc;
using batches::split;
constexpr unsigned max_batches = batches::kMaxBatches;
constexpr uint64_t timer_delay_ns = 1'000'000;  // beyond timer::block's 200 us: it blocks

volatile uint64_t ipis_seen = 0;

void on_ipi(evtchn_port_t, void*) { ipis_seen = ipis_seen + 1; }

// Lateness of the first ops (the median of those is reported).
constexpr unsigned max_samples = 2048;
uint64_t lateness[max_samples];

}  // namespace

bool event(long n) {
    evtchn_port_t port = 0;
    if (long rc = events::bind_ipi(0, &port); rc != 0) {
        print("kernel: event: EVTCHNOP_bind_ipi returned %ld\n", rc);
        return false;
    }
    events::set_handler(port, on_ipi);
    const batches::Split b = split(n);
    uint64_t cycles[max_batches];
    long late = 0;  // upcalls not there when the send returned
    ipis_seen = 0;
    events::enable();
    for (unsigned k = 0; k < b.count; ++k) {
        const uint64_t start = rdtsc();
        for (long i = 0; i < b.per_batch; ++i) {
            const uint64_t before = ipis_seen;
            events::send(port);
            late += ipis_seen != before + 1;
        }
        cycles[k] = rdtsc() - start;
    }
    events::disable();
    const uint64_t seen = ipis_seen;
    events::set_handler(port, nullptr);
    events::close(port);
    const long ops = b.count * b.per_batch;
    print("workload event: %ld ops, %lu cycles/op (median of %u batches), checksum %#lx\n", ops,
          median(cycles, b.count) / b.per_batch, b.count, seen);
    if (late != 0 || seen != static_cast<uint64_t>(ops)) {
        print("kernel: event: %ld of %ld upcalls were not delivered on the way out of EVTCHNOP_send (%lu seen)\n", late,
              ops, seen);
        return false;
    }
    return true;
}

bool timer(long n) {
    const batches::Split b = split(n);
    uint64_t cycles[max_batches];
    unsigned samples = 0;
    uint64_t worst = 0;
    long early = 0;
    const uint64_t events_before = timer::events();
    for (unsigned k = 0; k < b.count; ++k) {
        const uint64_t start = rdtsc();
        for (long i = 0; i < b.per_batch; ++i) {
            const uint64_t seen = timer::events();
            const uint64_t deadline = timer::now() + timer_delay_ns;
            timer::arm(deadline);
            while (timer::events() == seen)
                timer::block();  // events on; the upcall comes on its way out
            events::disable();
            const uint64_t fired = timer::last_event_ns();
            if (fired < deadline) {
                ++early;
                continue;
            }
            const uint64_t late = fired - deadline;
            worst = late > worst ? late : worst;
            if (samples < max_samples)
                lateness[samples++] = late;
        }
        cycles[k] = rdtsc() - start;
    }
    const long ops = b.count * b.per_batch;
    print(
        "workload timer: %ld ops, %lu cycles/op (median of %u batches), lateness median %lu ns, max %lu ns"
        " (deadline %lu us ahead), checksum %#lx\n",
        ops, median(cycles, b.count) / b.per_batch, b.count, median(lateness, samples), worst, timer_delay_ns / 1000,
        timer::events() - events_before);
    if (early != 0) {
        print("kernel: timer: %ld of %ld VIRQ_TIMER upcalls came before the deadline\n", early, ops);
        return false;
    }
    return true;
}

}  // namespace event_bench
