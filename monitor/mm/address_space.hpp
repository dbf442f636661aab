// Which guest root is loaded: the kernel L4 in kernel mode, the user L4 in
// user mode. Every CR3 write goes through here and is counted.
#pragma once

#include "monitor/state.hpp"

namespace monitor {

void load_guest_cr3(Vcpu& v);

}  // namespace monitor
