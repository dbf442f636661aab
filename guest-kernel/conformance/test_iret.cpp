// HYPERVISOR_iret with frames the CPU refuses (Xen's do_iret, and the
// fault of the return to the guest reflected as in entry.S).
//
// iret_frames: a valid kernel-mode frame lands where it says with rax from
// the iret context. A non-canonical rip (kernel mode, then user mode) ends
// in the guest's own #GP handler with that rip and the target's rsp: on
// Intel the monitor's iretq faults and the fault is reflected, on AMD the
// target's fetch faults in the guest; both must end at the guest's #GP
// handler (the iret hypercall itself has no canonical check, as Xen). A CS
// beyond the GDT, a CS naming a data segment or Xen's ring-0 code
// segment, an SS beyond the GDT and a null SS give #GP with the selector
// (0 for the null SS) as error code; in kernel mode the bounce frame is on
// the target's stack with the selector's RPL cleared, in user mode on the
// stack_switch stack. The guest recovers each time (its handler returns
// from the probe) and the monitor survives.
// iret_unreadable (only=iret_unreadable, not in the full run): an iret
// whose frame the monitor cannot read (rsp unmapped) crashes the domain:
// pvvmm exits with status 1 and logs "domain crashed".
#include "../lib/console.hpp"
#include "../lib/iret_probe.hpp"
#include "../lib/traps.hpp"
#include "events_support.hpp"

extern "C" {
void conf_iret_landing();
void conf_iret_unreadable(uint64_t rsp);
void conf_iret_fault_6();
void conf_iret_fault_11();
void conf_iret_fault_12();
void conf_iret_fault_13();
void conf_iret_fault_14();
// vector, error code, rip, cs, rflags, rsp, ss, handler rsp, upcall mask.
extern uint64_t conf_iret_fault[9];
extern uint64_t conf_iret_landed[3];  // rax, rsp, rflags
void trap_entry_de();
void trap_entry_db();
void trap_entry_bp();
void trap_entry_of();
void trap_entry_br();
void trap_entry_nm();
void trap_entry_ts();
void trap_entry_mf();
void trap_entry_ac();
void trap_entry_xm();
}

namespace {

constexpr uint64_t kNonCanonical = 0x0000'8000'0000'1000;
constexpr uint64_t kRflags = 0x2;         // IF clear: the iret leaves events masked
constexpr uint16_t kXenRing0Cs = 0xe008;  // __HYPERVISOR_CS: DPL 0

// The library's table, with #UD, #NP, #SS, #GP and #PF recorded by the probe.
long install_probe_handlers() {
    trap_info table[] = {
        traps::gate(traps::divide_error, 0, trap_entry_de),
        traps::gate(traps::debug, 0, trap_entry_db),
        traps::gate(traps::breakpoint, 3, trap_entry_bp),
        traps::gate(traps::overflow, 3, trap_entry_of),
        traps::gate(traps::bound_range, 0, trap_entry_br),
        traps::gate(traps::invalid_opcode, 0, conf_iret_fault_6),
        traps::gate(traps::device_not_available, 0, trap_entry_nm),
        traps::gate(traps::invalid_tss, 0, trap_entry_ts),
        traps::gate(traps::segment_not_present, 0, conf_iret_fault_11),
        traps::gate(traps::stack_fault, 0, conf_iret_fault_12),
        traps::gate(traps::general_protection, 0, conf_iret_fault_13),
        traps::gate(traps::page_fault, 0, conf_iret_fault_14),
        traps::gate(traps::x87_fpu, 0, trap_entry_mf),
        traps::gate(traps::alignment_check, 0, trap_entry_ac),
        traps::gate(traps::simd_fpu, 0, trap_entry_xm),
        trap_info{},
    };
    return hv::set_trap_table(table);
}

struct Case {
    const char* what;
    uint64_t rip;
    uint16_t cs;
    uint16_t ss;
    bool user;
    uint64_t error;  // of the expected #GP
};

uint64_t target_stack() { return physmap::address_of(conf_iret_stack) + 4096 - 256; }

Outcome run_case(const Case& c) {
    const uint64_t rsp = c.user ? evs::kUserRsp : target_stack();
    const uint64_t frame[6] = {c.rip, c.cs, kRflags, rsp, c.ss, 0};
    for (unsigned i = 0; i < 9; ++i)
        conf_iret_fault[i] = 0;
    const uint64_t rc = iret_probe(frame, 0x1e7);
    const uint64_t* f = conf_iret_fault;
    REQUIRE(rc == 1, "%s: the iret %s instead of faulting", c.what, rc == 2 ? "landed" : "returned");
    REQUIRE(f[0] == traps::general_protection, "%s: %s (error %#lx at rip %#lx), expected #GP", c.what,
            traps::vector_name(static_cast<unsigned>(f[0])), f[1], f[2]);
    REQUIRE(f[1] == c.error, "%s: #GP error code %#lx, expected %#lx", c.what, f[1], c.error);
    REQUIRE(f[2] == c.rip, "%s: #GP reported at rip %#lx, expected the iret target %#lx", c.what, f[2], c.rip);
    const uint16_t cs = static_cast<uint16_t>(f[3]);
    const uint16_t expected_cs = c.user ? static_cast<uint16_t>(c.cs | 3) : static_cast<uint16_t>(c.cs & ~3);
    REQUIRE(cs == expected_cs, "%s: frame cs %#x, expected %#x", c.what, cs, expected_cs);
    REQUIRE(f[5] == rsp, "%s: frame rsp %#lx, expected the target's %#lx", c.what, f[5], rsp);
    REQUIRE(((f[3] >> 32) & 0xff) == 1, "%s: saved upcall mask %lu, expected 1 (the iret had IF clear)", c.what,
            (f[3] >> 32) & 0xff);
    // RCX, R11, error code, RIP, CS, RFLAGS, RSP, SS below the 16-byte aligned stack.
    const uint64_t expected_frame = (c.user ? evs::kernel_stack_top() : rsp & ~0xfull) - 8 * 8;
    REQUIRE(f[7] == expected_frame, "%s: the #GP frame is at %#lx, expected %#lx (%s)", c.what, f[7], expected_frame,
            c.user ? "top of the stack_switch stack" : "below the target's stack pointer");
    REQUIRE(f[8] == 1, "%s: upcall mask %lu in the #GP handler, expected 1 (its gate masks events)", c.what, f[8]);
    return passed();
}

}  // namespace

Outcome test_iret_frames() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    const char* why = evs::prepare_user_space();
    REQUIRE(why == nullptr, "%s", why);
    REQUIRE(install_probe_handlers() == 0, "set_trap_table failed");
    events::disable();

    Outcome o = passed();
    // A valid frame first: the probe itself works.
    const uint64_t good[6] = {reinterpret_cast<uint64_t>(conf_iret_landing),
                              FLAT_KERNEL_CS & ~3u,
                              kRflags,
                              target_stack(),
                              FLAT_KERNEL_SS,
                              0};
    const uint64_t landed = iret_probe(good, 0x1e7);
    if (landed != 2 || conf_iret_landed[0] != 0x1e7 || conf_iret_landed[1] != target_stack())
        o = failed("a valid iret frame: probe result %lu, rax %#lx rsp %#lx (expected 2, 0x1e7, %#lx)", landed,
                   conf_iret_landed[0], conf_iret_landed[1], target_stack());

    const uint16_t kcs = FLAT_KERNEL_CS & ~3u, kss = FLAT_KERNEL_SS;
    const uint64_t landing = reinterpret_cast<uint64_t>(conf_iret_landing);
    const Case kernel_cases[] = {
        {"kernel mode, non-canonical rip", kNonCanonical, kcs, kss, false, 0},
        {"kernel mode, CS beyond the GDT", landing, 0xfff0, kss, false, 0xfff0},
        {"kernel mode, CS a data segment", landing, FLAT_KERNEL_SS & ~3u, kss, false, FLAT_KERNEL_SS & ~3u},
        {"kernel mode, CS Xen's ring-0 code", landing, kXenRing0Cs, kss, false, kXenRing0Cs},
        {"kernel mode, SS beyond the GDT", landing, kcs, 0xfff8, false, 0xfff8},
        {"kernel mode, null SS", landing, kcs, 0, false, 0},
    };
    for (const Case& c : kernel_cases)
        if (o.kind == Outcome::Kind::ok)
            o = run_case(c);

    // User mode: the low user L4 as base pointer, faults bounce on the stack_switch stack.
    const Case user_cases[] = {
        {"user mode, non-canonical rip", kNonCanonical, FLAT_USER_CS64, FLAT_USER_SS, true, 0},
        {"user mode, SS beyond the GDT", evs::kUserCodeVa, FLAT_USER_CS64, 0xfff8, true, 0xfff8},
        {"user mode, CS beyond the GDT", evs::kUserCodeVa, 0xfff3, FLAT_USER_SS, true, 0xfff0},
    };
    if (o.kind == Outcome::Kind::ok && evs::use_user_space() != 0)
        o = failed("setting the user base pointer or the kernel stack failed");
    for (const Case& c : user_cases)
        if (o.kind == Outcome::Kind::ok)
            o = run_case(c);
    evs::drop_user_space();
    traps::install();
    evs::register_callback(CALLBACKTYPE_event, reinterpret_cast<uint64_t>(conf_event_entry));
    events::disable();
    return o;
}

Outcome test_iret_unreadable() {
    print(
        "conformance: iret_unreadable: HYPERVISOR_iret with rsp at an unmapped address: the domain must crash "
        "now\n");
    console::flush();
    conf_iret_unreadable(0x0000'4000'0000'0000);
    return failed("HYPERVISOR_iret with an unreadable frame returned");
}
