// Privileged instructions a PV guest kernel executes although it runs in
// ring 3, emulated on their #GP as Xen's pv/emul-priv-op.c does:
// - mov from/to CR0 (only TS may change), CR2, CR3 (a new base pointer),
//   CR4 (the guest's view: Xen's visible bits of the real CR4 plus the
//   guest-controllable ones it set); clts; wbinvd (ignored);
// - rdmsr/wrmsr: segment bases, APIC base, EFER (writes of the same
//   value), PAT (Xen's), MISC_ENABLE; other reads give 0 while the guest
//   has no #GP handler, else #GP; other writes #GP;
// - cli/sti and port I/O when the virtual IOPL (PHYSDEVOP_set_iopl) allows
//   them: cli/sti do nothing (Xen deliberately does not mask events, as a
//   later popf could not undo it), port reads see all ones and writes are
//   dropped (no devices), except the PCI CONFIG_ADDRESS latch at 0xcf8.
// Anything else, or the same from user mode, stays a #GP for the guest.
#pragma once

#include "monitor/arch/x86_64/regs.hpp"

namespace monitor {

// True if it emulated the instruction at rip (regs updated, rip advanced).
bool emulate_privileged(GuestRegs& regs);

// The guest's CR4 view for a value it writes (Xen's pv_fixup_guest_cr4).
uint64_t guest_cr4_view(uint64_t requested);

}  // namespace monitor
