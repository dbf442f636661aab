#include "syscalls.hpp"

#include "../lib/console.hpp"
#include "../lib/string.hpp"
#include "../user/syscall_numbers.hpp"
#include "address_space.hpp"
#include "console_input.hpp"
#include "cpus.hpp"
#include "kernel_lock.hpp"
#include "mmu.hpp"
#include "process.hpp"
#include "scheduler.hpp"
#include "timer.hpp"
#include "user_images.hpp"

namespace syscalls {
namespace {

uint64_t calls = 0;

// Every page of [address, address + length) lies in a region of the
// process (writable ones when `write`). The kernel then accesses the range
// directly: it runs on the process's L4, and faults on untouched pages are
// resolved by the page-fault path.
bool user_range_ok(const proc::Process& p, uint64_t address, uint64_t length, bool write) {
    const vm::RegionList& regions = p.memory->regions;
    if (length == 0)
        return true;
    if (address >= sys::user_limit || length > sys::user_limit - address)
        return false;
    for (uint64_t page = address & ~uint64_t{4095}; page < address + length; page += 4096) {
        const vm::Region* r = regions.find(page);
        if (r == nullptr || (write && !r->writable))
            return false;
    }
    return true;
}

long sys_write(traps::Frame& f) {
    if (f.rdi != 1 && f.rdi != 2)
        return -sys::ebadf;
    if (!user_range_ok(*proc::current(), f.rsi, f.rdx, false))
        return -sys::efault;
    console::write(reinterpret_cast<const char*>(f.rsi), f.rdx);
    console::flush();  // a prompt or an echoed key shows without its newline
    return static_cast<long>(f.rdx);
}

long sys_exit(traps::Frame& f) { proc::exit(static_cast<int>(f.rdi)); }

long sys_yield(traps::Frame&) {
    sched::schedule();
    return 0;
}

long sys_getpid(traps::Frame&) { return proc::current()->pid; }

long sys_mmap(traps::Frame& f) {
    proc::Memory& p = *proc::current()->memory;
    const uint64_t length = (f.rsi + 4095) & ~uint64_t{4095};
    uint64_t address = f.rdi;
    if (length == 0 || length > sys::user_limit || (address & 4095) != 0)
        return -sys::einval;
    if (address != 0) {  // a fixed address, like MAP_FIXED_NOREPLACE
        if (address < sys::mmap_base || address >= sys::user_limit ||
            address + length > sys::user_stack_top - sys::user_stack_size ||
            p.regions.overlaps(address, address + length))
            return -sys::einval;
    } else {
        address = p.regions.find_free(p.next_mmap, length, sys::user_stack_top - sys::user_stack_size);
        if (address == 0)
            return -sys::enomem;
        p.next_mmap = address + length;
    }
    if (!p.regions.add(address, address + length, true))
        return -sys::enomem;
    return static_cast<long>(address);  // populated on first touch
}

long sys_munmap(traps::Frame& f) {
    proc::Memory& p = *proc::current()->memory;
    const uint64_t address = f.rdi;
    const uint64_t end = address + ((f.rsi + 4095) & ~uint64_t{4095});
    if ((address & 4095) != 0 || f.rsi == 0 || end > sys::user_limit || end <= address)
        return -sys::einval;
    if (!p.regions.remove(address, end))
        return -sys::enomem;
    vm::unmap_range(p.space, address, end);
    return 0;
}

long sys_fork(traps::Frame& f) { return proc::fork(f); }

long sys_wait(traps::Frame& f) {
    proc::Process& p = *proc::current();
    if (f.rsi != 0 && !user_range_ok(p, f.rsi, sizeof(int), true))
        return -sys::efault;
    int status = 0;
    long pid = proc::wait(static_cast<long>(f.rdi), &status);
    if (pid > 0 && f.rsi != 0)
        *reinterpret_cast<int*>(f.rsi) = status;
    return pid;
}

long sys_read(traps::Frame& f) {
    if (f.rdi != 0)
        return -sys::ebadf;
    if (!user_range_ok(*proc::current(), f.rsi, f.rdx, true))
        return -sys::efault;
    return console_input::read(f.rsi, f.rdx);
}

long sys_sleep(traps::Frame& f) {
    constexpr uint64_t max_ms = 1'000'000'000;  // about 11 days
    proc::Process& p = *proc::current();
    if (f.rdi > max_ms)
        return -sys::einval;
    p.wake_at = timer::now() + f.rdi * 1'000'000;
    p.state = proc::State::sleeping;
    timer::arm(p.wake_at);
    while (p.state == proc::State::sleeping)
        sched::schedule();
    return 0;
}

long sys_clock(traps::Frame&) { return static_cast<long>(timer::now()); }

long sys_kill(traps::Frame& f) { return proc::kill(static_cast<long>(f.rdi)); }

long sys_spawn(traps::Frame& f) {
    proc::Process& self = *proc::current();
    // The name: at most 31 bytes and its NUL, within the process's regions.
    char name[32];
    size_t length = 0;
    for (;; ++length) {
        if (length == sizeof name || !user_range_ok(self, f.rdi + length, 1, false))
            return -sys::efault;
        name[length] = reinterpret_cast<const char*>(f.rdi)[length];
        if (name[length] == '\0')
            break;
    }
    UserImage image{};
    if (!images::find(name, image))
        return -sys::enoent;
    proc::Process* child = proc::spawn(image, static_cast<long>(f.rsi), static_cast<long>(f.rdx));
    if (child == nullptr)
        return -sys::enomem;
    child->parent = &self;
    return child->pid;
}

long sys_programs(traps::Frame& f) {
    if (!user_range_ok(*proc::current(), f.rdi, f.rsi, true))
        return -sys::efault;
    auto* out = reinterpret_cast<char*>(f.rdi);
    size_t used = 0;
    for (unsigned i = 0; const char* name = images::name(i); ++i) {
        const size_t length = strlen(name);
        if (used + length + 1 > f.rsi)
            break;
        memcpy(out + used, name, length);
        out[used + length] = '\n';
        used += length + 1;
    }
    return static_cast<long>(used);
}

long sys_thread(traps::Frame& f) {
    const proc::Process& self = *proc::current();
    // The entry must be code of the process and the stack inside a writable region.
    if (!user_range_ok(self, f.rdi, 1, false) || (f.rsi & 15) != 0 || !user_range_ok(self, f.rsi - 8, 8, true))
        return -sys::efault;
    return proc::create_thread(f.rdi, f.rsi, static_cast<long>(f.rdx));
}

long sys_cpus(traps::Frame&) { return cpus::count(); }

long sys_cpu(traps::Frame&) { return cpus::self(); }

long sys_flush_tlb(traps::Frame& f) {
    if (f.rdi == sys::flush_local) {
        mmu::flush_tlb();
        return 1;
    }
    if (f.rdi != sys::flush_space)
        return -sys::einval;
    const uint64_t vcpus = proc::current()->memory->space.cpu_mask;
    mmu::flush_tlb_on(vcpus);
    return cpus::in_mask(vcpus);
}

using Handler = long (*)(traps::Frame&);
constexpr Handler table[sys::count] = {
    sys_write, sys_exit,  sys_yield, sys_getpid, sys_mmap,     sys_munmap, sys_fork, sys_wait, sys_read,
    sys_sleep, sys_clock, sys_kill,  sys_spawn,  sys_programs, sys_thread, sys_cpus, sys_cpu,  sys_flush_tlb,
};

}  // namespace

uint64_t count() { return calls; }

}  // namespace syscalls

extern "C" void syscall_dispatch(traps::Frame* frame) {
    using namespace syscalls;
    kernel_lock::acquire();
    ++calls;
    proc::current()->spurious_faults = 0;  // it makes progress (page_fault.cpp)
    frame->rax = frame->rax < sys::count ? static_cast<uint64_t>(table[frame->rax](*frame))
                                         : static_cast<uint64_t>(-sys::enosys);
    sched::preempt_if_needed();
    kernel_lock::release();  // on the vCPU that returns to user mode (it may have changed)
}
