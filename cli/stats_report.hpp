// `pvvmm run --stats[=text|json] [--stats-file FILE]`: the monitor's
// per-vCPU counters, as a table for people or as JSON for scripts. Both are
// generated from abi::kCounterTable (guest-abi/counters.hpp); the JSON
// schema ("pvvmm-stats", version 1) is documented in README.md.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "vmm/machine.hpp"
#include "vmm/result.hpp"

namespace pvvmm::cli {

// Omits rows that are 0, except those the table marks (guest entries and
// exits, the XPTI state line, the CR3 writes total).
[[nodiscard]] std::string stats_text(const RunResult& result);

// Every counter of every vCPU, zeros included.
[[nodiscard]] std::string stats_json(const RunResult& result);

// Where the report goes: stderr, or --stats-file, which is opened before
// the guest runs so that an unwritable path fails at once, not after a
// long run.
class StatsOutput {
public:
    // Empty path: stderr.
    [[nodiscard]] static Result<StatsOutput> open(const std::string& path);
    [[nodiscard]] Result<void> write(const std::string& report);

private:
    [[nodiscard]] Error failed(int error) const;

    std::string path_;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_{nullptr, std::fclose};
};

}  // namespace pvvmm::cli
