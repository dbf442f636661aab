// Per-CPU GDT (Xen's reserved selectors), TSS, IDT, the syscall MSRs and
// the per-CPU syscall entry stub. The IDT's stubs pick the entry/exit path
// (entry.S): plain without XPTI, flag (Xen's) or sign (naive) with it.
#pragma once

#include <stdint.h>

namespace monitor {

enum class EntryPath : uint8_t { Plain, Flag, Sign };

// Boot: everything, with the plain path (the start-up probe runs on it).
void setup_cpu_descriptors(uint32_t cpu);
// Before the first guest entry: this CPU's IDT, syscall stub and
// enter_frame switch to `path`.
void use_entry_path(uint32_t cpu, EntryPath path);

// Start-up measurements on this CPU: load a private copy of the IDT whose
// `vector` goes to `handler` (DPL 3), then back to the CPU's own IDT.
void load_measurement_idt(unsigned vector, uint64_t handler);
void load_cpu_idt();

}  // namespace monitor
