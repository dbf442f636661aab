// The conformance guest: behaves like a third-party Xen PV guest, checks
// what Xen's x86-64 PV ABI promises, prints "conformance: <name>: ok" (or
// the failure) per subtest, and ends with exactly one verdict line:
//   Test result: SUCCESS | FAILURE: <reason> | SKIP: <reason>
// then SHUTDOWN_poweroff on success/skip, SHUTDOWN_crash on failure.
// Command line (space-separated words): "only=<subtest>[,<subtest>...]"
// runs those subtests (subtests marked "only when named" run only so);
// "probe=xpti|noxpti" sets what monitor_probe expects (test_monitor_probe.cpp);
// "sleep_tolerance_us=N", "timer_samples=N" (timer_accuracy) and
// "pvclock_sleeps=N" (pvclock).
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
    bool only_when_named = false;  // not part of the full run
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
    {"linux_abi", test_linux_abi},
    {"monitor_probe", test_monitor_probe},
    // Events and time. evtchn_reset rebinds the backends' ports and
    // vcpu_info cannot be undone: they come last.
    {"evtchn_ops", test_evtchn_ops},
    {"evtchn_mask", test_evtchn_mask},
    {"upcalls", test_upcalls},
    {"timers", test_timers},
    {"block_poll", test_block_poll},
    {"timer_accuracy", test_timer_accuracy},
    {"pvclock", test_pvclock},
    {"wallclock", test_wallclock},
    {"runstate", test_runstate},
    {"callbacks", test_callbacks},
    {"iret_frames", test_iret_frames},
    {"evtchn_reset", test_evtchn_reset},
    {"vcpu_info", test_vcpu_info},
    // Brings vCPU 1 up for good (VCPUOP_initialise works once) and leaves it down.
    {"smp", test_smp},
    {"iret_unreadable", test_iret_unreadable, true},
};

// Whether `name` is one of the comma-separated names in `list`.
bool named(const char* list, const char* name) {
    const size_t length = strlen(name);
    for (const char* cursor = list; *cursor != '\0';) {
        const char* start = cursor;
        while (*cursor != '\0' && *cursor != ',')
            ++cursor;
        if (static_cast<size_t>(cursor - start) == length && strncmp(start, name, length) == 0)
            return true;
        if (*cursor == ',')
            ++cursor;
    }
    return false;
}

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

    char only[256] = "";
    bool selected = runtime::command_line_option("only", only, sizeof only);
    if (selected) {
        unsigned known = 0, names = 1;
        for (const char* c = only; *c != '\0'; ++c)
            names += *c == ',';
        for (const Subtest& subtest : subtests)
            known += named(only, subtest.name);
        if (known != names)
            verdict_failure("command line", "only=<subtest>[,<subtest>...] names no subtest");
    }

    const char* first_failure = nullptr;
    char failure_reason[sizeof Outcome::reason] = "";
    unsigned ran = 0, skipped_count = 0;
    char skip_reason[sizeof Outcome::reason] = "";
    for (const Subtest& subtest : subtests) {
        if (selected ? !named(only, subtest.name) : subtest.only_when_named)
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
