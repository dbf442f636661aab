// The conformance guest: behaves like a third-party Xen PV guest, checks
// what Xen's x86-64 PV ABI promises, prints "conformance: <name>: ok" (or
// the failure) per subtest, and ends with exactly one verdict line:
//   Test result: SUCCESS | FAILURE: <reason> | SKIP: <reason>
// then SHUTDOWN_poweroff on success/skip, SHUTDOWN_crash on failure.
// Command line (space-separated words): "only=<subtest>" runs one subtest;
// "probe=xpti|noxpti" sets what monitor_probe expects (test_monitor_probe.cpp).
#include <stdarg.h>

#include "../lib/console.hpp"
#include "../lib/format.hpp"
#include "../lib/panic.hpp"
#include "../lib/runtime.hpp"
#include "../lib/shared_info.hpp"
#include "../lib/shutdown.hpp"
#include "../lib/string.hpp"
#include "subtest.hpp"

namespace {

struct Subtest {
    const char* name;
    Outcome (*run)();
};

constexpr Subtest subtests[] = {
    {"start_info", test_start_info},
    {"xen_version", test_xen_version},
    {"m2p", test_m2p},
    {"segments", test_segments},
    {"traps", test_traps},
    {"cpuid", test_cpuid},
    {"mmu", test_mmu},
    {"security", test_security},
    {"int80", test_int80},
    {"privileged", test_privileged},
    {"stale_tlb", test_stale_tlb},
    {"user_mode", test_user_mode},
    {"tlb_refresh", test_tlb_refresh},
    {"mmuext", test_mmuext},
    {"multicall", test_multicall},
    {"refusals", test_refusals},
    {"ldt", test_ldt},
    {"monitor_probe", test_monitor_probe},
};

Setup observed{};
const char* current_subtest = "setup";

Outcome make(Outcome::Kind kind, const char* format, va_list arguments) {
    Outcome outcome{kind, {}};
    vformat_to(outcome.reason, sizeof outcome.reason, format, arguments);
    return outcome;
}

[[noreturn]] void verdict_failure(const char* where, const char* reason) {
    console::end_line();
    print("Test result: FAILURE: %s: %s\n", where, reason);
    crash();
}

// An unexpected fault or any panic ends the test with a FAILURE verdict.
void on_panic(const char* reason) { verdict_failure(current_subtest, reason); }

void observe_start_of_day(const start_info& info) {
    observed.info = &info;
    observed.cs_at_entry = cpu::read_cs();
    observed.ss_at_entry = cpu::read_ss();
    // Before any trap table exists: must be emulated, not bounced.
    observed.hypervisor_leaf_before_traps = cpu::forced_emulation_cpuid(XEN_CPUID_FIRST_LEAF);
    observed.map_shared_info = xen_shared::map(info);
    if (observed.map_shared_info != 0) {
        verdict_failure("setup", "mapping shared_info with update_va_mapping failed");
    }
    observed.upcall_mask_at_entry = xen_shared::vcpu0()->evtchn_upcall_mask;
    observed.install = traps::install();
    if (observed.install.trap_table != 0) {
        char reason[96];
        format_to(reason, sizeof reason, "set_trap_table returned %ld", observed.install.trap_table);
        verdict_failure("setup", reason);
    }
}

void report(const char* name, const Outcome& outcome) {
    switch (outcome.kind) {
    case Outcome::Kind::ok: print("conformance: %s: ok\n", name); break;
    case Outcome::Kind::failure: print("conformance: %s: FAILED: %s\n", name, outcome.reason); break;
    case Outcome::Kind::skip: print("conformance: %s: skipped: %s\n", name, outcome.reason); break;
    }
}

}  // namespace

Outcome passed() { return Outcome{Outcome::Kind::ok, {}}; }

Outcome failed(const char* format, ...) {
    va_list arguments;
    va_start(arguments, format);
    Outcome outcome = make(Outcome::Kind::failure, format, arguments);
    va_end(arguments);
    return outcome;
}

Outcome skipped(const char* format, ...) {
    va_list arguments;
    va_start(arguments, format);
    Outcome outcome = make(Outcome::Kind::skip, format, arguments);
    va_end(arguments);
    return outcome;
}

const Setup& setup() { return observed; }

unsigned guest_main(const start_info& info) {
    set_panic_handler(on_panic);
    print("conformance: pvvmm Xen PV ABI conformance guest\n");
    print("conformance: command line \"%s\"\n", runtime::command_line());
    observe_start_of_day(info);

    char only[32] = "";
    bool selected = runtime::command_line_option("only", only, sizeof only);
    if (selected) {
        bool known = false;
        for (const Subtest& subtest : subtests)
            known = known || strcmp(subtest.name, only) == 0;
        if (!known)
            verdict_failure("command line", "only=<subtest> names no subtest");
    }

    const char* first_failure = nullptr;
    char failure_reason[sizeof Outcome::reason] = "";
    unsigned ran = 0, skipped_count = 0;
    char skip_reason[sizeof Outcome::reason] = "";
    for (const Subtest& subtest : subtests) {
        if (selected && strcmp(subtest.name, only) != 0)
            continue;
        current_subtest = subtest.name;
        Outcome outcome = subtest.run();
        report(subtest.name, outcome);
        ++ran;
        if (outcome.kind == Outcome::Kind::failure && first_failure == nullptr) {
            first_failure = subtest.name;
            memcpy(failure_reason, outcome.reason, sizeof failure_reason);
        }
        if (outcome.kind == Outcome::Kind::skip) {
            ++skipped_count;
            memcpy(skip_reason, outcome.reason, sizeof skip_reason);
        }
    }
    current_subtest = "teardown";

    if (first_failure == nullptr && traps::failsafe_callbacks_seen() != 0) {
        first_failure = "failsafe";
        format_to(failure_reason, sizeof failure_reason, "%u failsafe callback(s) taken",
                  traps::failsafe_callbacks_seen());
    }
    if (first_failure != nullptr)
        verdict_failure(first_failure, failure_reason);
    if (skipped_count == ran) {
        print("Test result: SKIP: %s\n", skip_reason);
        return SHUTDOWN_poweroff;
    }
    print("Test result: SUCCESS\n");
    return SHUTDOWN_poweroff;
}
