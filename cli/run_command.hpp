// `pvvmm run [options] [kernel]`
#pragma once

#include <CLI/CLI.hpp>

namespace pvvmm::cli {

struct RunArgs {
    std::string guest;  // empty: the bundled demo guest
    std::string xpti = "auto";
    std::string pcid = "auto";
    std::string global_pages = "on";
    std::string xpti_opt = "all";
    std::string memory = "64M";
    std::string cmdline;
    std::string initrd;  // --initrd FILE; empty: none
    std::string timeout = "60";
    std::string log_level = "info";
    std::string kvm_device = "/dev/kvm";
    unsigned vcpus = 1;
    std::string stats;       // --stats[=text|json]; empty: not given
    std::string stats_file;  // --stats-file: the report goes there instead of stderr
    bool count_single_steps = false;
    std::string profile_single_steps;  // file for the per-address step counts
    unsigned audit_every = 0;
    unsigned check_isolation_ms = 0;
    std::string test_hook = "none";
};

void add_run_command(CLI::App& app, RunArgs& args);
[[nodiscard]] int run_command(const RunArgs& args);

}  // namespace pvvmm::cli
