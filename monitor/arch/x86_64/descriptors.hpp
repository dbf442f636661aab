// Per-CPU GDT (Xen's reserved selectors), TSS, the shared IDT, the syscall
// MSRs and the per-CPU syscall entry stub.
#pragma once

#include <stdint.h>

namespace monitor {

void setup_cpu_descriptors(uint32_t cpu);

// Points IDT `vector` at `handler` with DPL 3 (start-up measurements), and
// back at its normal entry stub.
void redirect_gate(unsigned vector, uint64_t handler);
void reset_gate(unsigned vector);

}  // namespace monitor
