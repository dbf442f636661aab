// The shared_info page (xen.h struct shared_info): event channel bitmaps,
// per-vCPU upcall mask/pending flags, and #PF's cr2 (vcpu_info.arch.cr2).
// start_info.shared_info is its machine address; the guest maps it itself.
#pragma once

#include "percpu.hpp"
#include "xen.hpp"

namespace xen_shared {

// Maps start_info.shared_info over a reserved page of the image; returns
// the update_va_mapping result.
long map(const start_info& info);

// Null until map() succeeded.
volatile shared_info* page();
// vCPU 0's vcpu_info: in shared_info, or where VCPUOP_register_vcpu_info
// moved it (relocate_vcpu0).
volatile vcpu_info* vcpu0();
// vCPU `id`'s vcpu_info (vcpu0() for 0), and the one of the vCPU running
// this code (percpu::vcpu()): its upcall flags, selector word, pvclock, cr2.
volatile vcpu_info* vcpu(unsigned id);
inline volatile vcpu_info* this_vcpu() { return vcpu(percpu::vcpu()); }

// After a successful VCPUOP_register_vcpu_info: vcpu0() (and so the event
// and time code) uses the moved copy from now on.
void relocate_vcpu0(volatile vcpu_info* moved);

}  // namespace xen_shared
