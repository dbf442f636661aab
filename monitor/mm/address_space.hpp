// Which guest root is loaded: the kernel L4 in kernel mode, the user L4 in
// user mode. Every CR3 write goes through here and is counted.
#pragma once

#include "monitor/state.hpp"

namespace monitor {

// The root the vCPU runs on: its user L4 in user mode (when it has one),
// else its kernel L4.
inline uint64_t active_l4_mfn(const Vcpu& v) {
    return (!v.kernel_mode && v.user_l4_mfn) ? v.user_l4_mfn : v.kernel_l4_mfn;
}

void load_guest_cr3(Vcpu& v);

}  // namespace monitor
