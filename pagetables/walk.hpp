// Software page walk: what the MMU would do for one VA, plus the entries it
// passed through so callers can report exactly where a translation stops.
#pragma once

#include <stdint.h>

#include "pagetables/entry.hpp"
#include "pagetables/memory.hpp"

namespace pt {

struct Translation {
    bool present;
    int leaf_level;       // 3 = 1G, 2 = 2M, 1 = 4K; 0 if not present
    uint64_t pa;          // physical address of va itself (page base + offset)
    uint64_t flags;       // leaf flags with W/U/NX made effective across levels
    int fault_level;      // level whose entry was not present; 0 if present
    uint64_t entries[4];  // [0] = L4 entry ... [3] = L1 entry; 0 if not reached
};

// Bits 63:48 of va are not checked: the hardware faults on non-canonical
// addresses before walking, so callers that care test is_canonical first.
template <TableMemory M>
Translation walk(M& mem, uint64_t root_pa, uint64_t va) {
    Translation t{};
    uint64_t writable_user = kWritable | kUser;  // survives only if set at every level
    uint64_t no_execute = 0;                     // sticks once set at any level
    uint64_t table = root_pa;
    for (int level = kLevels; level >= 1; --level) {
        const uint64_t e = mem.read(table, table_index(va, level));
        t.entries[kLevels - level] = e;
        if (!is_present(e)) {
            t.fault_level = level;
            return t;
        }
        writable_user &= e;
        no_execute |= e & kNoExecute;
        if (level == 1 || is_huge_leaf(e, level)) {
            const uint64_t offset_mask = level_span(level) - 1;
            // Masking the offset also drops the PAT bit (bit 12) of huge leaves.
            t.present = true;
            t.leaf_level = level;
            t.pa = (entry_addr(e) & ~offset_mask) | (va & offset_mask);
            t.flags = (entry_flags(e) & ~(kWritable | kUser | kNoExecute)) | writable_user | no_execute;
            return t;
        }
        table = entry_addr(e);
    }
    return t;  // unreachable: level 1 always returns
}

}  // namespace pt
