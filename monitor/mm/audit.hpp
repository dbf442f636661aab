// Consistency audit of the PV MMU's bookkeeping, run on demand (`pvvmm run
// --audit N`: every N hypercalls and at shutdown). It recounts, from the
// page tables themselves, the base pointers, pins and GDT frames, every
// frame's type references and writable mappings, checks that each entry
// points at a frame of the right type, that no page table or descriptor
// page is mapped writable and that every L4 carries the monitor's slots.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace monitor::mm {

struct AuditReport {
    bool consistent;
    uint64_t frames_checked;
    uint64_t tables_checked;
    char problem[160];  // the first inconsistency found
};

[[nodiscard]] AuditReport audit_frame_table();

// Runs the audit if this is the N-th hypercall (per BootInfo::audit_every)
// or `at_shutdown`; panics on the first inconsistency.
void audit_if_due(bool at_shutdown);

}  // namespace monitor::mm
