#include "regions.hpp"

namespace vm {

const Region* RegionList::find(uint64_t address) const {
    for (const Region& r : regions_)
        if (address >= r.start && address < r.end)
            return &r;
    return nullptr;
}

bool RegionList::overlaps(uint64_t start, uint64_t end) const {
    for (const Region& r : regions_)
        if (r.start < r.end && start < r.end && r.start < end)
            return true;
    return false;
}

bool RegionList::add(uint64_t start, uint64_t end, bool writable) {
    for (Region& r : regions_)
        if (r.start == r.end) {
            r = Region{start, end, writable};
            return true;
        }
    return false;
}

bool RegionList::remove(uint64_t start, uint64_t end) {
    for (Region& r : regions_) {
        if (r.start == r.end || end <= r.start || r.end <= start)
            continue;
        if (start <= r.start && r.end <= end) {
            r = Region{};
        } else if (start <= r.start) {
            r.start = end;
        } else if (r.end <= end) {
            r.end = start;
        } else {  // a hole in the middle: keep the head here, the tail elsewhere
            Region tail{end, r.end, r.writable};
            r.end = start;
            if (!add(tail.start, tail.end, tail.writable))
                return false;
        }
    }
    return true;
}

uint64_t RegionList::find_free(uint64_t hint, uint64_t length, uint64_t limit) const {
    uint64_t candidate = hint;
    for (bool moved = true; moved;) {
        moved = false;
        for (const Region& r : regions_)
            if (r.start < r.end && candidate < r.end && r.start < candidate + length) {
                candidate = r.end;
                moved = true;
            }
    }
    return candidate + length <= limit ? candidate : 0;
}

void RegionList::clear() {
    for (Region& r : regions_)
        r = Region{};
}

}  // namespace vm
