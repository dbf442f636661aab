// VCPUOP_initialise's argument, Xen's vcpu_guest_context for a 64-bit PV
// vCPU, checked and taken as Xen's arch_set_info_guest does: registers,
// virtual IDT, GDT frames, kernel stack, CR3 (kernel L4 in ctrlreg[3],
// user L4 in ctrlreg[1]), callbacks and segment bases. The vCPU starts
// from it on VCPUOP_up (start_secondary in monitor/main.cpp).
#pragma once

#include <stdint.h>
#include <xen/xen.h>

#include "monitor/state.hpp"

namespace monitor::smp {

// Everything or nothing: on an error no reference is taken and `v` is
// unchanged. -EINVAL for a non-canonical address, a bad LDT, GDT or L4.
[[nodiscard]] int64_t load_guest_context(Vcpu& v, const vcpu_guest_context_t& c);

// On v's own CPU, just before its first entry: the LDT and segment
// registers the context named, and the guest's FS/GS bases.
void apply_start_segments(Vcpu& v);

}  // namespace monitor::smp
