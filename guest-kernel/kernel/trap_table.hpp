// Registers the kernel's entries with the hypervisor: the trap table
// (entry.S stubs), the syscall callback for user `syscall` and the event
// upcall (kernel_event, upcall.cpp).
#pragma once

namespace kernel_entries {

void install();

}  // namespace kernel_entries
