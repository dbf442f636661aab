// HYPERVISOR_iret to a frame of the caller's choice, returning when one of
// the caller's stubs jumps to iret_probe_return (iret_probe.S).
#pragma once

#include <stdint.h>

extern "C" {
// frame = { rip, cs, rflags, rsp, ss, flags }; the result is the rax the
// stub that ended the probe set.
uint64_t iret_probe(const uint64_t frame[6], uint64_t rax);
void iret_probe_return();
}
