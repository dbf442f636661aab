// kernel.elf: a small Xen PV kernel with user processes.
//
// Boot: map shared_info (cr2 of page faults), register the trap table and
// the syscall callback, extend the direct map over the domain's memory,
// start the frame allocator. Then the command line picks what runs:
//   (nothing)            the hello program, once
//   workload=NAME[:N]    a benchmark (workloads.cpp)
//   selftest             the semantic checks, ending in one verdict line
//   shared_user_l4       (with any of them) one L4 per process as kernel
//                        and user base pointer, see address_space.hpp
#include "../lib/console.hpp"
#include "../lib/panic.hpp"
#include "../lib/physmap.hpp"
#include "../lib/runtime.hpp"
#include "../lib/shared_info.hpp"
#include "../lib/string.hpp"
#include "address_space.hpp"
#include "direct_map.hpp"
#include "frames.hpp"
#include "trap_table.hpp"
#include "workloads.hpp"

namespace {

bool has_word(const char* text, const char* word) {
    const size_t length = strlen(word);
    for (const char* p = text; *p != '\0';) {
        while (*p == ' ')
            ++p;
        const char* start = p;
        while (*p != '\0' && *p != ' ')
            ++p;
        if (static_cast<size_t>(p - start) == length && strncmp(start, word, length) == 0)
            return true;
    }
    return false;
}

void boot(const start_info& info) {
    long rc = xen_shared::map(info);
    if (rc != 0)
        panic("mapping shared_info returned %ld", rc);
    kernel_entries::install();
    const direct_map::Range range = direct_map::extend(info);
    frames::init(range.first_free, range.limit);
    const bool shared_user_l4 = has_word(runtime::command_line(), "shared_user_l4");
    vm::init_kernel_space(physmap::virt_to_pfn(info.pt_base), shared_user_l4);
    print("kernel: %lu of %lu frames free, direct map up to pfn %#lx, %s\n", frames::free_count(), info.nr_pages,
          range.limit, shared_user_l4 ? "one L4 per process (shared_user_l4)" : "kernel and user L4 per process");
}

}  // namespace

unsigned guest_main(const start_info& info) {
    const char* command_line = runtime::command_line();
    if (has_word(command_line, "selftest"))
        workloads::install_selftest_panic_handler();
    boot(info);
    char workload[64];
    if (has_word(command_line, "selftest"))
        return workloads::selftest();
    if (runtime::command_line_option("workload", workload, sizeof workload))
        return workloads::run(workload);
    return workloads::hello();
}
