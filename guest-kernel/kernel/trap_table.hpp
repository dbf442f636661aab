// Registers the kernel's entries with the hypervisor: the trap table
// (entry.S stubs), the syscall callback for user `syscall` and the event
// upcall (kernel_event, upcall.cpp).
#pragma once

#include <stdint.h>

#include "../lib/xen.hpp"

namespace kernel_entries {

// On vCPU 0 (the others get the same from their VCPUOP_initialise context).
void install();

// The same entries for another vCPU's vcpu_guest_context: the trap table
// indexed by vector, the event upcall and the syscall callback.
void fill_trap_context(trap_info (&by_vector)[256]);
uint64_t event_entry();
uint64_t syscall_entry_address();

}  // namespace kernel_entries
