#include "process_memory.hpp"

#include "process.hpp"

namespace proc {
namespace {

Memory pool[max_processes];  // at most one per process

Memory* free_slot() {
    for (Memory& m : pool)
        if (m.users == 0) {
            m.regions.clear();
            m.next_mmap = 0;
            m.space = vm::AddressSpace{};
            return &m;
        }
    return nullptr;
}

}  // namespace

Memory* new_memory() {
    Memory* m = free_slot();
    if (m == nullptr || !vm::create(m->space))
        return nullptr;
    m->users = 1;
    return m;
}

Memory* clone_memory(Memory& parent) {
    Memory* m = free_slot();
    if (m == nullptr || !vm::copy_on_write_clone(parent.space, m->space))
        return nullptr;
    m->regions = parent.regions;
    m->next_mmap = parent.next_mmap;
    m->users = 1;
    return m;
}

void share(Memory& memory) { ++memory.users; }

void drop(Memory& memory) {
    if (--memory.users != 0)
        return;
    vm::destroy(memory.space);
    memory.regions.clear();
}

}  // namespace proc
