// Private monitor <-> host channel, one per vCPU at layout::channel_gpa(cpu).
// The monitor fills a buffer and rings a doorbell port (KVM_EXIT_IO); the
// host drains the buffer before it resumes the vCPU, so no locking is needed.
// Counters are written by the monitor only and read by the host at exit.
#pragma once

#include <stdint.h>

#include "guest-abi/counters.hpp"
#include "guest-abi/layout.hpp"

namespace abi {

inline constexpr uint32_t kConsoleBufSize = 2048;
inline constexpr uint32_t kLogBufSize = 512;
inline constexpr uint32_t kPanicMsgSize = 256;
inline constexpr uint32_t kConsoleInSize = 1024;  // host -> guest console bytes (a ring)

// Work the host posts to a vCPU (HostChannel::posted), then it kicks the
// vCPU with an MSI (layout::kHostKickVector).
enum HostPost : uint32_t {
    kPostConsoleInput = 1u << 0,  // bytes in console_in for the guest's console ring
};

// Register state at a panic, in the order of monitor::GuestRegs' GPRs.
struct PanicRegs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags, cs, ss, cr0, cr2, cr3, cr4;
    uint64_t vector, error_code;
};

// Facts the monitor's start-up probe found about the host's KVM.
enum HostQuirk : uint32_t {
    kQuirkSyscallStaysInRing3 = 1u << 0,  // syscall from ring 3 lands at LSTAR in CPL3
    kQuirkIntNRaisesUd = 1u << 1,         // `int N` from ring 3 raises #UD
    kQuirkSlot256FaultsRing3 = 1u << 2,   // ring 3 cannot read L4 slot 256
    kQuirkRing0Emulated = 1u << 3,        // ring 0 runs in KVM's instruction emulator
    kQuirkRing3HostSelectors = 1u << 4,   // ring 3 reads the host's selectors (cs 0x33), not 0xe033
};

// CPUID leaf (forced-emulation or plain #UD path) where the monitor reports
// the host quirks it found: eax = HostQuirk bits, ebx:ecx:edx = "pvvmmQuirks!".
inline constexpr uint32_t kQuirkCpuidLeaf = 0x4000ff00;

struct HostChannel {
    // console: guest console bytes, flushed on port::kConsole
    uint32_t console_len;
    char console[kConsoleBufSize];
    // log: one monitor log line, flushed on port::kLog
    uint32_t log_level;
    uint32_t log_len;
    char log[kLogBufSize];
    // panic: message and register dump, flushed on port::kPanic
    char panic_msg[kPanicMsgSize];
    PanicRegs panic_regs;
    // probe results (vCPU 0 fills them during boot)
    uint32_t quirks;
    // xenstore: the host sets it when serving the store ring on
    // port::kXenstore wrote replies or watch events (the monitor then raises
    // the store event channel and clears it)
    uint32_t store_output;
    // bare ring 3 -> ring 0 -> ring 3 round trip (int3 to an iretq-only
    // handler), TSC cycles: median and minimum of the probe's batches
    uint64_t bare_round_trip_median;
    uint64_t bare_round_trip_min;
    // host -> monitor: HostPost bits (set by the host, taken by the monitor,
    // both atomically) and console input: the host writes console_in and
    // then advances in_prod, the monitor advances in_cons as it copies out.
    uint32_t posted;
    uint32_t in_prod, in_cons;
    char console_in[kConsoleInSize];
    // the monitor's timer, for the host's report on a hung guest: the TSC
    // deadline last written to the LAPIC (0: disarmed) and, while the vCPU
    // halts waiting for an interrupt, the TSC it halted at (else 0)
    uint64_t timer_deadline_tsc;
    uint64_t halted_at_tsc;
    Counters counters;
};

static_assert(sizeof(HostChannel) <= layout::kChannelSize);

}  // namespace abi
