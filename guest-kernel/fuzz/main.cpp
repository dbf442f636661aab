// The fuzzing guest: `--cmdline workload=fuzz:N,seed=S` issues N random
// hypercalls with random and boundary arguments from kernel mode, and
// every 8th iteration runs one random instruction in user mode (under a
// user L4 that maps only its code and stack pages). Events and time
// (events_fuzz.cpp) are part of it: event channels, vcpu_op, timers,
// block/poll with a short wake-up always armed, set_callbacks, and random
// HYPERVISOR_iret frames whose faults come back to the loop. Arguments are chosen
// so that what a hypercall may legitimately change is the fuzzer's own
// sandbox, never its code, stack or page tables; everything else must be
// refused. The monitor must survive, and `pvvmm run --audit` checks its
// bookkeeping throughout. Ends with one line `fuzz: done ...`.
#include "../lib/console.hpp"
#include "../lib/events.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/page_table.hpp"
#include "../lib/panic.hpp"
#include "../lib/physmap.hpp"
#include "../lib/runtime.hpp"
#include "../lib/shared_info.hpp"
#include "../lib/traps.hpp"
#include "../lib/user_mode.hpp"
#include "events_fuzz.hpp"
#include "rng.hpp"
#include "user_space.hpp"

extern "C" char fuzz_sandbox[], fuzz_window[], fuzz_switch_stack[];
extern "C" void fuzz_event_entry();  // iret_fuzz.S

namespace {

using fuzz::Rng;

constexpr unsigned kSandboxPages = 16;
constexpr unsigned kFreeFrames = 32;  // at the top of guest memory, never mapped

alignas(4096) uint8_t user_code_page[4096];  // fuzz::user_code_page()
alignas(4096) uint8_t user_stack_page[4096];

struct Targets {
    uint64_t free_mfn[kFreeFrames];
    uint64_t sandbox_mfn[kSandboxPages];
    uint64_t first_mfn, end_mfn, shared_info_mfn;
    uint64_t window_l1_maddr;  // machine address of the L1 entry mapping fuzz_window
    unsigned window_entries;   // window pages whose entries lie in that same L1
};
Targets targets;

bool restore_user_mode_setup();

uint64_t page_va(const char* base, unsigned page) { return physmap::address_of(base) + page * 4096ull; }

// ---- arguments ----

uint64_t boundary_value(Rng& rng) {
    static constexpr uint64_t values[] = {
        0,
        1,
        2,
        7,
        8,
        0xfff,
        0x1000,
        0x7fffffff,
        0x80000000,
        0xffffffff,
        0x100000000,
        0x7fffffffffff,
        0x800000000000,
        0xffff800000000000,
        0xffff804000000000,
        0xffff82d040000000,
        0xffff830000000000,
        0xffff87ffffffffff,
        0xfffffffffffff000,
        ~0ull,
        1ull << 63,
    };
    return values[rng.below(sizeof(values) / sizeof(values[0]))];
}

// A machine frame: the fuzzer's own disposable ones, or ones it must not get.
uint64_t frame(Rng& rng) {
    switch (rng.below(6)) {
    case 0: return targets.free_mfn[rng.below(kFreeFrames)];
    case 1: return targets.sandbox_mfn[rng.below(kSandboxPages)];
    case 2: return rng.below(targets.first_mfn);       // monitor memory
    case 3: return targets.end_mfn + rng.below(1024);  // past the domain
    case 4: return targets.shared_info_mfn;
    default: return boundary_value(rng) >> 12;
    }
}

// A guest pointer for the monitor to read or write: sandbox memory (so
// results land somewhere harmless) or wild ones.
uint64_t pointer(Rng& rng) {
    switch (rng.below(4)) {
    case 0:
    case 1: return page_va(fuzz_sandbox, static_cast<unsigned>(rng.below(kSandboxPages))) + (rng.below(4096) & ~7ull);
    case 2: return boundary_value(rng);
    default: return rng.next();
    }
}

// Never the fuzzer's own memory: for arrays of requests, whose stale
// contents could be real requests (op 0 of a multicall is set_trap_table).
uint64_t wild_pointer(Rng& rng) { return rng.chance(2) ? boundary_value(rng) : rng.next(); }

uint64_t any(Rng& rng) {
    switch (rng.below(5)) {
    case 0: return rng.next();
    case 1: return boundary_value(rng);
    case 2: return rng.below(64);
    case 3: return frame(rng);
    default: return pointer(rng);
    }
}

uint64_t pte(Rng& rng) { return (frame(rng) << 12) | (rng.next() & 0x8000000000000fff); }

uint64_t sandbox_page(unsigned page) { return page_va(fuzz_sandbox, page % kSandboxPages); }

constexpr fuzz::ArgSource kArgs{pointer, any, boundary_value, sandbox_page};

// ---- kernel-mode hypercalls ----

void fill_sandbox_requests(Rng& rng, unsigned page) {
    auto* q = reinterpret_cast<uint64_t*>(page_va(fuzz_sandbox, page));
    for (unsigned i = 0; i < 64; ++i) {
        switch (rng.below(4)) {
        case 0: q[i] = targets.window_l1_maddr + rng.below(targets.window_entries) * 8; break;  // the window's entries
        case 1: q[i] = (frame(rng) << 12) | (rng.below(512) * 8) | rng.below(4); break;
        case 2: q[i] = pte(rng); break;
        default: q[i] = any(rng); break;
        }
    }
}

long fuzz_one_hypercall(Rng& rng) {
    const uint64_t window = page_va(fuzz_window, static_cast<unsigned>(rng.below(kSandboxPages)));
    events::disable();  // kernel mode runs with upcalls masked (blocking enables them)
    switch (rng.below(24)) {
    case 0: {  // mmu_update on the window's L1 entries and random machine addresses
        // Huge counts only with wild arrays: past the filled requests lies
        // stale memory, which could hold real requests.
        fill_sandbox_requests(rng, 0);
        const bool wild = rng.chance(8);
        return hv::call<__HYPERVISOR_mmu_update>(wild ? wild_pointer(rng) : page_va(fuzz_sandbox, 0),
                                                 wild ? any(rng) : rng.below(32), rng.chance(2) ? pointer(rng) : 0,
                                                 DOMID_SELF);
    }
    case 1: {  // update_va_mapping of a window page, or of wild addresses
        const uint64_t va = rng.chance(3) ? boundary_value(rng) : window;
        const uint64_t flags = rng.chance(4) ? any(rng) : rng.below(8);
        return hv::call<__HYPERVISOR_update_va_mapping>(va, pte(rng), flags);
    }
    case 2: {  // mmuext_op: every command but NEW_BASEPTR, on disposable or forbidden frames
        // Every entry of the page is filled: a huge count reads them all.
        auto* ops = reinterpret_cast<mmuext_op_t*>(page_va(fuzz_sandbox, 1));
        const unsigned n = static_cast<unsigned>(rng.below(4));
        for (unsigned i = 0; i < 4096 / sizeof(mmuext_op_t); ++i) {
            ops[i].cmd = static_cast<unsigned>(rng.below(22));
            if (ops[i].cmd == MMUEXT_NEW_BASEPTR)
                ops[i].cmd = MMUEXT_TLB_FLUSH_LOCAL;
            ops[i].arg1.mfn = rng.chance(3) ? window : frame(rng);
            ops[i].arg2.src_mfn = rng.chance(2) ? frame(rng) : pointer(rng);
        }
        const bool wild = rng.chance(8);
        return hv::call<__HYPERVISOR_mmuext_op>(wild ? wild_pointer(rng) : physmap::address_of(ops),
                                                wild ? any(rng) : (rng.chance(8) ? 4096 / sizeof(mmuext_op_t) : n),
                                                rng.chance(2) ? pointer(rng) : 0, DOMID_SELF);
    }
    case 3: {  // set_gdt with random frames and counts
        auto* frames = reinterpret_cast<uint64_t*>(page_va(fuzz_sandbox, 2));
        for (unsigned i = 0; i < 14; ++i)
            frames[i] = frame(rng);
        const long rc = hv::call<__HYPERVISOR_set_gdt>(rng.chance(4) ? pointer(rng) : physmap::address_of(frames),
                                                       rng.chance(2) ? rng.below(9000) : any(rng));
        hv::call<__HYPERVISOR_set_gdt>(0, 0);  // drop whatever it took
        return rc;
    }
    case 4: return hv::call<__HYPERVISOR_update_descriptor>((frame(rng) << 12) | (rng.below(512) * 8), any(rng));
    case 5: return hv::call<__HYPERVISOR_memory_op>(rng.below(40), pointer(rng));
    case 6: return hv::call<__HYPERVISOR_xen_version>(rng.below(16), pointer(rng));
    case 7: {  // console_io: only wild pointers, huge counts or unknown commands
        const uint64_t cmd = rng.below(4);
        return hv::call<__HYPERVISOR_console_io>(cmd, cmd == CONSOLEIO_write ? (1ull << 40) + rng.below(10) : any(rng),
                                                 pointer(rng));
    }
    case 8: return hv::call<__HYPERVISOR_vm_assist>(rng.below(4), rng.below(40));
    case 9:  // no shutdown_code (5) here: a random reason would become the run's exit status
        return hv::call<__HYPERVISOR_sched_op>(rng.chance(2) ? SCHEDOP_yield : 6 + rng.below(60), pointer(rng));
    case 10: return hv::call<__HYPERVISOR_event_channel_op>(rng.below(20), pointer(rng));
    case 11: {  // multicall of harmless or wild entries
        // Every entry of the page is filled: a huge count reads them all,
        // and a stale op 0 would be set_trap_table(0).
        auto* calls = reinterpret_cast<multicall_entry_t*>(page_va(fuzz_sandbox, 3));
        const unsigned n = static_cast<unsigned>(rng.below(6));
        for (unsigned i = 0; i < 4096 / sizeof(multicall_entry_t); ++i) {
            static constexpr uint64_t ops[] = {
                __HYPERVISOR_xen_version, __HYPERVISOR_memory_op, __HYPERVISOR_iret, __HYPERVISOR_multicall, 60,
                __HYPERVISOR_mmu_update};
            calls[i].op = ops[rng.below(6)];
            calls[i].args[0] = rng.below(16);
            for (unsigned k = 1; k < 6; ++k)
                calls[i].args[k] = rng.chance(2) ? pointer(rng) : any(rng);
            if (calls[i].op == __HYPERVISOR_mmu_update)
                calls[i].args[0] = pointer(rng);
        }
        const bool wild = rng.chance(6);
        return hv::call<__HYPERVISOR_multicall>(
            wild ? wild_pointer(rng) : physmap::address_of(calls),
            wild ? any(rng) : (rng.chance(8) ? 4096 / sizeof(multicall_entry_t) : n));
    }
    case 12: return hv::call<__HYPERVISOR_set_segment_base>(rng.below(6), any(rng));
    case 13: return hv::call<__HYPERVISOR_fpu_taskswitch>(any(rng));
    case 16:
    case 17: return fuzz::fuzz_event_channel(rng, kArgs);
    case 18: return fuzz::fuzz_vcpu_op(rng, kArgs);
    case 19: return fuzz::fuzz_timer(rng, kArgs);
    case 20: return fuzz::fuzz_sched_wait(rng, kArgs);
    case 21: {
        const long rc = fuzz::fuzz_set_callbacks(rng, kArgs);
        restore_user_mode_setup();
        return rc;
    }
    case 22: {  // a random iret frame: user targets need the user base pointer
        if (!restore_user_mode_setup())
            panic("fuzz: cannot restore the user-mode set-up");
        const long rc = fuzz::fuzz_iret(rng, kArgs);
        if (!restore_user_mode_setup())
            panic("fuzz: cannot restore the user-mode set-up after an iret probe");
        return rc;
    }
    case 14: {  // hypercalls that do not exist
        const uint64_t nr = 33 + rng.below(60);
        long rc = -1;
        switch (nr % 4) {  // the hypercall page has a slot for each; call through a few
        case 0: rc = hv::call<40>(any(rng), any(rng)); break;
        case 1: rc = hv::call<60>(any(rng), any(rng)); break;
        case 2: rc = hv::call<63>(any(rng)); break;
        default: rc = hv::call<100>(any(rng)); break;
        }
        return rc;
    }
    default: {  // callback_op with random types (every one), then the real ones again
        callback_register cb{};
        cb.type = static_cast<uint16_t>(rng.chance(8) ? rng.next() : rng.below(10));
        cb.flags = static_cast<uint16_t>(rng.below(4));
        cb.address = rng.chance(2) ? any(rng) : boundary_value(rng);
        const long rc = hv::callback_op(rng.below(4), rng.chance(3) ? reinterpret_cast<void*>(pointer(rng)) : &cb);
        restore_user_mode_setup();
        return rc;
    }
    }
}

// ---- user mode ----

// One random instruction, then ud2s: opcodes that transfer control are
// left out of the first byte so that user code rarely loops; its operand
// bytes may still decode as a jump, so a watchdog (VIRQ_TIMER, 20 ms)
// ends the excursion if it does (events_fuzz.cpp).
void write_random_instruction(Rng& rng) {
    auto* code = user_code_page;
    for (unsigned i = 0; i < 4096; i += 2) {
        code[i] = 0x0f;
        code[i + 1] = 0x0b;
    }
    unsigned n = 0;
    if (rng.chance(3))
        code[n++] = static_cast<uint8_t>(0x40 + rng.below(16));  // REX
    for (;;) {
        const uint8_t op = static_cast<uint8_t>(rng.below(256));
        const bool transfers = (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3) || op == 0xe8 || op == 0xe9 ||
                               op == 0xeb || op == 0xc2 || op == 0xc3 || op == 0xca || op == 0xcb || op == 0xcf ||
                               op == 0xff || op == 0x9a || op == 0xea || (op >= 0x40 && op <= 0x4f) || op == 0x66 ||
                               op == 0x67 || op == 0xf2 || op == 0xf3 || op == 0xf0;
        if (transfers)
            continue;
        code[n++] = op;
        if (op == 0x0f) {
            uint8_t op2;
            do
                op2 = static_cast<uint8_t>(rng.below(256));
            while (op2 >= 0x80 && op2 <= 0x8f);  // jcc
            code[n++] = op2;
        }
        break;
    }
    // Operand bytes, which may also run as instructions of their own. No
    // 0xcf: a 32-bit IRET whose popped EFLAGS has VM set enters virtual-8086
    // mode under QEMU's emulated CPU even in long mode at CPL 3 (a real CPU
    // raises #GP), and the monitor then sees an impossible frame (CS 0).
    for (unsigned i = 0; i < 12; ++i) {
        const uint8_t byte = static_cast<uint8_t>(rng.below(256));
        code[n++] = byte == 0xcf ? 0x90 : byte;
    }
}

unsigned user_faults = 0, user_syscalls = 0;

bool abandon_user_fault(traps::Frame& frame) {
    ++user_faults;
    user_mode::abandon(frame, physmap::address_of(fuzz_switch_stack) + 4096);
    return true;
}

uint64_t user_l4_mfn = 0;

// Random hypercalls may have replaced the user base pointer, the syscall
// callback, the kernel stack or the trap table: put them back first.
bool restore_user_mode_setup() {
    mmuext_op_t op{};
    op.cmd = MMUEXT_NEW_USER_BASEPTR;
    op.arg1.mfn = user_l4_mfn;
    unsigned done = 0;
    callback_register sys{};
    sys.type = CALLBACKTYPE_syscall;
    sys.flags = CALLBACKF_mask_events;
    sys.address = reinterpret_cast<xen_callback_t>(user_mode_syscall_callback);
    callback_register event{};  // the library's upcall entry behind the user-mode watchdog
    event.type = CALLBACKTYPE_event;
    event.address = reinterpret_cast<xen_callback_t>(fuzz_event_entry);
    return hv::mmuext_op(&op, 1, &done, DOMID_SELF) == 0 && hv::callback_op(CALLBACKOP_register, &sys) == 0 &&
           hv::call<__HYPERVISOR_stack_switch>(FLAT_KERNEL_SS, physmap::address_of(fuzz_switch_stack) + 4096) == 0 &&
           traps::install().trap_table == 0 && hv::callback_op(CALLBACKOP_register, &event) == 0;
}

bool tracing = false;    // `trace` on the command line
bool show_only = false;  // `show=N`: print iteration N's user code instead of running it, then stop

void run_user_instruction(Rng& rng) {
    if (!restore_user_mode_setup())
        panic("fuzz: cannot restore the user-mode set-up");
    write_random_instruction(rng);
    if (tracing || show_only) {
        const uint8_t* c = user_code_page;
        print("fuzz:   user code %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x\n", c[0], c[1],
              c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13]);
        if (show_only)
            return;
    }
    fuzz::arm_user_watchdog();
    if (user_mode_enter(fuzz::kUserCodeVa, fuzz::kUserStackVa + 4096 - 64) != user_mode::kFaulted)
        ++user_syscalls;
    fuzz::disarm_user_watchdog();
}

// ---- set-up ----

bool parse_workload(uint64_t& iterations, uint64_t& seed) {
    char w[64];
    if (!runtime::command_line_option("workload", w, sizeof w))
        return false;
    const char* p = w;
    auto number = [&p]() {
        uint64_t v = 0;
        while (*p >= '0' && *p <= '9')
            v = v * 10 + static_cast<uint64_t>(*p++ - '0');
        return v;
    };
    if (p[0] != 'f' || p[1] != 'u' || p[2] != 'z' || p[3] != 'z' || p[4] != ':')
        return false;
    p += 5;
    iterations = number();
    seed = 1;
    if (p[0] == ',' && p[1] == 's' && p[2] == 'e' && p[3] == 'e' && p[4] == 'd' && p[5] == '=') {
        p += 6;
        seed = number();
    }
    return *p == 0;
}

bool set_up(const start_info& info, Rng& rng) {
    if (xen_shared::map(info) != 0 || traps::install().trap_table != 0) {
        print("fuzz: set-up of shared_info or the trap table failed\n");
        return false;
    }
    targets.first_mfn = physmap::pfn_to_mfn(0);
    targets.end_mfn = targets.first_mfn + info.nr_pages;
    targets.shared_info_mfn = info.shared_info >> 12;
    for (unsigned i = 0; i < kFreeFrames; ++i)
        targets.free_mfn[i] = physmap::pfn_to_mfn(info.nr_pages - 1 - i);
    for (unsigned i = 0; i < kSandboxPages; ++i)
        targets.sandbox_mfn[i] = physmap::virt_to_mfn(page_va(fuzz_sandbox, i));
    pt::L1Slot slot{};
    const char* why = "";
    if (!pt::find_l1_slot(physmap::address_of(fuzz_window), slot, &why)) {
        print("fuzz: cannot find the window's L1 entry: %s\n", why);
        return false;
    }
    targets.window_l1_maddr = slot.machine_address;
    // Entries past the end of that L1 table belong to some other frame.
    const unsigned first_index = static_cast<unsigned>((slot.machine_address & 0xfff) / 8);
    targets.window_entries = first_index + kSandboxPages <= 512 ? kSandboxPages : 512 - first_index;

    // User mode: its own tables from the first four free frames (kept out
    // of the random pool's reach by using the last ones there).
    const uint64_t tables[4] = {targets.free_mfn[0], targets.free_mfn[1], targets.free_mfn[2], targets.free_mfn[3]};
    for (unsigned i = 0; i < 4; ++i)
        targets.free_mfn[i] = targets.free_mfn[kFreeFrames - 1 - i];
    user_l4_mfn = fuzz::build_user_space(tables, physmap::virt_to_mfn(physmap::address_of(user_code_page)),
                                         physmap::virt_to_mfn(physmap::address_of(user_stack_page)));
    if (user_l4_mfn == 0 || !restore_user_mode_setup()) {
        print("fuzz: user-mode set-up failed\n");
        return false;
    }
    traps::set_user_fault_handler(abandon_user_fault);
    return fuzz::events_set_up(rng);
}

}  // namespace

uint8_t* fuzz::user_code_page() { return ::user_code_page; }

unsigned guest_main(const start_info& info) {
    uint64_t iterations = 0, seed = 0;
    if (!parse_workload(iterations, seed)) {
        print("fuzz: usage: --cmdline \"workload=fuzz:N[,seed=S] [trace]\"\n");
        return SHUTDOWN_crash;
    }
    Rng rng(seed);
    if (!set_up(info, rng))
        return SHUTDOWN_crash;
    uint64_t refused = 0, accepted = 0;
    // `trace`: one line per iteration, before it runs; `trace_from=N` from iteration N on.
    const uint64_t trace_from =
        runtime::command_line_number("trace_from", runtime::command_line_has("trace") ? 0 : ~0ull);
    const uint64_t show_at = runtime::command_line_number("show", ~0ull);
    for (uint64_t i = 0; i < iterations; ++i) {
        tracing = i >= trace_from;
        if (tracing) {
            Rng peek = rng;
            peek.next();  // the window choice
            print("fuzz: iteration %lu: %s %lu\n", i, i % 8 == 7 ? "user instruction" : "hypercall case",
                  i % 8 == 7 ? 0 : peek.below(24));
        }
        if (i == show_at) {
            show_only = true;
            if (i % 8 == 7)
                run_user_instruction(rng);
            print("fuzz: stopped at iteration %lu (show=)\n", i);
            return SHUTDOWN_poweroff;
        }
        if (i % 8 == 7) {
            run_user_instruction(rng);
            continue;
        }
        const long rc = fuzz_one_hypercall(rng);
        rc < 0 ? ++refused : ++accepted;
    }
    const fuzz::EventStats& e = fuzz::event_stats();
    print(
        "fuzz: events: %u event_channel_op, %u vcpu_op, %u set_timer_op, %u blocks, %u polls, %u upcalls; %u iret "
        "frames: %u faulted, %u landed, %u syscalls; %u user excursions stopped by the watchdog\n",
        e.evtchn_ops, e.vcpu_ops, e.timer_ops, e.blocks, e.polls, traps::event_upcalls_seen(), e.iret_frames,
        e.iret_faults, e.iret_landed, e.iret_syscalls, e.user_timeouts);
    print(
        "fuzz: done: %lu iterations (seed %lu): %lu hypercalls accepted, %lu refused; user mode: %u faults, %u "
        "syscalls\n",
        iterations, seed, accepted, refused, user_faults, user_syscalls);
    return SHUTDOWN_poweroff;
}
