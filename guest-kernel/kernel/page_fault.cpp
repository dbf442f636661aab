#include "page_fault.hpp"

#include "../lib/console.hpp"
#include "../lib/page_table.hpp"
#include "../lib/string.hpp"
#include "../user/syscall_numbers.hpp"
#include "cpus.hpp"
#include "frames.hpp"

namespace fault {
namespace {

Counters counted{};

// A fault that finds the page mapped as needed is spurious: another vCPU
// mapped it meanwhile, or a stale TLB entry was in the way (the return
// retries). This many in a row, with no system call in between, means the
// vCPU does not see the page tables the kernel wrote: its TLB or its XPTI
// root missed a flush or a root refresh. Retrying would loop for ever.
constexpr uint64_t endless_spurious_faults = 2000;

bool spurious(proc::Process& p, uint64_t address) {
    if (++p.spurious_faults < endless_spurious_faults)
        return true;
    ++counted.endless;
    print(
        "kernel: process %ld: %lu page faults in a row on vCPU %u at %#lx, which is mapped: endless faults (this vCPU"
        " does not see the page tables: a lost TLB flush or root refresh?)\n",
        p.pid, p.spurious_faults, cpus::self(), address);
    return false;
}

bool copy_on_write(proc::Process& p, uint64_t page, uint64_t entry) {
    const uint64_t shared = frames::pfn_of_mfn(pt::mfn_of(entry));
    if (frames::references(shared) == 1) {
        // The other sharers are gone: take the frame over.
        ++counted.reused_sole_owner;
        vm::set_entry(p.memory->space, page, pt::entry(frames::mfn(shared), vm::user_rw));
        return true;
    }
    const uint64_t copy = frames::allocate();
    if (copy == frames::none)
        return false;
    memcpy(frames::pointer(copy), frames::pointer(shared), 4096);
    vm::set_entry(p.memory->space, page, pt::entry(frames::mfn(copy), vm::user_rw));
    frames::put(shared);
    ++counted.copy_on_write;
    return true;
}

}  // namespace

bool resolve(proc::Process& p, uint64_t address, bool write) {
    if (address >= sys::user_limit)
        return false;
    const vm::Region* region = p.memory->regions.find(address);
    if (region == nullptr || (write && !region->writable))
        return false;
    const uint64_t page = address & ~uint64_t{4095};
    const vm::AddressSpace& space = p.memory->space;
    const volatile uint64_t* entry = vm::find_entry(space, page);
    if (entry != nullptr && (*entry & pt::present) != 0) {
        if (!write || (*entry & pt::writable) != 0)
            return spurious(p, address);
        p.spurious_faults = 0;
        ++p.faults;
        return copy_on_write(p, page, *entry);
    }
    p.spurious_faults = 0;
    ++p.faults;
    ++counted.demand;
    return vm::populate(space, page, region->writable);
}

const Counters& counters() { return counted; }

}  // namespace fault
