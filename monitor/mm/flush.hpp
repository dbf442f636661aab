// The one way the monitor flushes TLBs: every call names its reason and is
// counted by reason and kind, so that flush policies (the XPTI work) can be
// measured and changed in one place.
#pragma once

#include <stdint.h>

#include "guest-abi/counters.hpp"
#include "monitor/state.hpp"

namespace monitor {

using abi::FlushReason;

enum class FlushScope : uint8_t {
    Local,  // this vCPU only
    All,    // every vCPU of the domain
};

// Everything (without PCID: a CR3 reload; no global pages are used for guest mappings).
void flush_all(FlushReason reason, FlushScope scope);
// One guest-virtual address.
void flush_one(FlushReason reason, FlushScope scope, uint64_t va);

}  // namespace monitor
