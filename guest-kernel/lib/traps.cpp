#include "traps.hpp"

#include "console.hpp"
#include "events.hpp"
#include "fault_probe.hpp"
#include "hypercall.hpp"
#include "panic.hpp"
#include "physmap.hpp"
#include "shared_info.hpp"

// Entry stubs (trap_entry.S).
extern "C" {
void trap_entry_de();
void trap_entry_db();
void trap_entry_bp();
void trap_entry_of();
void trap_entry_br();
void trap_entry_ud();
void trap_entry_nm();
void trap_entry_ts();
void trap_entry_np();
void trap_entry_ss();
void trap_entry_gp();
void trap_entry_pf();
void trap_entry_mf();
void trap_entry_ac();
void trap_entry_xm();
void event_callback_entry();
void failsafe_callback_entry();
extern uint64_t failsafe_selectors[4];
void handle_trap(traps::Frame* frame);
}

namespace traps {
namespace {

volatile bool armed = false;
unsigned armed_vector = 0;
Fault recorded{};
unsigned event_upcall_count = 0;
UserFaultHandler user_fault_handler = nullptr;
unsigned failsafe_count = 0;

long register_callback(uint16_t type, uint16_t flags, void (*entry)()) {
    callback_register request{};
    request.type = type;
    request.flags = flags;
    request.address = reinterpret_cast<xen_callback_t>(entry);
    return hv::callback_op(CALLBACKOP_register, &request);
}

// Move rip past an instruction the armed test expected to fault.
bool resume_after_expected_fault(Frame& frame) {
    if (uint64_t resume = probe::find_fixup(frame.rip); resume != 0) {
        frame.rip = resume;
        return true;
    }
    auto* code = reinterpret_cast<const uint8_t*>(frame.rip);
    if (frame.vector == invalid_opcode && code[0] == 0x0f && code[1] == 0x0b) {
        frame.rip += 2;  // ud2
        return true;
    }
    // Traps report the rip after the instruction already.
    return frame.vector == breakpoint || frame.vector == overflow;
}

// Every pending, unmasked port's handler (events::dispatch).
void handle_event_upcall() {
    ++event_upcall_count;
    if (xen_shared::page() != nullptr)
        events::dispatch();
}

}  // namespace

InstallResult install() {
    // Built at run time: function addresses are not constant expressions,
    // and a static table would need a dynamic initializer.
    trap_info table[] = {
        gate(divide_error, 0, trap_entry_de),
        gate(debug, 0, trap_entry_db),
        gate(breakpoint, 3, trap_entry_bp),
        gate(overflow, 3, trap_entry_of),
        gate(bound_range, 0, trap_entry_br),
        gate(invalid_opcode, 0, trap_entry_ud),
        gate(device_not_available, 0, trap_entry_nm),
        gate(invalid_tss, 0, trap_entry_ts),
        gate(segment_not_present, 0, trap_entry_np),
        gate(stack_fault, 0, trap_entry_ss),
        gate(general_protection, 0, trap_entry_gp),
        gate(page_fault, 0, trap_entry_pf),
        gate(x87_fpu, 0, trap_entry_mf),
        gate(alignment_check, 0, trap_entry_ac),
        gate(simd_fpu, 0, trap_entry_xm),
        trap_info{},  // sentinel: address == 0
    };
    InstallResult result{};
    result.trap_table = hv::set_trap_table(table);
    // The event handler needs shared_info; without it events stay masked
    // and unregistered.
    if (xen_shared::page() != nullptr) {
        result.event_callback = register_callback(CALLBACKTYPE_event, 0, event_callback_entry);
    }
    result.failsafe_callback = register_callback(CALLBACKTYPE_failsafe, CALLBACKF_mask_events, failsafe_callback_entry);
    return result;
}

void arm(unsigned vector) {
    recorded = Fault{};
    armed_vector = vector;
    armed = true;
}

Fault disarm() {
    armed = false;
    return recorded;
}

void set_user_fault_handler(UserFaultHandler handler) { user_fault_handler = handler; }

trap_info gate(unsigned vector, unsigned dpl, void (*handler)()) {
    trap_info t{};
    t.vector = static_cast<uint8_t>(vector);
    t.flags = static_cast<uint8_t>(dpl | 4);
    t.cs = FLAT_KERNEL_CS;
    t.address = reinterpret_cast<unsigned long>(handler);
    return t;
}

unsigned event_upcalls_seen() { return event_upcall_count; }
unsigned failsafe_callbacks_seen() { return failsafe_count; }

const char* vector_name(unsigned vector) {
    switch (vector) {
    case divide_error: return "#DE";
    case debug: return "#DB";
    case 2: return "NMI";
    case breakpoint: return "#BP";
    case overflow: return "#OF";
    case bound_range: return "#BR";
    case invalid_opcode: return "#UD";
    case device_not_available: return "#NM";
    case 8: return "#DF";
    case invalid_tss: return "#TS";
    case segment_not_present: return "#NP";
    case stack_fault: return "#SS";
    case general_protection: return "#GP";
    case page_fault: return "#PF";
    case x87_fpu: return "#MF";
    case alignment_check: return "#AC";
    case 18: return "#MC";
    case simd_fpu: return "#XM";
    case TRAP_VECTOR_EVENT_UPCALL: return "event upcall";
    case TRAP_VECTOR_FAILSAFE: return "failsafe callback";
    default: return "?";
    }
}

}  // namespace traps

void handle_trap(traps::Frame* frame) {
    using namespace traps;
    if (frame->vector == TRAP_VECTOR_EVENT_UPCALL) {
        handle_event_upcall();
        return;
    }
    if (frame->vector == TRAP_VECTOR_FAILSAFE) {
        ++failsafe_count;
        print("failsafe callback: could not reload ds=%#lx es=%#lx fs=%#lx gs=%#lx at rip %#lx\n",
              failsafe_selectors[0], failsafe_selectors[1], failsafe_selectors[2], failsafe_selectors[3], frame->rip);
        return;
    }

    volatile vcpu_info* vcpu = xen_shared::this_vcpu();
    uint64_t cr2 = vcpu != nullptr ? vcpu->arch.cr2 : physmap::invalid_frame;

    if (armed && frame->vector == armed_vector) {
        armed = false;
        recorded.taken = true;
        recorded.vector = static_cast<unsigned>(frame->vector);
        recorded.error_code = frame->error_code;
        recorded.rip = frame->rip;
        recorded.cs = static_cast<uint16_t>(frame->cs);
        recorded.saved_upcall_mask = static_cast<uint8_t>(frame->cs >> 32);
        recorded.rflags = frame->rflags;
        recorded.rsp = frame->rsp;
        recorded.ss = static_cast<uint16_t>(frame->ss);
        recorded.cr2 = frame->vector == page_fault ? cr2 : 0;
        if (resume_after_expected_fault(*frame))
            return;
        panic("expected %s at rip %#lx, but no way to resume after it", vector_name(recorded.vector), frame->rip);
    }

    if ((frame->cs & 3) == 3 && user_fault_handler != nullptr && user_fault_handler(*frame))
        return;

    panic(
        "unexpected %s (vector %lu) error code %#lx at rip %#lx (cs %#lx rflags %#lx rsp %#lx)"
        " cr2 %#lx%s",
        vector_name(static_cast<unsigned>(frame->vector)), frame->vector, frame->error_code, frame->rip, frame->cs,
        frame->rflags, frame->rsp, cr2, armed ? " while armed for another vector" : "");
}
