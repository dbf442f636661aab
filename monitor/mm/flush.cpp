#include "monitor/mm/flush.hpp"

#include "monitor/smp/remote.hpp"
#include "monitor/xpti/xpti.hpp"

namespace monitor {

// How a flush is done (CR3 reload, PGE toggle, INVLPG, INVPCID) is the XPTI
// engine's policy, shared with the host tests; other vCPUs run the same
// policy on their own engines when they serve the request.
namespace {

// TestHook::SkipGuestFlushes drops what the guest asked for, so that a test
// can show the guest notices.
bool dropped(FlushReason reason) {
    const bool guest_asked = reason == FlushReason::GuestFlushRequest || reason == FlushReason::UpdateVaMapping;
    return guest_asked && domain().boot.test_hook == abi::TestHook::SkipGuestFlushes;
}

bool includes_self(FlushScope scope) { return (scope.vcpus >> current().id) & 1; }

}  // namespace

void flush_all(FlushReason reason, FlushScope scope) {
    if (dropped(reason))
        return;
    if (includes_self(scope))
        xpti::flush_all(reason);
    remote::flush_all(reason, scope.vcpus);
}

void flush_one(FlushReason reason, FlushScope scope, uint64_t va) {
    if (dropped(reason))
        return;
    if (includes_self(scope))
        xpti::flush_one(reason, va);
    remote::flush_one(reason, scope.vcpus, va);
}

}  // namespace monitor
