// How a vCPU waits for another inside the monitor (its answer to a remote
// request, the domain lock): it spins a little, as the other is usually
// running, then also gives its host CPU away between looks (an exit to the
// host, whose thread yields), so that on a host with fewer CPUs than vCPUs
// the one it waits for gets to run. It serves remote requests all along.
// (Halting until kicked instead lost too much on an overcommitted nested
// host: see the closing note of issue 12.)
#pragma once

#include <stdint.h>

#include "guest-abi/layout.hpp"
#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/smp/remote.hpp"
#include "monitor/state.hpp"

namespace monitor::smp {

inline constexpr uint64_t kSpinCycles = 20'000;            // then yield between looks
inline constexpr uint64_t kReportCycles = 10'000'000'000;  // a wait this long is logged (and again after as long)

// `done` may act (take the lock): it returns true once, and the wait is over.
// `report(cycles)` logs a wait that takes very long.
template <typename Done, typename Report>
void wait_until(Vcpu& v, Done done, Report report) {
    const uint64_t start = cpu::rdtsc();
    uint64_t next_report = start + kReportCycles;
    while (!done()) {
        remote::serve(v);
        const uint64_t now = cpu::rdtsc();
        if (now > next_report) {
            report(now - start);
            next_report = now + kReportCycles;
        }
        if (now - start < kSpinCycles) {
            asm volatile("pause");
        } else {
            v.counters->host_yields++;
            cpu::outl(layout::port::kYield, 0);
        }
    }
}

}  // namespace monitor::smp
