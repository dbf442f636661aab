// Exceptions reaching the kernel (entry.S): user page faults are resolved
// or kill the process; any other user exception kills it; a kernel
// exception is a bug (panic), except a page fault on a user address the
// kernel touched on a process's behalf, which is resolved like a user one,
// and a spurious one on the direct map (below).
//
// From user mode the kernel lock is taken here and dropped on the way
// back; from kernel mode this vCPU holds it already (kernel code runs
// under it), except for the spurious direct-map faults, which need none.
#include "../lib/console.hpp"
#include "../lib/panic.hpp"
#include "../lib/shared_info.hpp"
#include "../lib/traps.hpp"
#include "../user/syscall_numbers.hpp"
#include "direct_map.hpp"
#include "kernel_lock.hpp"
#include "mmu.hpp"
#include "page_fault.hpp"
#include "process.hpp"

namespace {

// Another vCPU made a frame's direct-map page writable again (a freed page
// table) with a local flush only; this vCPU may still hold the read-only
// translation, and a write through it faults although the entry allows it
// (Linux's spurious_kernel_fault). Dropping the stale entry is enough.
bool spurious_direct_map_fault(const traps::Frame& frame, uint64_t cr2) {
    const bool write = (frame.error_code & traps::pf_write) != 0;
    if (!direct_map::allows(cr2, write))
        return false;
    mmu::invalidate_page(cr2);
    return true;
}

}  // namespace

extern "C" void kernel_trap(traps::Frame* frame) {
    const bool from_user = (frame->cs & 3) == 3;
    const bool page_fault = frame->vector == traps::page_fault;
    const uint64_t cr2 = page_fault ? xen_shared::this_vcpu()->arch.cr2 : 0;
    if (!from_user && page_fault && spurious_direct_map_fault(*frame, cr2))
        return;
    if (from_user)
        kernel_lock::acquire();
    else if (!kernel_lock::held_here())
        panic("kernel %s at rip %#lx (cr2 %#lx) without the kernel lock",
              traps::vector_name(static_cast<unsigned>(frame->vector)), frame->rip, cr2);
    if (page_fault) {
        proc::Process* p = proc::current();
        const bool write = (frame->error_code & traps::pf_write) != 0;
        if (p != nullptr && (from_user || cr2 < sys::user_limit) && fault::resolve(*p, cr2, write)) {
            if (from_user)
                kernel_lock::release();
            return;
        }
    }
    if (from_user) {
        print("kernel: process %ld killed: %s error %#lx at rip %#lx, address %#lx\n", proc::current()->pid,
              traps::vector_name(static_cast<unsigned>(frame->vector)), frame->error_code, frame->rip, cr2);
        proc::exit(sys::killed_by_fault);
    }
    panic("kernel %s (vector %lu) error %#lx at rip %#lx rsp %#lx cr2 %#lx",
          traps::vector_name(static_cast<unsigned>(frame->vector)), frame->vector, frame->error_code, frame->rip,
          frame->rsp, cr2);
}
