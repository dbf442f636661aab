// `pvvmm run --stats`: the monitor's per-vCPU counters as a table.
#pragma once

#include <cstdio>

#include "vmm/machine.hpp"

namespace pvvmm::cli {

void print_stats(std::FILE* out, const RunResult& result);

}  // namespace pvvmm::cli
