// vCPU 1 of the smp subtest: after smp_second_entry (smp_entry.S) it
// records what its initial context gave it, then runs vCPU 0's commands
// (smp_second_vcpu.hpp). Everything here runs on vCPU 1 only, with upcalls
// masked, and uses nothing of vCPU 0's (trap table, armed faults,
// vcpu_info(0), the console).
#include "smp_second_vcpu.hpp"

#include "../lib/events.hpp"
#include "../lib/fault_probe.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/shared_info.hpp"
#include "../lib/traps.hpp"

namespace smp {

Shared shared{};

namespace {

constexpr uint32_t kMsrFsBase = 0xc0000100, kMsrGsBase = 0xc0000101, kMsrKernelGsBase = 0xc0000102;

inline void relax() { asm volatile("pause" ::: "memory"); }

// Emulated by the hypervisor: a PV guest kernel runs in ring 3.
uint64_t read_msr(uint32_t msr) {
    uint32_t low, high;
    asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr) : "memory");
    return (uint64_t{high} << 32) | low;
}

void record_start_view() {
    StartView& view = shared.start;
    asm volatile("movq %%fs:0, %0" : "=r"(view.fs_word)::"memory");
    asm volatile("movq %%gs:0, %0" : "=r"(view.gs_word)::"memory");
    view.fs_base = read_msr(kMsrFsBase);
    view.gs_base = read_msr(kMsrGsBase);
    view.gs_base_user = read_msr(kMsrKernelGsBase);
    uint8_t byte;
    asm volatile("inb $0x80, %0" : "=a"(byte)::"memory");  // allowed by the virtual IOPL
    view.port_byte = byte;
}

// Sleeps in SCHEDOP_poll on `port` (masked, upcalls masked: Linux's PV
// spinlock wait) until `ready()`. The pending bit is cleared after each
// wake-up and before looking again, so a send after the look still ends
// the next poll.
template <typename Ready>
void wait_on_port(evtchn_port_t port, Ready ready) {
    while (!ready()) {
        sched_poll poll{};
        set_xen_guest_handle(poll.ports, &port);
        poll.nr_ports = 1;
        poll.timeout = 0;  // none: vCPU 0 bounds the whole exchange
        hv::sched_op(SCHEDOP_poll, &poll);
        events::clear_pending(port);
    }
}

void ping_pong(uint64_t round_trips) {
    for (uint32_t i = 1; i <= round_trips; ++i) {
        wait_on_port(shared.to_second, [&] { return __atomic_load_n(&shared.ping, __ATOMIC_ACQUIRE) >= i; });
        __atomic_store_n(&shared.pong, i, __ATOMIC_RELEASE);
        events::send(shared.to_first);
    }
}

// The fault counters were reset by vCPU 0 when it posted the command.
void expect_faults(uint64_t address, FaultMode mode) {
    shared.fault_address = address;
    __atomic_store_n(&shared.fault_mode, mode, __ATOMIC_SEQ_CST);
}

void expect_no_faults() { __atomic_store_n(&shared.fault_mode, FaultMode::unexpected, __ATOMIC_SEQ_CST); }

// Reads `address` until vCPU 0 signals, then once more: that read is the result.
uint64_t read_until_signal(uint64_t address) {
    for (uint64_t reads = 1;; ++reads) {
        const bool signalled = __atomic_load_n(&shared.signal, __ATOMIC_ACQUIRE) != 0;
        const uint64_t value = probe::read_u64(address, kReadAbandoned);
        shared.reads = reads;
        if (signalled)
            return value;
    }
}

uint64_t run(Command command, uint64_t argument) {
    switch (command) {
    case Command::none: return 0;
    case Command::ping_pong: ping_pong(argument); return 0;
    case Command::race_kernel: {
        expect_faults(argument, FaultMode::retry);
        const uint64_t value = probe::read_u64(argument, kReadAbandoned);
        expect_no_faults();
        return value;
    }
    case Command::race_user: {
        smp_user_target = argument;
        expect_faults(argument, FaultMode::retry);
        const uint64_t value = smp_user_enter(reinterpret_cast<uint64_t>(smp_user_read),
                                              reinterpret_cast<uint64_t>(smp_user_stack_top) - 64);
        expect_no_faults();
        return value;
    }
    case Command::read_until_flushed: return read_until_signal(argument);
    case Command::read_until_cleared: {
        expect_faults(argument, FaultMode::skip);
        const uint64_t value = read_until_signal(argument);
        expect_no_faults();
        return value;
    }
    case Command::down_self: return static_cast<uint64_t>(hv::vcpu_op(VCPUOP_down, 1, nullptr));
    case Command::count_forever:
        for (;;)
            shared.counter = shared.counter + 1;
    }
    return 0;
}

// Resumes an abandoned read: in kernel mode after the probe instruction,
// in user mode back in smp_user_enter's caller.
bool abandon_read(traps::Frame& frame) {
    if ((frame.cs & 3) == 3) {
        frame.rip = reinterpret_cast<uint64_t>(smp_user_fault_return);
        frame.cs = FLAT_KERNEL_CS & ~3u;  // RPL 0: HYPERVISOR_iret stays in kernel mode
        frame.ss = FLAT_KERNEL_SS;
        frame.rsp = reinterpret_cast<uint64_t>(smp_bounce_stack_top);
        frame.rflags = 0x2;  // upcalls stay masked
        return true;
    }
    const uint64_t resume = probe::find_fixup(frame.rip);
    frame.rip = resume;
    return resume != 0;
}

// A #PF on the expected address: true when handled (retried or abandoned).
bool expected_page_fault(traps::Frame& frame, uint64_t cr2) {
    const FaultMode mode = __atomic_load_n(&shared.fault_mode, __ATOMIC_SEQ_CST);
    if (frame.vector != traps::page_fault || mode == FaultMode::unexpected || cr2 != shared.fault_address)
        return false;
    shared.faults = shared.faults + 1;
    if (mode == FaultMode::skip)
        return abandon_read(frame);
    if (__atomic_load_n(&shared.signal, __ATOMIC_ACQUIRE) != 0) {
        shared.faults_after_signal = shared.faults_after_signal + 1;
        if (shared.faults_after_signal >= shared.fault_bound) {
            shared.gave_up = 1;
            return abandon_read(frame);
        }
    }
    return true;  // the iret re-executes the read
}

}  // namespace

}  // namespace smp

extern "C" [[noreturn]] void smp_second_main() {
    using namespace smp;
    record_start_view();
    __atomic_store_n(&shared.alive, 1, __ATOMIC_RELEASE);
    uint32_t served = 0;
    for (;;) {
        while (__atomic_load_n(&shared.posted, __ATOMIC_ACQUIRE) == served)
            relax();
        served = shared.posted;
        shared.result = run(shared.command, shared.argument);
        __atomic_store_n(&shared.finished, served, __ATOMIC_RELEASE);
    }
}

// Every trap and callback of vCPU 1 (smp_entry.S).
extern "C" void smp_second_trap(traps::Frame* frame) {
    using namespace smp;
    const uint64_t cr2 = xen_shared::page()->vcpu_info[1].arch.cr2;
    if (expected_page_fault(*frame, cr2))
        return;
    shared.unexpected_vector = frame->vector;
    shared.unexpected_error = frame->error_code;
    shared.unexpected_rip = frame->rip;
    shared.unexpected_cs = frame->cs;
    shared.unexpected_cr2 = cr2;
    __atomic_store_n(&shared.unexpected, 1, __ATOMIC_RELEASE);
    for (;;)  // vCPU 0 reports it; VCPUOP_down still stops us here
        relax();
}
