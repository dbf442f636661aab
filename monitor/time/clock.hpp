// Xen's time for the guest: system time (ns since the monitor started, from
// the TSC), each vCPU's pvclock (vcpu_time_info: TSC stamp, system time,
// scale, version protocol) and the shared_info wall clock. The host hands
// over the TSC frequency and one (wall clock, TSC) pair read together; KVM
// gives every vCPU the host's TSC (offset 0), which runs at a constant rate.
#pragma once

#include <stdint.h>

#include "guest-abi/boot_info.hpp"
#include "monitor/state.hpp"

namespace monitor::time {

// vCPU 0 at boot, before any guest code: the scale and the wall clock.
void init(const abi::BootInfo& boot);

// Xen's system time now / at a given TSC value, in ns.
[[nodiscard]] uint64_t now_ns();
[[nodiscard]] uint64_t ns_at(uint64_t tsc);
// v's system time as the guest computes it from its vcpu_time_info
// (system_time + scaled TSC delta since tsc_timestamp). It can trail
// now_ns() by a few ns of rounding; timers compare deadlines against it, so
// that a deadline the monitor sees as passed has passed for the guest too
// (else a guest that wakes "early" and blocks again would sleep forever).
[[nodiscard]] uint64_t now_ns(const Vcpu& v);
// The TSC value at system time `ns`.
[[nodiscard]] uint64_t tsc_at(uint64_t ns);

// Writes v's vcpu_time_info (in shared_info or where the guest moved its
// vcpu_info) with the version protocol: odd while it changes.
void publish(Vcpu& v);

}  // namespace monitor::time
