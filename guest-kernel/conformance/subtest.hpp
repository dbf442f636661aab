// Conformance subtests: each returns an Outcome; main.cpp prints one line
// per subtest and a single XTF-style verdict line.
#pragma once

#include "../lib/cpu.hpp"
#include "../lib/traps.hpp"
#include "../lib/xen.hpp"

struct Outcome {
    enum class Kind { ok, failure, skip };
    Kind kind;
    char reason[224];
};

Outcome passed();
__attribute__((format(printf, 1, 2))) Outcome failed(const char* format, ...);
__attribute__((format(printf, 1, 2))) Outcome skipped(const char* format, ...);

// Ends the subtest with a failure unless `condition` holds.
#define REQUIRE(condition, ...)         \
    do {                                \
        if (!(condition))               \
            return failed(__VA_ARGS__); \
    } while (0)

// What main.cpp observed before the subtests ran.
struct Setup {
    const start_info* info;
    uint16_t cs_at_entry;
    uint16_t ss_at_entry;
    cpu::CpuidResult hypervisor_leaf_before_traps;  // forced-emulation CPUID, no trap table yet
    long map_shared_info;
    uint8_t upcall_mask_at_entry;
    traps::InstallResult install;
};
const Setup& setup();

// One file each.
Outcome test_start_info();
Outcome test_xen_version();
Outcome test_m2p();
Outcome test_segments();
Outcome test_traps();
Outcome test_cpuid();
Outcome test_mmu();
Outcome test_security();
Outcome test_int80();
Outcome test_privileged();
Outcome test_stale_tlb();
Outcome test_user_mode();
Outcome test_tlb_refresh();
Outcome test_mmuext();
Outcome test_multicall();
Outcome test_refusals();
Outcome test_ldt();
Outcome test_linux_abi();
Outcome test_monitor_probe();
// Events and time (events_support.hpp).
Outcome test_evtchn_ops();
Outcome test_evtchn_mask();
Outcome test_upcalls();
Outcome test_block_poll();
Outcome test_timers();
Outcome test_timer_accuracy();
Outcome test_pvclock();
Outcome test_wallclock();
Outcome test_runstate();
Outcome test_callbacks();
Outcome test_iret_frames();
Outcome test_evtchn_reset();
Outcome test_vcpu_info();
Outcome test_smp();              // needs --vcpus 2 (skipped with one)
Outcome test_iret_unreadable();  // only when named: it crashes the domain
