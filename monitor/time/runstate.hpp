// A vCPU's run state as Xen accounts it (vcpu_runstate_info: the state,
// when it was entered, time spent in each), copied to the guest's area
// (VCPUOP_register_runstate_memory_area) whenever it changes. pvvmm's
// vCPUs are running or blocked; time the host took away is not seen here.
#pragma once

#include <stdint.h>

#include "monitor/state.hpp"

namespace monitor::runstate {

void start(Vcpu& v);  // running, from now
void enter(Vcpu& v, int state);
// Copies the run state to the registered area (in guest kernel mode).
void update_guest_area(Vcpu& v);
void snapshot(Vcpu& v, vcpu_runstate_info_t& out);

}  // namespace monitor::runstate
