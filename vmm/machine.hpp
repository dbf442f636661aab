// A running pvvmm domain: the KVM VM, guest memory, the monitor, the domain
// and one host thread per vCPU. run_domain() returns how the run ended.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "guest-abi/boot_info.hpp"
#include "guest-abi/counters.hpp"
#include "guest-abi/xpti_options.hpp"
#include "vmm/domain/domain_layout.hpp"
#include "vmm/result.hpp"

namespace pvvmm {

enum class Outcome {
    Poweroff,      // guest SCHEDOP_shutdown(poweroff)
    Crash,         // guest SCHEDOP_shutdown(crash) or a fault it could not handle
    Reboot,        // guest SCHEDOP_shutdown(reboot)
    MonitorPanic,  // the monitor panicked, triple-faulted or KVM could not run it
    Timeout,       // --timeout expired
    Stopped,       // the user pressed the console escape (Ctrl-]) on the terminal
};

struct RunOptions {
    uint32_t nr_vcpus = 1;
    abi::XptiMode xpti = abi::XptiMode::Off;
    uint32_t xpti_opts = abi::kXptiOptsDefault;    // abi::XptiOpt bits (--xpti-opt)
    abi::PcidChoice pcid = abi::PcidChoice::Auto;  // --pcid
    bool global_pages = true;                      // --global-pages (CR4.PGE without XPTI)
    uint8_t log_level = 2;                         // spdlog::level::info
    std::chrono::milliseconds timeout{0};          // 0: none
    const char* kvm_path = "/dev/kvm";
    // Diagnostic: single-step every vCPU and count the steps (on hosts whose
    // single-step steps only ring 0, that counts ring-0 instructions).
    bool count_single_steps = false;
    // With count_single_steps: also count the steps per instruction address.
    bool profile_single_steps = false;
    abi::TestHook test_hook = abi::TestHook::None;
    uint32_t audit_every = 0;  // PV MMU consistency audit every N hypercalls and at shutdown
    std::string guest_name;    // for the start-up log line
    std::string xpti_choice;   // as the user gave it (on/off/auto)
    // XPTI: walk every restricted root every N ms and at the end (0: never);
    // a mapping outside the allowed set ends the run as a monitor panic.
    uint32_t check_isolation_ms = 0;
};

struct VcpuReport {
    abi::Counters counters{};
    uint64_t single_steps = 0;  // KVM_EXIT_DEBUG exits with --count-single-steps
    // With RunOptions::profile_single_steps: steps per guest RIP.
    std::unordered_map<uint64_t, uint64_t> steps_by_address;
};

struct RunResult {
    Outcome outcome = Outcome::MonitorPanic;
    std::string detail;  // one sentence for the user
    uint32_t quirks = 0;
    uint64_t bare_round_trip_median = 0;  // TSC cycles, from the monitor's start-up probe
    uint64_t bare_round_trip_min = 0;
    std::vector<VcpuReport> vcpus;
};

[[nodiscard]] Result<RunResult> run_domain(std::span<const uint8_t> guest_elf, const domain::DomainConfig& config,
                                           const RunOptions& options);

[[nodiscard]] const char* outcome_name(Outcome o);

}  // namespace pvvmm
