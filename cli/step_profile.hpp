// `pvvmm run --profile-single-steps FILE`: where the single-stepped
// instructions were, for scripts/ring0-profile.
#pragma once

#include <string>

#include "vmm/machine.hpp"
#include "vmm/result.hpp"

namespace pvvmm::cli {

// One line per instruction address, all vCPUs merged, in address order:
// "<hex address> <steps>", after a '#' header line.
[[nodiscard]] Result<void> write_step_profile(const std::string& path, const RunResult& result);

}  // namespace pvvmm::cli
