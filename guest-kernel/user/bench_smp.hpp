// The benchmark program's modes with threads on several vCPUs (bench.cpp
// dispatches to them): `threads` and `remote`.
#pragma once

namespace bench_smp {

// N rounds: the round's owner thread maps a page in a fresh L4 slot and
// fills it, every other thread reads and checks it, the owner unmaps it.
long threads(long rounds);
// N remote flushes (TLB_FLUSH_MULTI naming a thread's vCPU) against N local ones.
long remote(long flushes);

}  // namespace bench_smp
