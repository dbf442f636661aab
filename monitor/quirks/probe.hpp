// Start-up probe of the host KVM's behaviour (kvm-host.md): runs three
// one-instruction ring-3 experiments on vCPU 0 before the guest starts and
// records the answers as HostQuirk bits. Every workaround in the monitor
// asks has_quirk(), nothing else decides.
#pragma once

#include <stdint.h>

#include "monitor/arch/x86_64/regs.hpp"

namespace monitor::quirks {

// Starts the probe; never returns: each experiment comes back through
// trap_entry -> on_probe_trap, and the last one calls boot_continue().
[[noreturn]] void start_probe(void (*boot_continue)());

// True while a probe is running (trap_entry asks first, on every entry).
extern bool probe_running;
inline bool probe_active() { return probe_running; }
[[noreturn]] void on_probe_trap(GuestRegs& regs);

// One line naming every quirk found, for the log.
const char* describe(uint32_t quirks);

}  // namespace monitor::quirks
