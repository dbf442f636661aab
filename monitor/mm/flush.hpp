// The one way the monitor flushes TLBs: every call names its reason and is
// counted by reason and kind, so that flush policies (the XPTI work) can be
// measured and changed in one place. A flush reaches the vCPUs its scope
// names: this one directly, every other one that has run guest code by a
// remote request (monitor/smp/remote.hpp) that it serves before the
// caller goes on, as Xen's flush_mask waits.
#pragma once

#include <stdint.h>

#include "guest-abi/counters.hpp"
#include "monitor/state.hpp"

namespace monitor {

using abi::FlushReason;

// Which vCPUs: bit n is vCPU n (Xen's vCPU bitmap of UVMF_MULTI and
// MMUEXT_*_MULTI). This vCPU is flushed only if its bit is set.
struct FlushScope {
    uint64_t vcpus;
    static FlushScope local() { return {uint64_t{1} << current().id}; }
    static constexpr FlushScope all() { return {~uint64_t{0}}; }
};

// Everything (without PCID: a CR3 reload; no global pages are used for guest mappings).
void flush_all(FlushReason reason, FlushScope scope);
// One guest-virtual address.
void flush_one(FlushReason reason, FlushScope scope, uint64_t va);

}  // namespace monitor
