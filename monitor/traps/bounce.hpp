// Delivery of exceptions, system calls and events to the guest kernel as
// Xen bounce frames on its kernel stack: { RCX, R11, [ERRCODE,] RIP, CS,
// RFLAGS, RSP, SS }, CS carrying the saved upcall mask in bits 32-39.
#pragma once

#include <stdint.h>

#include "monitor/arch/x86_64/regs.hpp"
#include "monitor/log.hpp"
#include "monitor/state.hpp"

namespace monitor {

struct Bounce {
    uint64_t handler;
    bool has_error_code;
    uint32_t error_code;
    bool disables_events;
};

// Rewrites regs so that the exit path lands in the guest handler. Returns
// false (after crashing the domain) if the frame cannot be written.
bool bounce_to_guest(GuestRegs& regs, const Bounce& b);

// Exception `vector` raised by the guest: to its trap table, or crash it.
void deliver_exception(GuestRegs& regs, unsigned vector, bool has_error_code, uint32_t error_code);

// Kernel <-> user switch: L4, GS base, mode flag.
void toggle_guest_mode(Vcpu& v);

// Logs the guest's registers and the top of its stack at `level`.
void log_guest_context(LogLevel level, const GuestRegs& regs);

// Ends the domain with SHUTDOWN_crash after logging why.
[[noreturn, gnu::format(printf, 2, 3)]] void crash_domain(const GuestRegs& regs, const char* fmt, ...);

}  // namespace monitor
