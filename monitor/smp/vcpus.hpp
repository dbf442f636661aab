// Which vCPUs run guest code, as Xen's VCPUOP_initialise / up / down /
// is_up: every vCPU but 0 starts down and uninitialised; initialise gives
// it a guest context (once), up lets it run, down stops it before it runs
// guest code again. A down vCPU sleeps in the host (hlt in KVM) and still
// serves remote requests: its TLB and XPTI roots keep what it ran on, and
// up resumes it where it stopped.
#pragma once

#include <stdint.h>
#include <xen/vcpu.h>

#include "monitor/state.hpp"

namespace monitor::smp {

// vCPU 0 at boot: initialised and up by the domain builder.
void boot_vcpu_is_up(Vcpu& v);

int64_t initialise(Vcpu& target, uint64_t context_va);
int64_t up(Vcpu& target);
int64_t down(Vcpu& target);
[[nodiscard]] int64_t is_up(const Vcpu& target);

// Sleeps until the vCPU is up, serving remote requests; a vCPU that was
// running is offline in its run state meanwhile.
void park_while_down(Vcpu& v);

}  // namespace monitor::smp
