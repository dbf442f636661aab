// Per-CPU GDT (Xen's reserved selectors), TSS, the shared IDT, the syscall
// MSRs and the per-CPU syscall entry stub.
#pragma once

#include <stdint.h>

namespace monitor {

void setup_cpu_descriptors(uint32_t cpu);

// Start-up measurements on this CPU: load a private copy of the IDT whose
// `vector` goes to `handler` (DPL 3), then back to the shared IDT. The
// shared IDT is never patched, since other vCPUs may be writing it.
void load_measurement_idt(unsigned vector, uint64_t handler);
void load_shared_idt();

}  // namespace monitor
