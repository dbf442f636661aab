// `int $0x80` with no trap-table entry for vector 0x80: Xen turns it into
// #GP with error code (0x80 << 3) | 2, reported at the int instruction
// (entry.S int80_slow_path, traps.c do_general_protection).
#include "../lib/fault_probe.hpp"
#include "fault_checks.hpp"
#include "subtest.hpp"

Outcome test_int80() {
    uint64_t int_at = 0;
    traps::Fault fault = traps::catch_fault(traps::general_protection, [&] { int_at = probe::int80(); });
    REQUIRE_KERNEL_FAULT(fault, traps::general_protection, "int $0x80");
    REQUIRE(fault.error_code == traps::soft_interrupt_error_code(0x80), "#GP error code %#lx, expected %#lx",
            fault.error_code, traps::soft_interrupt_error_code(0x80));
    REQUIRE(fault.rip == int_at, "#GP at rip %#lx, the int $0x80 is at %#lx", fault.rip, int_at);
    return passed();
}
