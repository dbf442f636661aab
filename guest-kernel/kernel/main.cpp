// kernel.elf: a small Xen PV kernel with user processes.
//
// Boot: map shared_info (cr2 of page faults, events, time), install vCPU
// 0's per-CPU header and count the vCPUs, take the kernel lock, register
// the trap table, the syscall and event callbacks, extend the direct map
// over the domain's memory, start the frame allocator, bind VIRQ_TIMER,
// the IPI port and the console's events, and start the other vCPUs (each
// binds its own VIRQ_TIMER and IPI port, then idles in its scheduler).
// Then the command line picks what runs:
//   (nothing)            the hello program, once
//   workload=NAME[:N]    a benchmark (workloads.cpp)
//   selftest             the semantic checks, ending in one verdict line
//   shell                the shell program on the console (user/shell.cpp)
//   shared_user_l4       (with any of them) one L4 per process as kernel
//                        and user base pointer, see address_space.hpp
#include "../lib/console.hpp"
#include "../lib/panic.hpp"
#include "../lib/physmap.hpp"
#include "../lib/runtime.hpp"
#include "../lib/shared_info.hpp"
#include "../lib/string.hpp"
#include "address_space.hpp"
#include "console_input.hpp"
#include "cpus.hpp"
#include "direct_map.hpp"
#include "frames.hpp"
#include "kernel_lock.hpp"
#include "scheduler.hpp"
#include "timer.hpp"
#include "trap_table.hpp"
#include "workloads.hpp"

namespace {

// What every vCPU sets up for itself, under the kernel lock.
void per_cpu_init() {
    timer::init_this_cpu();
    sched::init_this_cpu();
}

void boot(const start_info& info) {
    long rc = xen_shared::map(info);
    if (rc != 0)
        panic("mapping shared_info returned %ld", rc);
    cpus::init_boot_cpu();
    kernel_lock::acquire();  // the boot thread runs kernel code: it holds the lock but while it idles
    kernel_entries::install();
    const direct_map::Range range = direct_map::extend(info);
    frames::init(range.first_free, range.limit);
    const bool shared_user_l4 = runtime::command_line_has("shared_user_l4");
    vm::init_kernel_space(physmap::virt_to_pfn(info.pt_base), shared_user_l4);
    per_cpu_init();
    const bool console_input = console_input::init();
    cpus::start_others(per_cpu_init, sched::scheduler_loop);
    print("kernel: %lu of %lu frames free, direct map up to pfn %#lx, %s, time slice %lu ms, %u vCPU%s%s\n",
          frames::free_count(), info.nr_pages, range.limit,
          shared_user_l4 ? "one L4 per process (shared_user_l4)" : "kernel and user L4 per process",
          sched::slice_ns / 1'000'000, cpus::count(), cpus::count() == 1 ? "" : "s",
          console_input ? "" : ", no console input");
}

}  // namespace

unsigned guest_main(const start_info& info) {
    if (runtime::command_line_has("selftest"))
        workloads::install_selftest_panic_handler();
    boot(info);
    char workload[64];
    if (runtime::command_line_has("selftest"))
        return workloads::selftest();
    if (runtime::command_line_option("workload", workload, sizeof workload))
        return workloads::run(workload);
    if (runtime::command_line_has("shell"))
        return workloads::shell();
    return workloads::hello();
}
