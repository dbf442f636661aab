// Exception delivery: HYPERVISOR_set_trap_table and CALLBACKOP_register
// succeeded (main.cpp), and #PF, #UD, #BP and #DE arrive as Xen bounce
// frames whose handlers resume through HYPERVISOR_iret.
#include "../lib/fault_probe.hpp"
#include "../lib/physmap.hpp"
#include "fault_checks.hpp"
#include "subtest.hpp"

extern "C" char boot_stack_bottom[], boot_stack_top[];
extern "C" uint64_t int3_register_check();  // register_check.S

namespace {

// In the lower half, where a PV domU's boot page tables map nothing.
constexpr uint64_t unmapped_address = 0x0000'4000'0000'0123;

}  // namespace

Outcome test_traps() {
    const traps::InstallResult& install = setup().install;
    REQUIRE(install.trap_table == 0, "set_trap_table returned %ld", install.trap_table);
    REQUIRE(install.event_callback == 0, "CALLBACKOP_register(event) returned %ld", install.event_callback);
    REQUIRE(install.failsafe_callback == 0, "CALLBACKOP_register(failsafe) returned %ld", install.failsafe_callback);

    // #PF on a read of an unmapped address. The guest kernel believes it
    // runs in ring 0, so Xen clears the user bit of the error code.
    traps::Fault fault = traps::catch_fault(traps::page_fault, [] { probe::read_u64(unmapped_address); });
    REQUIRE_KERNEL_FAULT(fault, traps::page_fault, "read of an unmapped address");
    REQUIRE((fault.error_code & (traps::pf_present | traps::pf_write | traps::pf_user | traps::pf_reserved_bit)) == 0,
            "#PF error code %#lx, expected not-present read from kernel mode (0)", fault.error_code);
    REQUIRE(fault.cr2 == unmapped_address, "vcpu_info.arch.cr2 %#lx, expected %#lx", fault.cr2, unmapped_address);
    REQUIRE(probe::find_fixup(fault.rip) != 0, "#PF reported at rip %#lx, not at the faulting load", fault.rip);
    uint64_t stack_low = physmap::address_of(boot_stack_bottom);
    uint64_t stack_high = physmap::address_of(boot_stack_top);
    REQUIRE(fault.rsp > stack_low && fault.rsp <= stack_high, "bounce frame rsp %#lx not on our stack", fault.rsp);

    // #UD: ud2 is a fault, reported at the ud2; the handler skips it.
    uint64_t ud2_at = 0;
    fault = traps::catch_fault(traps::invalid_opcode, [&] { ud2_at = probe::ud2(); });
    REQUIRE_KERNEL_FAULT(fault, traps::invalid_opcode, "ud2");
    REQUIRE(fault.rip == ud2_at, "#UD at rip %#lx, the ud2 is at %#lx", fault.rip, ud2_at);

    // #BP: int3 is a trap, reported with rip after the instruction.
    uint64_t after_int3 = 0;
    fault = traps::catch_fault(traps::breakpoint, [&] { after_int3 = probe::int3(); });
    REQUIRE_KERNEL_FAULT(fault, traps::breakpoint, "int3");
    REQUIRE(fault.rip == after_int3, "#BP with rip %#lx, expected %#lx (after the int3)", fault.rip, after_int3);

    // Every register and the arithmetic flags survive the bounce frame and
    // HYPERVISOR_iret (rcx/r11 travel in iret_context).
    uint64_t clobbered = 0;
    fault = traps::catch_fault(traps::breakpoint, [&] { clobbered = int3_register_check(); });
    REQUIRE(fault.taken, "no #BP from the register check");
    REQUIRE(clobbered == 0,
            "registers changed across #BP + iret (mask %#lx: bit n = GPR n in "
            "rax,rbx,rcx,rdx,rsi,rdi,rbp,r8..r15 order, bit 15 = CF/DF)",
            clobbered);

    // #DE: a fault, reported at the div.
    uint64_t div_at = 0;
    fault = traps::catch_fault(traps::divide_error, [&] { div_at = probe::divide_by_zero(); });
    REQUIRE_KERNEL_FAULT(fault, traps::divide_error, "division by zero");
    REQUIRE(fault.rip == div_at, "#DE at rip %#lx, the div is at %#lx", fault.rip, div_at);

    REQUIRE(traps::event_upcalls_seen() == 0, "event upcall delivered while upcalls are masked");
    return passed();
}
