// Exceptions reaching the kernel (entry.S): user page faults are resolved
// or kill the process; any other user exception kills it; a kernel
// exception is a bug (panic), except a page fault on a user address the
// kernel touched on a process's behalf, which is resolved like a user one.
#include "../lib/console.hpp"
#include "../lib/panic.hpp"
#include "../lib/shared_info.hpp"
#include "../lib/traps.hpp"
#include "../user/syscall_numbers.hpp"
#include "page_fault.hpp"
#include "process.hpp"

extern "C" void kernel_trap(traps::Frame* frame) {
    const bool from_user = (frame->cs & 3) == 3;
    uint64_t cr2 = 0;
    if (frame->vector == traps::page_fault) {
        cr2 = xen_shared::vcpu0()->arch.cr2;
        proc::Process* p = proc::current();
        const bool write = (frame->error_code & traps::pf_write) != 0;
        if (p != nullptr && (from_user || cr2 < sys::user_limit) && fault::resolve(*p, cr2, write))
            return;
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
