// How the library touches page tables: through a policy, because the host
// builds tables in guest memory it maps elsewhere while the monitor edits its
// own tables through a direct map. Addresses are always physical.
#pragma once

#include <stdint.h>
#include <concepts>

namespace pt {

// Reads and writes entry `index` of the 4K table at physical `table_pa`.
template <typename M>
concept TableMemory = requires(M& mem, uint64_t table_pa, unsigned index, uint64_t value) {
    { mem.read(table_pa, index) } -> std::convertible_to<uint64_t>;
    mem.write(table_pa, index, value);
};

// Hands out zeroed 4K tables by physical address; 0 means exhausted
// (page 0 is never a page table in pvvmm, so 0 is free to mean "none").
template <typename A>
concept TableAllocator = requires(A& alloc) {
    { alloc.alloc_table() } -> std::convertible_to<uint64_t>;
};

}  // namespace pt
