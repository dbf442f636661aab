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

namespace {

constexpr unsigned gate_count = 15;

// Built at run time: function addresses are not constant expressions.
// Fills table[0 .. gate_count).
void gates(trap_info* table) {
    using namespace traps;
    const trap_info all[gate_count] = {
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
    };
    for (unsigned i = 0; i < gate_count; ++i)
        table[i] = all[i];
}

}  // namespace

void fill_trap_context(trap_info (&by_vector)[256]) {
    trap_info table[gate_count];
    gates(table);
    for (const trap_info& t : table)
        by_vector[t.vector] = t;
}

uint64_t event_entry() { return reinterpret_cast<uint64_t>(kernel_event_entry); }
uint64_t syscall_entry_address() { return reinterpret_cast<uint64_t>(syscall_entry); }

void install() {
    // The runtime's handlers first: they register the event and failsafe
    // callbacks; our table then replaces its exception entries.
    traps::install();
    trap_info table[gate_count + 1];
    gates(table);
    table[gate_count] = trap_info{};  // sentinel: address == 0
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
