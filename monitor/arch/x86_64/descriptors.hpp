// Per-CPU GDT (Xen's reserved selectors), TSS, the shared IDT, the syscall
// MSRs and the per-CPU syscall entry stub.
#pragma once

#include <stdint.h>

namespace monitor {

void setup_cpu_descriptors(uint32_t cpu);

}  // namespace monitor
