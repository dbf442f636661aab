#include "cpus.hpp"

#include "../lib/hypercall.hpp"
#include "../lib/page_table.hpp"
#include "../lib/panic.hpp"
#include "../lib/percpu.hpp"
#include "../lib/pvclock.hpp"
#include "../lib/shared_info.hpp"
#include "../lib/string.hpp"
#include "kernel_lock.hpp"
#include "trap_table.hpp"

extern "C" void failsafe_callback_entry();  // lib/trap_entry.S
extern "C" [[noreturn]] void secondary_main(unsigned id);

namespace cpus {
namespace {

constexpr uint64_t stack_size = 16384;
constexpr uint64_t start_timeout_ns = 5'000'000'000;

percpu::Header headers[max_cpus];
// The scheduler thread's stack of every vCPU but 0 (vCPU 0's is the boot stack).
alignas(4096) uint8_t stacks[max_cpus][stack_size];
unsigned cpu_count = 1;
volatile bool online[max_cpus];
vcpu_guest_context_t context;  // ~5 KiB: not on the stack; one vCPU at a time
void (*secondary_init)() = nullptr;
void (*secondary_scheduler)() = nullptr;

// What VCPUOP_up starts vCPU `id` with: secondary_main(id) on its own
// stack, kernel mode, events masked, vCPU 0's trap table and callbacks,
// the boot L4 (kernel mappings only; no user L4 yet), its header as GS base.
void fill_context(unsigned id) {
    memset(&context, 0, sizeof context);
    vcpu_guest_context_t& c = context;
    c.flags = VGCF_in_kernel | VGCF_failsafe_disables_events | VGCF_syscall_disables_events;
    c.user_regs.rip = reinterpret_cast<uint64_t>(secondary_main);
    // As after a call: the ABI wants rsp + 8 16-byte aligned at entry.
    c.user_regs.rsp = reinterpret_cast<uint64_t>(stacks[id]) + stack_size - 8;
    c.user_regs.rdi = id;
    c.user_regs.cs = FLAT_KERNEL_CS;
    c.user_regs.ss = FLAT_KERNEL_SS;
    c.user_regs.rflags = 0x2;
    kernel_entries::fill_trap_context(c.trap_ctxt);
    c.kernel_ss = FLAT_KERNEL_SS;
    c.kernel_sp = c.user_regs.rsp + 8;  // replaced by stack_switch before any user mode
    c.ctrlreg[3] = xen_pfn_to_cr3(pt::top_level_mfn());
    c.event_callback_eip = kernel_entries::event_entry();
    c.failsafe_callback_eip = reinterpret_cast<uint64_t>(failsafe_callback_entry);
    c.syscall_callback_eip = kernel_entries::syscall_entry_address();
    c.gs_base_kernel = reinterpret_cast<uint64_t>(&headers[id]);
}

}  // namespace

void init_boot_cpu() {
    for (unsigned id = 0; id < max_cpus; ++id) {
        headers[id].self = &headers[id];
        headers[id].vcpu = id;
    }
    if (long rc = percpu::install(headers[0]); rc != 0)
        panic("set_segment_base(SEGBASE_GS_KERNEL) returned %ld", rc);
    online[0] = true;
    // Xen: 0 (down) or 1 (up) for each vCPU the domain has, -ENOENT past them.
    while (cpu_count < max_cpus && hv::vcpu_op(VCPUOP_is_up, cpu_count, nullptr) >= 0)
        ++cpu_count;
}

unsigned count() { return cpu_count; }
uint64_t all_mask() { return cpu_count == 64 ? ~uint64_t{0} : (uint64_t{1} << cpu_count) - 1; }
unsigned self() { return percpu::vcpu(); }

void start_others(void (*per_cpu_init)(), void (*scheduler)()) {
    secondary_init = per_cpu_init;
    secondary_scheduler = scheduler;
    for (unsigned id = 1; id < cpu_count; ++id) {
        fill_context(id);
        xen_shared::vcpu(id)->evtchn_upcall_mask = 1;  // as every kernel entry: events masked until it idles
        if (long rc = hv::vcpu_op(VCPUOP_initialise, id, &context); rc != 0)
            panic("VCPUOP_initialise(vCPU %u) returned %ld", id, rc);
        if (long rc = hv::vcpu_op(VCPUOP_up, id, nullptr); rc != 0)
            panic("VCPUOP_up(vCPU %u) returned %ld", id, rc);
        // It initialises under the kernel lock, which we hold: let it go.
        kernel_lock::release();
        const uint64_t deadline = pvclock::system_time_ns() + start_timeout_ns;
        while (!__atomic_load_n(&online[id], __ATOMIC_ACQUIRE))
            if (pvclock::system_time_ns() > deadline)
                panic("vCPU %u did not come online within 5 s of VCPUOP_up", id);
        kernel_lock::acquire();
    }
}

}  // namespace cpus

extern "C" void secondary_main(unsigned id) {
    using namespace cpus;
    kernel_lock::acquire();
    secondary_init();
    __atomic_store_n(&online[id], true, __ATOMIC_RELEASE);
    secondary_scheduler();
    panic("vCPU %u: its scheduler returned", id);
}
