// Which vCPU runs this code, for guests that start several (kernel.elf):
// each vCPU's kernel GS base points at a Header of its own, so the id is
// one %gs-relative load, valid wherever the code runs next (a kernel thread
// may resume on another vCPU than the one it stopped on, so the id is never
// cached across a switch). Guests that never install a header (the
// conformance and demo guests) are vCPU 0 everywhere.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace percpu {

// The start of each vCPU's per-CPU area; the guest may put more behind it.
struct Header {
    Header* self;
    unsigned vcpu;
};

// Whether install() ran: before that %gs may not point anywhere.
extern bool installed;

// This vCPU's header as its kernel GS base (SEGBASE_GS_KERNEL); the
// set_segment_base result. Other vCPUs get theirs from VCPUOP_initialise's
// gs_base_kernel, so this runs once, on vCPU 0.
[[nodiscard]] long install(Header& header);

inline unsigned vcpu() {
    if (!installed)
        return 0;
    unsigned id;
    asm volatile("movl %%gs:%c1, %0" : "=r"(id) : "i"(offsetof(Header, vcpu)));
    return id;
}

}  // namespace percpu
