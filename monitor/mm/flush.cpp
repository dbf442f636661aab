#include "monitor/mm/flush.hpp"

#include "monitor/xpti/xpti.hpp"

namespace monitor {

// How a flush is done (CR3 reload, PGE toggle, INVLPG, INVPCID) is the XPTI
// engine's policy, shared with the host tests. Other vCPUs never run guest
// code yet (VCPUOP_up is not implemented), so "all" vCPUs is the local one;
// once they do, the remote part goes here (IPIs carrying the request, and
// the root-table flag when an L4 changed).
void flush_all(FlushReason reason, FlushScope /*scope*/) { xpti::flush_all(reason); }

void flush_one(FlushReason reason, FlushScope /*scope*/, uint64_t va) { xpti::flush_one(reason, va); }

}  // namespace monitor
