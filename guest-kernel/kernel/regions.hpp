// A process's valid user address ranges (like Linux's VMAs): the program's
// segments, its stack and its anonymous mmaps. A fault inside a region is
// resolved (demand paging, copy-on-write); outside it kills the process.
#pragma once

#include <stdint.h>

namespace vm {

struct Region {
    uint64_t start = 0, end = 0;  // page aligned, [start, end); empty slot when start == end
    bool writable = false;
};

class RegionList {
public:
    static constexpr unsigned capacity = 32;

    const Region* find(uint64_t address) const;
    bool overlaps(uint64_t start, uint64_t end) const;
    bool add(uint64_t start, uint64_t end, bool writable);
    // Removes [start, end) from every region (trimming or splitting them);
    // false if a split found no free slot.
    bool remove(uint64_t start, uint64_t end);
    // A free range of `length` bytes at or above `hint`.
    uint64_t find_free(uint64_t hint, uint64_t length, uint64_t limit) const;
    void clear();

private:
    Region regions_[capacity];
};

}  // namespace vm
