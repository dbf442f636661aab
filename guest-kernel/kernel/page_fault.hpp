// User page faults: demand paging of region pages that were never touched
// and copy-on-write of pages shared by fork.
#pragma once

#include <stdint.h>

#include "process.hpp"

namespace fault {

// True when the access is now possible (the faulting instruction can be
// retried); false when it is a genuine fault (outside any region, a write
// to a read-only region, or out of memory).
bool resolve(proc::Process& process, uint64_t address, bool write);

struct Counters {
    uint64_t demand, copy_on_write, reused_sole_owner;
};
const Counters& counters();

}  // namespace fault
