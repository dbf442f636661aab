// Names for guest-physical and monitor-virtual addresses, so that an
// isolation violation says what leaked ("vCPU 1's stack and CpuInfo",
// "the frame table") rather than only a number.
#pragma once

#include <cstdint>
#include <string>

namespace pvvmm::isolation {

// What lives at guest-physical `gpa` (layout.hpp's map).
[[nodiscard]] std::string describe_gpa(uint64_t gpa);

// What the monitor's full view has at `va` in L4 slots 256..271.
[[nodiscard]] std::string describe_monitor_va(uint64_t va);

}  // namespace pvvmm::isolation
