// What the events-and-time subtests share: event-channel and timer
// hypercalls with their raw results, per-port counters run from the
// upcall, the recorded upcall and syscall frames (events_entry.S), sleeping
// on the single-shot timer, SCHEDOP_poll, and trips into a user address
// space of its own at low addresses (so 32-bit compat code can run there).
// Each subtest leaves events as it found them: masked, its ports closed,
// no single-shot timer, the periodic timer at Xen's default 10 ms (Scope).
#pragma once

#include "../lib/console.hpp"
#include "../lib/events.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/physmap.hpp"
#include "../lib/pvclock.hpp"
#include "../lib/shared_info.hpp"
#include "../lib/string.hpp"
#include "subtest.hpp"

extern "C" {
void conf_event_entry();
// rip, cs (saved upcall mask in bits 32-39), rflags, rsp, ss, frame address.
extern uint64_t conf_upcall_frame[6];
void conf_syscall64_callback();
void conf_syscall32_callback();
void conf_user_fault_return();
// which (64 or 32), rax, rcx, r11, rip, cs, rflags, rsp, ss, live rflags, mask, frame address.
extern uint64_t conf_syscall_record[12];
extern uint64_t conf_mask_byte_address;
extern char conf_blob_spin[], conf_blob_spin_end[];
extern char conf_blob_syscall64[], conf_blob_syscall64_at[], conf_blob_syscall64_end[];
extern char conf_blob_compat[], conf_blob_compat_at[], conf_blob_compat_end[];
extern char conf_kernel_stack[], conf_user_code[], conf_user_stack[], conf_table_staging[];
extern char conf_vcpu_info_page[], conf_runstate_page[], conf_iret_stack[];
}

namespace evs {

inline constexpr uint64_t kMs = 1'000'000;
inline constexpr uint64_t kUserCodeVa = 0x400000;
inline constexpr uint64_t kUserStackVa = 0x401000;
inline constexpr uint64_t kUserFlagOffset = 0x800;  // CONF_USER_FLAG_VA in events_entry.S
inline constexpr uint64_t kUserRsp = kUserStackVa + 4096 - 64;
inline constexpr uint64_t kRflagsIf = 1u << 9, kRflagsDf = 1u << 10;

inline volatile vcpu_info& vcpu() { return *xen_shared::vcpu0(); }
inline volatile shared_info& shared() { return *xen_shared::page(); }
inline uint64_t now() { return pvclock::system_time_ns(); }
inline uint8_t upcall_mask() { return vcpu().evtchn_upcall_mask; }
inline bool mask_bit(evtchn_port_t port) { return (shared().evtchn_mask[port / 64] >> (port % 64)) & 1; }
inline bool selector_bit(evtchn_port_t port) { return (vcpu().evtchn_pending_sel >> (port / 64)) & 1; }
inline void clear_mask_bit(evtchn_port_t port) {
    __atomic_fetch_and(&shared().evtchn_mask[port / 64], ~(xen_ulong_t{1} << (port % 64)), __ATOMIC_SEQ_CST);
}
inline unsigned upcalls() { return traps::event_upcalls_seen(); }

// event_channel_op on a struct; vcpu_op; raw results.
template <typename T>
long evtchn(int cmd, T& arg) {
    return hv::event_channel_op(cmd, &arg);
}
long status(evtchn_port_t port, evtchn_status& out, domid_t dom = DOMID_SELF);
long alloc_unbound(evtchn_port_t& port, domid_t remote = 0, domid_t dom = DOMID_SELF);
long bind_virq(unsigned virq, unsigned vcpu, evtchn_port_t& port);
long bind_vcpu(evtchn_port_t port, unsigned vcpu);
long unmask(evtchn_port_t port);
long vcpu_op(int cmd, unsigned vcpu, void* arg);
long set_periodic(unsigned vcpu, uint64_t period_ns);
long set_singleshot(unsigned vcpu, uint64_t deadline_ns, uint32_t flags = 0);
// SCHEDOP_poll (timeout: absolute system time, 0 = none).
long poll(const evtchn_port_t* ports, unsigned n, uint64_t timeout);
// The number of vCPUs (VCPUOP_is_up answers -ENOENT past the last).
unsigned nr_vcpus();

// Counts the events of a port (from the upcall) and what the handler saw.
struct PortCount {
    volatile unsigned count;
    volatile uint8_t mask_in_handler;
    volatile char* set_flag;  // set to 1 by the handler when not null
};
void count_events(evtchn_port_t port, PortCount& counter);

// The lowest port that is closed (EVTCHNSTAT_closed), from 1.
evtchn_port_t lowest_closed_port();

// A subtest's event set-up and clean-up: shared_info mapped and the
// recording event callback registered (ok() says), ports closed, timers
// and the upcall mask put back when it ends.
class Scope {
public:
    Scope();
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    // nullptr when usable, else what is missing.
    const char* failure() const { return failure_; }
    // Remembers a port to close at the end (and forgets its handler then).
    evtchn_port_t keep(evtchn_port_t port);
    // VIRQ_TIMER bound on vCPU 0, counted; the periodic timer stopped.
    long bind_timer(evtchn_port_t& port, PortCount& counter);
    long bind_ipi(evtchn_port_t& port, PortCount& counter);

private:
    const char* failure_ = nullptr;
    evtchn_port_t ports_[16] = {};
    unsigned nports_ = 0;
};

// set_timer_op(deadline) and SCHEDOP_block until the deadline has passed
// (VIRQ_TIMER bound, events masked before); events masked again after.
// Returns the system time it woke at.
uint64_t sleep_until(uint64_t deadline);

// ---- user mode at low addresses ----

struct UserTrip {
    uint64_t rax;        // the user's rax at its syscall, ~0 after a fault
    unsigned vector;     // the fault's vector (when rax is ~0)
    uint64_t fault_rip;  // and where
    uint16_t fault_cs;
    uint64_t fault_error;
};
// Builds (once) the user L4 mapping conf_user_code at kUserCodeVa and
// conf_user_stack at kUserStackVa; nullptr or what failed.
const char* prepare_user_space();
// Copies [code, end) to kUserCodeVa, makes the low L4 the user base
// pointer, names conf_kernel_stack with stack_switch, and enters user mode
// at kUserCodeVa with `cs` (IF set: events follow the mask). Faults come
// back recorded; the user base pointer is cleared afterwards.
UserTrip user_trip(const char* code, const char* end, uint16_t cs);
// For trips of one's own: the low L4 as the user base pointer and
// conf_kernel_stack named by stack_switch (0, or the failing result);
// drop_user_space clears the user base pointer again.
long use_user_space();
long drop_user_space();
inline uint64_t kernel_stack_top() { return physmap::address_of(conf_kernel_stack) + 4096; }
inline volatile uint32_t& user_flag() {
    return *reinterpret_cast<volatile uint32_t*>(conf_user_stack + kUserFlagOffset);
}
long register_callback(uint16_t type, uint64_t address, uint16_t flags = 0);

// CPUID vendor: SYSCALL in compatibility mode is #UD on Intel.
bool cpu_is_intel();

}  // namespace evs
