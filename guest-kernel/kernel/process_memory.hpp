// A process's memory, shared by its threads (like Linux's mm_struct): the
// address space, its regions and where the next mmap goes. Threads of one
// process run on different vCPUs at once; the address space's vCPU mask
// (address_space.hpp) says whose TLB a change must reach.
#pragma once

#include <stdint.h>

#include "address_space.hpp"
#include "regions.hpp"

namespace proc {

struct Memory {
    vm::AddressSpace space;
    vm::RegionList regions;
    uint64_t next_mmap = 0;
    unsigned users = 0;  // threads using it; 0: a free slot
};

// A fresh Memory with one user and an empty address space, or null when
// out of slots or frames.
Memory* new_memory();
// Fork: a copy-on-write copy of `parent` with one user, or null.
Memory* clone_memory(Memory& parent);
void share(Memory& memory);
// Drops a user; the last one tears the address space down (it must not be
// loaded on any vCPU by then).
void drop(Memory& memory);

}  // namespace proc
