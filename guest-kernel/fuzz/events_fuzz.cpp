#include "events_fuzz.hpp"

#include "../lib/console.hpp"
#include "../lib/events.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/iret_probe.hpp"
#include "../lib/physmap.hpp"
#include "../lib/pvclock.hpp"
#include "../lib/shared_info.hpp"
#include "../lib/traps.hpp"
#include "../lib/user_mode.hpp"
#include "user_space.hpp"

extern "C" {
void fuzz_iret_landing();
void fuzz_iret_syscall();
extern uint64_t fuzz_iret_seen[2];
extern char fuzz_iret_stack[], fuzz_vcpu_info_page[];
void fuzz_iret_trap_0();
void fuzz_iret_trap_1();
void fuzz_iret_trap_3();
void fuzz_iret_trap_4();
void fuzz_iret_trap_5();
void fuzz_iret_trap_6();
void fuzz_iret_trap_7();
void fuzz_iret_trap_10();
void fuzz_iret_trap_11();
void fuzz_iret_trap_12();
void fuzz_iret_trap_13();
void fuzz_iret_trap_14();
void fuzz_iret_trap_16();
void fuzz_iret_trap_17();
void fuzz_iret_trap_19();
}

namespace fuzz {

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr unsigned kPorts = 4096;

EventStats stats{};
evtchn_port_t timer_port = 0;  // VIRQ_TIMER on vCPU 0, as far as we know
unsigned nr_vcpus = 1;
volatile bool in_user_trip = false;
uint64_t user_deadline = 0;

// Ports worth trying: the boundaries, the low ones that are bound, and random.
uint32_t port(Rng& rng) {
    switch (rng.below(6)) {
    case 0: return static_cast<uint32_t>(rng.below(8));
    case 1: return static_cast<uint32_t>(rng.below(64));
    case 2: {
        static constexpr uint32_t edges[] = {0, 1, 2, 4095, 4096, 4097, 0x7fffffff, 0xffffffff};
        return edges[rng.below(sizeof edges / sizeof edges[0])];
    }
    case 3: return timer_port;
    case 4: return static_cast<uint32_t>(rng.below(kPorts));
    default: return static_cast<uint32_t>(rng.next());
    }
}

uint32_t vcpu_id(Rng& rng) {
    static constexpr uint32_t edges[] = {0, 0, 0, 1, 2, 7, 8, 99, 0x7fffffff, 0xffffffff};
    const uint32_t v = edges[rng.below(sizeof edges / sizeof edges[0])];
    return v == 2 ? nr_vcpus : v;
}

uint16_t domid(Rng& rng) {
    static constexpr uint16_t ids[] = {DOMID_SELF, DOMID_SELF, DOMID_SELF, 0, 1, 2, 0x7fef, DOMID_IO, 0xffff};
    return rng.chance(8) ? static_cast<uint16_t>(rng.next()) : ids[rng.below(sizeof ids / sizeof ids[0])];
}

uint64_t now() { return pvclock::system_time_ns(); }

// A time around now: past, soon, far, huge, negative.
uint64_t deadline(Rng& rng, const ArgSource& args) {
    switch (rng.below(7)) {
    case 0: return 0;
    case 1: return now() - rng.below(100 * kMs);
    case 2: return now() + rng.below(5 * kMs);
    case 3: return now() + rng.below(1000 * kMs);
    case 4: return now() + (1ull << 50) + rng.below(1ull << 52);
    case 5: return (1ull << 63) | rng.next();
    default: return args.any(rng);
    }
}

// The argument block: a sandbox page (filled) or a wild pointer.
uint64_t block_for(Rng& rng, const ArgSource& args, const void* content, unsigned size) {
    if (rng.chance(10))
        return args.pointer(rng);
    const uint64_t at = args.sandbox(4 + static_cast<unsigned>(rng.below(4))) + (rng.below(4096 - 64) & ~7ull);
    auto* dst = reinterpret_cast<uint8_t*>(at);
    const auto* src = static_cast<const uint8_t*>(content);
    for (unsigned i = 0; i < size; ++i)
        dst[i] = src[i];
    return at;
}

// VIRQ_TIMER bound to a known port, unmasked and not pending, so that
// the single-shot timer about to be armed ends the block.
bool timer_ready() {
    evtchn_status s{};
    s.dom = DOMID_SELF;
    s.port = timer_port;
    const bool bound = timer_port != 0 && hv::event_channel_op(EVTCHNOP_status, &s) == 0 &&
                       s.status == EVTCHNSTAT_virq && s.u.virq == VIRQ_TIMER && s.vcpu == 0;
    if (!bound) {
        evtchn_bind_virq b{VIRQ_TIMER, 0, 0};
        long rc = hv::event_channel_op(EVTCHNOP_bind_virq, &b);
        if (rc == -XEN_EEXIST) {  // bound by a random call to a port we did not note: find it
            for (evtchn_port_t p = 1; p < kPorts && rc != 0; ++p) {
                s = evtchn_status{};
                s.dom = DOMID_SELF;
                s.port = p;
                if (hv::event_channel_op(EVTCHNOP_status, &s) == 0 && s.status == EVTCHNSTAT_virq &&
                    s.u.virq == VIRQ_TIMER) {
                    b.port = p;
                    rc = 0;
                }
            }
        }
        if (rc != 0)
            return false;
        timer_port = b.port;
    }
    volatile shared_info& sh = *xen_shared::page();
    volatile vcpu_info& v = *xen_shared::vcpu0();
    __atomic_fetch_and(&sh.evtchn_mask[timer_port / 64], ~(xen_ulong_t{1} << (timer_port % 64)), __ATOMIC_SEQ_CST);
    events::clear_pending(timer_port);
    if (v.evtchn_upcall_pending == 0)
        v.evtchn_pending_sel = 0;  // no selector bit left that would swallow the timer's
    return true;
}

}  // namespace

const EventStats& event_stats() { return stats; }

void arm_user_watchdog() {
    events::disable();
    if (!timer_ready())
        return;
    user_deadline = now() + 20 * kMs;
    pvclock::set_timer(user_deadline);
    in_user_trip = true;
}

void disarm_user_watchdog() { in_user_trip = false; }

bool events_set_up(Rng& rng) {
    nr_vcpus = 0;
    while (nr_vcpus < 64 && hv::vcpu_op(VCPUOP_is_up, nr_vcpus, nullptr) >= 0)
        ++nr_vcpus;
    events::disable();
    const uint64_t page = physmap::address_of(fuzz_vcpu_info_page);
    const uint32_t offset = static_cast<uint32_t>(rng.below(4096 / 64)) * 64;
    vcpu_register_vcpu_info r{physmap::virt_to_mfn(page), offset, 0};
    if (long rc = hv::vcpu_op(VCPUOP_register_vcpu_info, 0, &r); rc != 0) {
        print("fuzz: register_vcpu_info returned %ld\n", rc);
        return false;
    }
    xen_shared::relocate_vcpu0(reinterpret_cast<volatile vcpu_info*>(page + offset));
    events::enable();  // the spurious scan that follows the move
    events::disable();
    if (!timer_ready()) {
        print("fuzz: binding VIRQ_TIMER failed\n");
        return false;
    }
    return true;
}

long fuzz_event_channel(Rng& rng, const ArgSource& args) {
    ++stats.evtchn_ops;
    static constexpr int commands[] = {EVTCHNOP_bind_interdomain,
                                       EVTCHNOP_bind_virq,
                                       EVTCHNOP_bind_pirq,
                                       EVTCHNOP_close,
                                       EVTCHNOP_send,
                                       EVTCHNOP_status,
                                       EVTCHNOP_alloc_unbound,
                                       EVTCHNOP_bind_ipi,
                                       EVTCHNOP_bind_vcpu,
                                       EVTCHNOP_unmask,
                                       EVTCHNOP_reset,
                                       EVTCHNOP_init_control,
                                       EVTCHNOP_expand_array,
                                       EVTCHNOP_set_priority,
                                       14,
                                       15,
                                       100};
    const int cmd =
        rng.chance(16) ? static_cast<int>(rng.below(64)) : commands[rng.below(sizeof commands / sizeof commands[0])];
    uint32_t words[8];  // every EVTCHNOP argument is at most this big
    for (auto& w : words)
        w = rng.chance(3) ? port(rng) : static_cast<uint32_t>(args.any(rng));
    switch (cmd) {
    case EVTCHNOP_bind_virq:
        words[0] = rng.chance(4) ? static_cast<uint32_t>(rng.next()) : static_cast<uint32_t>(rng.below(26));
        words[1] = vcpu_id(rng);
        break;
    case EVTCHNOP_bind_ipi:
    case EVTCHNOP_bind_vcpu: words[cmd == EVTCHNOP_bind_ipi ? 0 : 1] = vcpu_id(rng); break;
    case EVTCHNOP_alloc_unbound:
    case EVTCHNOP_bind_interdomain:
        words[0] = domid(rng) | (static_cast<uint32_t>(domid(rng)) << 16);
        words[1] = port(rng);
        break;
    case EVTCHNOP_status:
    case EVTCHNOP_reset: words[0] = domid(rng); break;
    default: break;
    }
    if (cmd == EVTCHNOP_reset && !rng.chance(4))
        words[0] = 0;  // mostly refused (dom 0): a reset closes VIRQ_TIMER too
    const uint64_t arg = block_for(rng, args, words, sizeof words);
    const long rc = hv::event_channel_op(cmd, reinterpret_cast<void*>(arg));
    if (cmd == EVTCHNOP_bind_virq && rc == 0) {
        const auto* b = reinterpret_cast<const evtchn_bind_virq*>(arg);
        if (b->virq == VIRQ_TIMER && b->vcpu == 0)
            timer_port = b->port;
    }
    return rc;
}

long fuzz_vcpu_op(Rng& rng, const ArgSource& args) {
    ++stats.vcpu_ops;
    int cmd = static_cast<int>(rng.chance(10) ? rng.below(64) : rng.below(16));
    const uint32_t id = vcpu_id(rng);
    if (cmd == VCPUOP_down && id == 0)
        cmd = VCPUOP_is_up;  // the last vCPU going down powers the domain off
    uint64_t block[8];
    for (auto& w : block)
        w = args.any(rng);
    switch (cmd) {
    case VCPUOP_set_periodic_timer: {
        static constexpr uint64_t periods[] = {0,       1,        999'999,          1'000'000,  1'000'001,
                                               4 * kMs, 10 * kMs, (1ull << 62) - 1, 1ull << 62, ~0ull};
        block[0] = rng.chance(4) ? args.any(rng) : periods[rng.below(sizeof periods / sizeof periods[0])];
        break;
    }
    case VCPUOP_set_singleshot_timer:
        block[0] = deadline(rng, args);
        block[1] = rng.below(4);  // flags: VCPU_SSHOTTMR_future and a stray bit
        break;
    case VCPUOP_register_runstate_memory_area:
        block[0] =
            rng.chance(2) ? args.sandbox(8 + static_cast<unsigned>(rng.below(4))) + rng.below(4000) : args.pointer(rng);
        break;
    case VCPUOP_register_vcpu_info: {  // registered already: -EBUSY, -EINVAL or -EFAULT only
        block[0] = args.any(rng) >> (rng.chance(2) ? 12 : 0);
        block[1] = rng.chance(2) ? rng.below(4096 + 64) : args.any(rng);
        break;
    }
    default: break;
    }
    const uint64_t arg = block_for(rng, args, block, sizeof block);
    return hv::vcpu_op(cmd, id, reinterpret_cast<void*>(arg));
}

long fuzz_timer(Rng& rng, const ArgSource& args) {
    ++stats.timer_ops;
    return hv::call<__HYPERVISOR_set_timer_op>(deadline(rng, args));
}

long fuzz_sched_wait(Rng& rng, const ArgSource& args) {
    events::disable();
    const uint64_t wait = 200'000 + rng.below(3 * kMs);  // 0.2 .. 3.2 ms
    switch (rng.below(4)) {
    case 0: {  // block, woken by the single-shot timer at the latest
        if (!timer_ready())
            return -1;
        ++stats.blocks;
        pvclock::set_timer(now() + wait);
        const long rc = hv::sched_op(SCHEDOP_block, nullptr);
        events::disable();
        return rc;
    }
    case 1:
    case 2: {  // poll: random ports, always a timeout
        ++stats.polls;
        evtchn_port_t ports[140];
        for (auto& p : ports)
            p = port(rng);
        sched_poll p{};
        set_xen_guest_handle(p.ports, rng.chance(10) ? reinterpret_cast<evtchn_port_t*>(args.pointer(rng)) : ports);
        p.nr_ports = static_cast<unsigned>(rng.chance(8) ? 129 + rng.below(12) : rng.below(6));
        p.timeout = now() + wait;
        const long rc = hv::sched_op(SCHEDOP_poll, &p);
        events::disable();
        return rc;
    }
    default: {  // shutdown_code: poweroff only, or nothing readable
        sched_shutdown s{SHUTDOWN_poweroff};
        return hv::sched_op(SCHEDOP_shutdown_code,
                            rng.chance(2) ? &s : reinterpret_cast<void*>(args.boundary(rng) | 0x1));
    }
    }
}

long fuzz_set_callbacks(Rng& rng, const ArgSource& args) {
    events::disable();  // the event callback is random until the caller restores it
    return hv::call<__HYPERVISOR_set_callbacks>(args.any(rng), args.any(rng), args.any(rng));
}

namespace {

uint64_t non_canonical(Rng& rng) {
    uint64_t v = rng.next();
    const uint64_t top = v >> 47;
    if (top == 0 || top == 0x1ffff)
        v ^= 1ull << 60;
    return v;
}

uint64_t iret_rip(Rng& rng, const ArgSource& args) {
    switch (rng.below(8)) {
    case 0:
    case 1: return non_canonical(rng);
    case 2: return rng.below(1ull << 47) & ~0xfull;                // low half: unmapped, mostly
    case 3: return 0xffff800000000000ull + rng.below(1ull << 43);  // the hypervisor's range
    case 4:
    case 5: return reinterpret_cast<uint64_t>(fuzz_iret_landing);  // valid in kernel mode
    case 6: return kUserCodeVa + (rng.below(64) & ~1ull);          // the user page (ud2s)
    default: return args.boundary(rng);
    }
}

// A code selector. Kernel mode (RPL 0-2) never gets 32-bit code: a fault
// there would be bounced on the truncated 32-bit stack pointer, which no
// kernel stack lives at (a domain crash, in Xen as here). Anything goes
// for user mode (RPL 3), whose faults bounce on the stack_switch stack.
uint16_t code_selector(Rng& rng) {
    static constexpr uint16_t kernel[] = {
        FLAT_KERNEL_CS & ~3u, FLAT_KERNEL_CS & ~3u, 0xe008, 0xe010, 0xe028, 0xfff0, 0, 0x0004};
    static constexpr uint16_t user[] = {FLAT_USER_CS64, FLAT_USER_CS64, FLAT_USER_CS32, 0xe00b, 0xe02b, 0xfff3, 3};
    if (rng.chance(2))
        return static_cast<uint16_t>(kernel[rng.below(sizeof kernel / sizeof kernel[0])] | rng.below(3));
    if (rng.chance(4))
        return static_cast<uint16_t>(rng.next() | 3);
    return user[rng.below(sizeof user / sizeof user[0])];
}

uint16_t stack_selector(Rng& rng) {
    static constexpr uint16_t selectors[] = {FLAT_KERNEL_SS, FLAT_KERNEL_SS, FLAT_KERNEL_SS, 0,
                                             0xe010,         0xe033,         0xfff8,         4};
    if (rng.chance(6))
        return static_cast<uint16_t>(rng.next());
    return static_cast<uint16_t>(selectors[rng.below(sizeof selectors / sizeof selectors[0])] | rng.below(4));
}

uint64_t iret_rflags(Rng& rng) {
    static constexpr uint64_t values[] = {0x2, 0x202, 0x302, 0x40202, 0x4202, 0x600, 0x3202};
    return rng.chance(3) ? rng.next() : values[rng.below(sizeof values / sizeof values[0])];
}

// The library's trap table with every entry the fuzzer's probe stubs.
long install_probe_traps() {
    trap_info table[] = {
        traps::gate(0, 0, fuzz_iret_trap_0),   traps::gate(1, 0, fuzz_iret_trap_1),
        traps::gate(3, 3, fuzz_iret_trap_3),   traps::gate(4, 3, fuzz_iret_trap_4),
        traps::gate(5, 0, fuzz_iret_trap_5),   traps::gate(6, 0, fuzz_iret_trap_6),
        traps::gate(7, 0, fuzz_iret_trap_7),   traps::gate(10, 0, fuzz_iret_trap_10),
        traps::gate(11, 0, fuzz_iret_trap_11), traps::gate(12, 0, fuzz_iret_trap_12),
        traps::gate(13, 0, fuzz_iret_trap_13), traps::gate(14, 0, fuzz_iret_trap_14),
        traps::gate(16, 0, fuzz_iret_trap_16), traps::gate(17, 0, fuzz_iret_trap_17),
        traps::gate(19, 0, fuzz_iret_trap_19), trap_info{},
    };
    return hv::set_trap_table(table);
}

}  // namespace

long fuzz_iret(Rng& rng, const ArgSource& args) {
    events::disable();
    if (install_probe_traps() != 0)
        return -1;
    callback_register sys{};
    sys.type = CALLBACKTYPE_syscall;
    sys.flags = CALLBACKF_mask_events;
    sys.address = reinterpret_cast<xen_callback_t>(fuzz_iret_syscall);
    hv::callback_op(CALLBACKOP_register, &sys);
    // The user page holds ud2s only while probing (the next user instruction rewrites it).
    auto* code = reinterpret_cast<uint8_t*>(user_code_page());
    for (unsigned i = 0; i < 4096; i += 2) {
        code[i] = 0x0f;
        code[i + 1] = 0x0b;
    }
    uint64_t frame[6];
    frame[0] = iret_rip(rng, args);
    frame[1] = code_selector(rng);
    frame[2] = iret_rflags(rng);
    const bool user = (frame[1] & 3) == 3;
    // Kernel mode bounces a fault on the target's stack: it must be ours.
    frame[3] =
        user && rng.chance(2) ? args.any(rng) : physmap::address_of(fuzz_iret_stack) + 2048 + rng.below(2048 - 64);
    frame[4] = rng.chance(16) ? rng.next() | 3 : stack_selector(rng);
    frame[5] = rng.chance(4) ? VGCF_in_syscall : 0;
    if (rng.chance(5)) {  // a frame that works: back to the landing pad in kernel mode
        frame[0] = reinterpret_cast<uint64_t>(fuzz_iret_landing);
        frame[1] = (FLAT_KERNEL_CS & ~3u) | rng.below(3);
        frame[3] = physmap::address_of(fuzz_iret_stack) + 2048 + rng.below(2048 - 64);
        frame[4] = FLAT_KERNEL_SS;
    }
    ++stats.iret_frames;
    const uint64_t how = iret_probe(frame, args.any(rng));
    events::disable();
    if (how == 1)
        ++stats.iret_faults;
    else if (how == 2)
        ++stats.iret_landed;
    else if (how == 3)
        ++stats.iret_syscalls;
    return how == 1 ? -static_cast<long>(fuzz_iret_seen[0]) - 1000 : 0;
}

}  // namespace fuzz

// From fuzz_event_entry: an upcall that interrupted a user excursion past
// its deadline resumes the kernel where user_mode_enter was called
// (returning kFaulted), as a user fault's handler does.
extern "C" void fuzz_user_watchdog(uint64_t* frame) {
    using namespace fuzz;
    if (!in_user_trip || (frame[3] & 3) != 3 || now() < user_deadline)
        return;
    in_user_trip = false;
    ++stats.user_timeouts;
    frame[2] = reinterpret_cast<uint64_t>(user_mode_fault_return);
    frame[3] = FLAT_KERNEL_CS & ~3u;                    // RPL 0: the iret stays in kernel mode
    frame[4] = 0x2;                                     // IF clear: events masked again
    frame[5] = reinterpret_cast<uint64_t>(frame) - 64;  // any stack: user_mode_fault_return restores its own
    frame[6] = FLAT_KERNEL_SS;
}
