#include "page_fault.hpp"

#include "../lib/page_table.hpp"
#include "../lib/string.hpp"
#include "../user/syscall_numbers.hpp"
#include "frames.hpp"

namespace fault {
namespace {

Counters counted{};

bool copy_on_write(proc::Process& p, uint64_t page, uint64_t entry) {
    const uint64_t shared = frames::pfn_of_mfn(pt::mfn_of(entry));
    if (frames::references(shared) == 1) {
        // The other sharers are gone: take the frame over.
        ++counted.reused_sole_owner;
        vm::set_entry(p.space, page, pt::entry(frames::mfn(shared), vm::user_rw));
        return true;
    }
    const uint64_t copy = frames::allocate();
    if (copy == frames::none)
        return false;
    memcpy(frames::pointer(copy), frames::pointer(shared), 4096);
    vm::set_entry(p.space, page, pt::entry(frames::mfn(copy), vm::user_rw));
    frames::put(shared);
    ++counted.copy_on_write;
    return true;
}

}  // namespace

bool resolve(proc::Process& p, uint64_t address, bool write) {
    if (address >= sys::user_limit)
        return false;
    const vm::Region* region = p.regions.find(address);
    if (region == nullptr || (write && !region->writable))
        return false;
    const uint64_t page = address & ~uint64_t{4095};
    const volatile uint64_t* entry = vm::find_entry(p.space, page);
    if (entry != nullptr && (*entry & pt::present) != 0) {
        if (!write || (*entry & pt::writable) != 0)
            return true;  // already fixed (a stale TLB entry at most)
        ++p.faults;
        return copy_on_write(p, page, *entry);
    }
    ++p.faults;
    ++counted.demand;
    return vm::populate(p.space, page, region->writable);
}

const Counters& counters() { return counted; }

}  // namespace fault
