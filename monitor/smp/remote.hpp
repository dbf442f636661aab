// Requests from one vCPU to the others, as Xen's flush_mask with its
// flags: TLB flushes (FLUSH_TLB, FLUSH_TLB_GLOBAL, single addresses) and
// the XPTI root refresh (FLUSH_ROOT_PGTBL) after an L4 entry was written.
// The requester holds the domain lock, so each vCPU has at most one
// request outstanding; it posts it, kicks the vCPU with an IPI and waits
// until every target served it. A target serves on its way back to the
// guest (monitor/pending.hpp) or wherever it waits (the domain lock, an
// idle halt, a vCPU that is down). Only vCPUs that have run guest code
// (Xen's dirty_cpumask) are asked; with one vCPU nothing is sent.
#pragma once

#include <stdint.h>

#include "guest-abi/counters.hpp"
#include "monitor/state.hpp"

namespace monitor::remote {

enum Work : uint32_t {
    kFlushAll = 1u << 0,
    kFlushOne = 1u << 1,
    kRootRefresh = 1u << 2,  // an entry of `l4` changed: recopy the roots holding it
    kL4Released = 1u << 3,   // `l4` lost its type: drop the roots and PCIDs standing for it
};

// To the vCPUs in `vcpus` (bit n: vCPU n) other than this one.
void flush_all(abi::FlushReason reason, uint64_t vcpus);
void flush_one(abi::FlushReason reason, uint64_t vcpus, uint64_t va);
// To every other vCPU that has run guest code.
void root_refresh(uint64_t l4_pa);
void l4_released(uint64_t l4_pa);

// This vCPU's side: does what it was asked, if anything.
void serve(Vcpu& v);

}  // namespace monitor::remote
