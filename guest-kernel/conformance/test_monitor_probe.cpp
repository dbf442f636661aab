// Monitor memory the guest kernel must never read: the monitor image beyond
// the entry text, the direct map, and another vCPU's stack. Every read must
// fault; the #PF error code's P bit then tells how the monitor hid it. With
// XPTI the guest runs on restricted roots that do not map these at all
// (P=0); without XPTI the image and the direct map are mapped
// supervisor-only (P=1). The ABI does not tell the guest which case applies,
// so the command line does: `probe=xpti` or `probe=noxpti`; without either,
// only the faults are checked.
#include "../../guest-abi/layout.hpp"
#include "../lib/console.hpp"
#include "../lib/fault_probe.hpp"
#include "../lib/runtime.hpp"
#include "../lib/string.hpp"
#include "fault_checks.hpp"
#include "subtest.hpp"

namespace {

struct Target {
    uint64_t address;
    const char* what;
    bool mapped_without_xpti;  // vCPU 1's area exists only with two vCPUs or more
};

const Target targets[] = {
    {layout::kMonitorImageVirt + 0x10000, "the monitor image beyond the entry text", true},
    {layout::kDirectMapVirt + 0x1000000, "the direct map", true},
    {layout::percpu_virt(1) + layout::percpu::kStackOffset, "vCPU 1's stack (mapped only if vCPU 1 exists)", false},
};

}  // namespace

Outcome test_monitor_probe() {
    char mode[16] = "";
    runtime::command_line_option("probe", mode, sizeof mode);
    const bool xpti = strcmp(mode, "xpti") == 0, no_xpti = strcmp(mode, "noxpti") == 0;
    REQUIRE(mode[0] == '\0' || xpti || no_xpti, "probe=%s: expected probe=xpti or probe=noxpti", mode);

    for (const Target& target : targets) {
        const traps::Fault fault = traps::catch_fault(traps::page_fault, [&] { probe::read_u64(target.address); });
        REQUIRE_KERNEL_FAULT(fault, traps::page_fault, target.what);
        REQUIRE(fault.cr2 == target.address, "%s: cr2 %#lx, expected %#lx", target.what, fault.cr2, target.address);
        const bool present = (fault.error_code & traps::pf_present) != 0;
        print("monitor_probe: %#lx fault error 0x%lx (%s): %s\n", target.address, fault.error_code,
              present ? "present, supervisor-only" : "not present", target.what);
        REQUIRE(!xpti || !present, "%s at %#lx is mapped (#PF error %#lx); probe=xpti expects it absent", target.what,
                target.address, fault.error_code);
        REQUIRE(!no_xpti || present || !target.mapped_without_xpti,
                "%s at %#lx is not mapped (#PF error %#lx); probe=noxpti expects it mapped supervisor-only",
                target.what, target.address, fault.error_code);
    }
    return passed();
}
