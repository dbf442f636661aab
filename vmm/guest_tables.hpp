// pagetables/ memory-access policy for the host: tables live in guest
// memory, addressed by guest-physical address; fresh tables come from a
// bump allocator over a region that mmap already zeroed.
#pragma once

#include <cstdint>

#include "pagetables/pagetables.hpp"
#include "vmm/memory.hpp"

namespace pvvmm {

struct GuestTableMemory {
    const GuestMemory& mem;
    [[nodiscard]] uint64_t read(uint64_t table_pa, unsigned index) const {
        return *mem.object<uint64_t>(table_pa + index * 8ull);
    }
    void write(uint64_t table_pa, unsigned index, uint64_t value) const {
        *mem.object<uint64_t>(table_pa + index * 8ull) = value;
    }
};

// Hands out consecutive zeroed frames of [next, end).
struct FramePool {
    uint64_t next;
    uint64_t end;
    [[nodiscard]] uint64_t alloc_table() {
        if (next >= end)
            return 0;
        uint64_t pa = next;
        next += 0x1000;
        return pa;
    }
};

}  // namespace pvvmm
