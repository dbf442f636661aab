// Parsing and validation of `pvvmm run` option values; each error is one
// sentence naming the option and what it accepts.
#pragma once

#include <cstdint>
#include <string>

#include "guest-abi/boot_info.hpp"
#include "vmm/result.hpp"

namespace pvvmm::cli {

enum class XptiChoice { Off, On, Auto };

// "64M", "64MiB", "1G", "65536K" or a plain number of MiB.
[[nodiscard]] Result<uint64_t> parse_memory(const std::string& text);
[[nodiscard]] Result<XptiChoice> parse_xpti(const std::string& text);
// --pcid on|off|auto.
[[nodiscard]] Result<abi::PcidChoice> parse_pcid(const std::string& text);
// --global-pages on|off.
[[nodiscard]] Result<bool> parse_on_off(const char* option, const std::string& text);
// --xpti-opt: comma-separated, applied left to right: a preset (naive, xen,
// all) sets the whole list, a name adds that optimisation, no-<name> drops
// it. Returns abi::XptiOpt bits.
[[nodiscard]] Result<uint32_t> parse_xpti_opts(const std::string& text);
[[nodiscard]] std::string describe_xpti_opts(uint32_t opts);

// --stats[=text|json]: a table for people, or the "pvvmm-stats" JSON document.
enum class StatsFormat { Text, Json };
[[nodiscard]] Result<StatsFormat> parse_stats_format(const std::string& text);

// spdlog level names: trace debug info warn error critical off.
[[nodiscard]] Result<int> parse_log_level(const std::string& text);
// Seconds, fractional allowed; 0 means no limit.
[[nodiscard]] Result<double> parse_timeout(const std::string& text);

// auto: on unless the CPU reports it is not vulnerable to Meltdown
// (IA32_ARCH_CAPABILITIES.RDCL_NO, read from /proc/cpuinfo's bug list).
[[nodiscard]] abi::XptiMode resolve_xpti(XptiChoice choice);

}  // namespace pvvmm::cli
