// What the monitor left in a vCPU's per-CPU area, for a triple fault: KVM
// resets the registers on KVM_EXIT_SHUTDOWN, but memory keeps the last guest
// frame, the XPTI CR3 state and any frame the CPU pushed on the IST stacks.
#pragma once

#include <stdint.h>

#include <string>

#include "vmm/memory.hpp"

namespace pvvmm {

[[nodiscard]] std::string describe_monitor_remains(const GuestMemory& mem, uint32_t cpu);
// One vCPU's last guest entry ("no guest entry yet" if it never entered).
[[nodiscard]] std::string describe_last_entry(const GuestMemory& mem, uint32_t cpu);
// The other vCPUs' last guest entries (they may still run: a snapshot), one line each.
[[nodiscard]] std::string describe_other_vcpus(const GuestMemory& mem, uint32_t cpu);

}  // namespace pvvmm
