#include "trap_table.hpp"

#include "../lib/hypercall.hpp"
#include "../lib/panic.hpp"
#include "../lib/traps.hpp"

extern "C" {
void syscall_entry();
void kernel_trap_de();
void kernel_trap_db();
void kernel_trap_bp();
void kernel_trap_of();
void kernel_trap_br();
void kernel_trap_ud();
void kernel_trap_nm();
void kernel_trap_ts();
void kernel_trap_np();
void kernel_trap_ss();
void kernel_trap_gp();
void kernel_trap_pf();
void kernel_trap_mf();
void kernel_trap_ac();
void kernel_trap_xm();
void kernel_event_entry();
}

namespace kernel_entries {

void install() {
    using namespace traps;
    // The runtime's handlers first: they register the event and failsafe
    // callbacks; our table then replaces its exception entries.
    traps::install();
    trap_info table[] = {
        gate(divide_error, 0, kernel_trap_de),
        gate(debug, 0, kernel_trap_db),
        gate(breakpoint, 3, kernel_trap_bp),
        gate(overflow, 3, kernel_trap_of),
        gate(bound_range, 0, kernel_trap_br),
        gate(invalid_opcode, 0, kernel_trap_ud),
        gate(device_not_available, 0, kernel_trap_nm),
        gate(invalid_tss, 0, kernel_trap_ts),
        gate(segment_not_present, 0, kernel_trap_np),
        gate(stack_fault, 0, kernel_trap_ss),
        gate(general_protection, 0, kernel_trap_gp),
        gate(page_fault, 0, kernel_trap_pf),
        gate(x87_fpu, 0, kernel_trap_mf),
        gate(alignment_check, 0, kernel_trap_ac),
        gate(simd_fpu, 0, kernel_trap_xm),
        trap_info{},
    };
    long rc = hv::set_trap_table(table);
    if (rc != 0)
        panic("set_trap_table returned %ld", rc);
    callback_register callback{};
    callback.type = CALLBACKTYPE_syscall;
    callback.flags = CALLBACKF_mask_events;
    callback.address = reinterpret_cast<xen_callback_t>(syscall_entry);
    rc = hv::callback_op(CALLBACKOP_register, &callback);
    if (rc != 0)
        panic("CALLBACKOP_register(syscall) returned %ld", rc);
    // Our own event entry instead of the runtime's: it may preempt.
    callback = callback_register{};
    callback.type = CALLBACKTYPE_event;
    callback.address = reinterpret_cast<xen_callback_t>(kernel_event_entry);
    rc = hv::callback_op(CALLBACKOP_register, &callback);
    if (rc != 0)
        panic("CALLBACKOP_register(event) returned %ld", rc);
}

}  // namespace kernel_entries
