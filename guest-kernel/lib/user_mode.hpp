// Excursions into guest user mode (lib/user_mode.S): enter user mode at a
// given rip/rsp and come back when it issues `syscall` or faults.
#pragma once

#include <stdint.h>

#include "traps.hpp"

extern "C" {
// Returns the user's rax at its syscall, or kUserModeFaulted.
uint64_t user_mode_enter(uint64_t user_rip, uint64_t user_rsp);
void user_mode_syscall_callback();  // register as CALLBACKTYPE_syscall
void user_mode_fault_return();
// rax, rcx, rip, cs, rsp, ss of Xen's syscall bounce frame, and the kernel rsp it arrived on.
extern uint64_t user_mode_syscall_frame[7];
}

namespace user_mode {

inline constexpr uint64_t kFaulted = ~0ull;

// From a trap handler, for a fault taken in user mode: the handler's iret
// then resumes the kernel where user_mode_enter was called (returning
// kFaulted) instead of the faulting user code.
inline void abandon(traps::Frame& frame, uint64_t handler_stack_top) {
    frame.rip = reinterpret_cast<uint64_t>(user_mode_fault_return);
    frame.cs = FLAT_KERNEL_CS & ~3u;  // RPL 0 tells iret to stay in kernel mode
    frame.ss = FLAT_KERNEL_SS;
    frame.rsp = handler_stack_top;
    frame.rflags = 0x202;  // not the user's flags (AC, TF, DF...): back to the kernel as it left
}

}  // namespace user_mode
