// User page faults: demand paging of region pages that were never touched
// and copy-on-write of pages shared by fork.
#pragma once

#include <stdint.h>

#include "process.hpp"

namespace fault {

// True when the access is now possible (the faulting instruction can be
// retried); false when it is a genuine fault (outside any region, a write
// to a read-only region, out of memory, or the page mapped already for the
// 2000th time in a row: endless faults, reported on the console).
bool resolve(proc::Process& process, uint64_t address, bool write);

struct Counters {
    uint64_t demand, copy_on_write, reused_sole_owner;
    uint64_t endless;  // processes stopped after endless spurious faults
};
const Counters& counters();

}  // namespace fault
