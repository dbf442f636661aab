// The shared_info page (xen.h struct shared_info): event channel bitmaps,
// per-vCPU upcall mask/pending flags, and #PF's cr2 (vcpu_info.arch.cr2).
// start_info.shared_info is its machine address; the guest maps it itself.
#pragma once

#include "xen.hpp"

namespace xen_shared {

// Maps start_info.shared_info over a reserved page of the image; returns
// the update_va_mapping result.
long map(const start_info& info);

// Null until map() succeeded.
volatile shared_info* page();
volatile vcpu_info* vcpu0();

}  // namespace xen_shared
