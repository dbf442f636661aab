#include "monitor/mm/flush.hpp"

#include "monitor/xpti/xpti.hpp"

namespace monitor {

// How a flush is done (CR3 reload, PGE toggle, INVLPG, INVPCID) is the XPTI
// engine's policy, shared with the host tests. Other vCPUs never run guest
// code yet (VCPUOP_up is not implemented), so "all" vCPUs is the local one;
// once they do, the remote part goes here (IPIs carrying the request, and
// the root-table flag when an L4 changed).
namespace {

// TestHook::SkipGuestFlushes drops what the guest asked for, so that a test
// can show the guest notices.
bool dropped(FlushReason reason) {
    const bool guest_asked = reason == FlushReason::GuestFlushRequest || reason == FlushReason::UpdateVaMapping;
    return guest_asked && domain().boot.test_hook == abi::TestHook::SkipGuestFlushes;
}

}  // namespace

void flush_all(FlushReason reason, FlushScope /*scope*/) {
    if (!dropped(reason))
        xpti::flush_all(reason);
}

void flush_one(FlushReason reason, FlushScope /*scope*/, uint64_t va) {
    if (!dropped(reason))
        xpti::flush_one(reason, va);
}

}  // namespace monitor
