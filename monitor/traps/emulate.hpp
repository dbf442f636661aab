// Emulation of what a PV guest kernel may do although it runs in ring 3:
// the forced-emulation CPUID (privileged instructions: priv_op.hpp),
// `int N` decoded after a host-quirk
// #UD, and reads of the M2P in slot 256 on hosts where ring 3 cannot.
#pragma once

#include "monitor/arch/x86_64/regs.hpp"

namespace monitor {

// Each returns true if it handled the fault (regs updated, rip advanced).
bool emulate_forced_cpuid(GuestRegs& regs);
bool emulate_soft_interrupt_after_ud(GuestRegs& regs);
// The vector comes from the instruction, not the error code: QEMU's CPUs
// report vector * 16 + 2 where hardware reports vector * 8 + 2.
bool emulate_soft_interrupt_after_gp(GuestRegs& regs);
bool emulate_m2p_read(GuestRegs& regs, uint64_t cr2);

// Shared with priv_op.cpp: reads instruction bytes at rip; the register
// that ModRM/REX index `index` (0..15) names; CPUID as the PV guest sees it.
[[nodiscard]] bool fetch_insn(const GuestRegs& regs, uint8_t* buf, unsigned n);
uint64_t* gpr(GuestRegs& regs, unsigned index);
void guest_cpuid(GuestRegs& regs);

// Xen's rule for a guest `int N`: deliver N if the guest registered it with
// DPL 3, else #GP with error (N << 3) | 2. rip points at the instruction.
void deliver_soft_interrupt(GuestRegs& regs, unsigned vector, unsigned insn_len);

}  // namespace monitor
