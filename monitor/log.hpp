// Monitor -> host reporting: log lines routed to the host's "monitor"
// spdlog logger, and panic, which reports registers and stops this vCPU.
#pragma once

#include "guest-abi/host_channel.hpp"
#include "monitor/arch/x86_64/regs.hpp"

namespace monitor {

enum class LogLevel : uint32_t { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4 };

abi::HostChannel& channel();  // this vCPU's host channel

[[gnu::format(printf, 2, 3)]] void log(LogLevel level, const char* fmt, ...);
// Says how many lines the rate limit dropped since the last report, if any
// (log does before its next line; shutdown before the run ends).
void report_suppressed_logs();
[[noreturn, gnu::format(printf, 2, 3)]] void panic_regs(const GuestRegs* regs, const char* fmt, ...);
#define panic(...) ::monitor::panic_regs(nullptr, __VA_ARGS__)

}  // namespace monitor
