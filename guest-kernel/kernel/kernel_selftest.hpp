// The kernel-side part of `selftest`: page tables built bottom-up and
// pinned level by level (PIN_L1..L3), used through a process L4, torn down
// again; and the monitor refusing what a PV kernel must not do.
#pragma once

namespace kernel_selftest {

// Null on success, else the reason.
const char* run();

}  // namespace kernel_selftest
