// The C++ side of every entry into the monitor (entry.S: common_entry).
// Guest entries are dispatched to hypercalls, emulation or the guest's own
// handlers; monitor faults are fixed up (guest-memory copies) or panic.
#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/arch/x86_64/regs.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/address_space.hpp"
#include "monitor/pending.hpp"
#include "monitor/quirks/probe.hpp"
#include "monitor/state.hpp"
#include "monitor/traps/bounce.hpp"
#include "monitor/traps/emulate.hpp"
#include "monitor/traps/priv_op.hpp"
#include "monitor/traps/pt_write.hpp"
#include "monitor/xpti/xpti.hpp"

extern "C" const uint64_t __extable_start[], __extable_end[];
extern "C" const uint64_t __exit_iret_start[], __exit_iret_end[];

namespace monitor {

namespace {

constexpr unsigned kVecDebug = 1, kVecBreakpoint = 3, kVecOverflow = 4, kVecInvalidOpcode = 6, kVecGp = 13,
                   kVecPageFault = 14;
constexpr uint64_t kPfPresent = 1u << 0, kPfWrite = 1u << 1, kPfUser = 1u << 2, kPfReserved = 1u << 3,
                   kPfFetch = 1u << 4;
constexpr uint64_t kPfEmulatable = kPfPresent | kPfWrite | kPfReserved | kPfFetch;

bool vector_has_error_code(uint64_t v) {
    return v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21 || v == 29 || v == 30;
}

bool is_exit_iret(uint64_t rip) {
    for (const uint64_t* e = __exit_iret_start; e < __exit_iret_end; ++e)
        if (*e == rip)
            return true;
    return false;
}

// The iretq out to the guest faulted (a non-canonical rip on Intel, a bad
// selector): as Xen, the fault is the guest's, raised at the frame it was
// returning to; without a handler for it, the domain crashes. The GPRs in
// `r` are the guest's already (the exit path had restored them).
void reflect_exit_fault(GuestRegs& r) {
    Vcpu& v = current();
    v.counters->exit_faults++;
    v.counters->guest_entries++;                                    // the exit it ended counted as one
    const auto* target = reinterpret_cast<const uint64_t*>(r.rsp);  // rip, cs, rflags, rsp, ss
    const unsigned vector = static_cast<unsigned>(r.vector);
    const uint32_t error = static_cast<uint32_t>(r.error_code);
    r.rip = target[0];
    r.cs = target[1];
    r.rflags = target[2];
    r.rsp = target[3];
    r.ss = target[4];
    if (vector >= 32 || v.traps[vector].address == 0)
        crash_domain(r, "the return to the guest faulted (vector %u, error %#x) and it has no handler for that", vector,
                     error);
    deliver_exception(r, vector, vector_has_error_code(vector), error);
}

void handle_monitor_fault(GuestRegs& r) {
    for (const uint64_t* e = __extable_start; e < __extable_end; e += 2) {
        if (e[0] == r.rip) {
            r.rip = e[1];
            return;
        }
    }
    const bool in_entry_text = r.rip - layout::kEntryTextVirt < layout::kEntryTextSize;
    panic_regs(&r, "monitor fault: vector %lu error %#lx at %#lx%s (cr2 %#lx)", r.vector, r.error_code, r.rip,
               in_entry_text ? " in the entry/exit path" : "", cpu::read_cr2());
}

// A guest-user syscall goes to the guest kernel's syscall callback, or its
// syscall32 callback from 32-bit code (Xen masks events for both by the
// syscall flag). None registered: #UD at the syscall (Xen 4.15+).
void syscall_from_user(GuestRegs& r) {
    Vcpu& v = current();
    v.counters->syscalls_from_user++;
    const bool compat = r.cs == FLAT_USER_CS32;
    const uint64_t target = compat ? v.syscall32_callback : v.syscall_callback;
    if (target == 0) {
        r.rip -= 2;  // the syscall instruction
        deliver_exception(r, kVecInvalidOpcode, false, 0);
        return;
    }
    bounce_to_guest(r, Bounce{target, false, 0, v.syscall_disables_events});
    r.rflags &= ~cpu::kRflagsDf;
}

void handle_syscall(GuestRegs& r) {
    // syscall clobbers rcx/r11 with the return rip/rflags; keep Xen's view.
    r.rcx = r.rip;
    r.r11 = r.rflags;
    if (current().kernel_mode)
        do_hypercall(r);
    else
        syscall_from_user(r);
}

void handle_page_fault(GuestRegs& r) {
    const uint64_t cr2 = cpu::read_cr2();
    Vcpu& v = current();
    // Host quirk: a ring-3 syscall fetched the supervisor-only LSTAR (or
    // CSTAR) stub.
    const uint64_t stubs = layout::percpu_virt(v.id) + PERCPU_STUB_OFFSET;
    if (cr2 == r.rip && (r.rip == stubs || r.rip == stubs + layout::percpu::kCstarStubOffset)) {
        v.counters->syscall_via_fault++;
        r.cs = r.rip == stubs ? FLAT_USER_CS64 : FLAT_USER_CS32;
        r.rip = r.rcx;     // return address saved by syscall
        r.rflags = r.r11;  // rflags before SFMASK
        r.vector = VECTOR_SYSCALL;
        r.error_code = 0;
        handle_syscall(r);
        return;
    }
    // Host quirk: ring 3 cannot read slot 256 here (the fault may say
    // not-present or reserved-bit); reads of the M2P are emulated.
    if (!(r.error_code & kPfWrite) && emulate_m2p_read(r, cr2))
        return;
    if ((r.error_code & kPfEmulatable) == (kPfPresent | kPfWrite) && emulate_page_table_write(r, cr2))
        return;
    v.counters->exceptions[kVecPageFault]++;
    // Same quirk: there a write to the (read-only) M2P looks not-present;
    // report the protection fault real x86 raises.
    if (has_quirk(abi::kQuirkSlot256FaultsRing3) && cr2 >= layout::kM2pRoVirt && cr2 < layout::kM2pRoAliasVirt)
        r.error_code |= 1;
    vcpu_info(v).arch.cr2 = cr2;
    uint32_t error = static_cast<uint32_t>(r.error_code);
    if (v.kernel_mode)
        error &= ~kPfUser;  // the guest kernel believes it runs in ring 0
    deliver_exception(r, kVecPageFault, true, error);
}

// Host quirk: a ring-3 syscall ran an int3 at the trampoline (the first
// byte for LSTAR, the second for CSTAR).
bool is_syscall_trampoline_trap(const GuestRegs& r) {
    return r.vector == kVecBreakpoint &&
           (r.rip == layout::kSyscallTrampolineVirt + 1 || r.rip == layout::kSyscallTrampolineVirt + 2);
}

void handle_guest_trap(GuestRegs& r) {
    Vcpu& v = current();
    v.counters->guest_entries++;
    if (r.vector == VECTOR_SYSCALL) {
        handle_syscall(r);
        return;
    }
    if (is_syscall_trampoline_trap(r)) {
        v.counters->syscall_via_trampoline++;
        r.cs = r.rip == layout::kSyscallTrampolineVirt + 1 ? FLAT_USER_CS64 : FLAT_USER_CS32;
        r.rip = r.rcx;
        r.rflags = r.r11;
        r.vector = VECTOR_SYSCALL;
        handle_syscall(r);
        return;
    }
    if (r.vector >= 32) {  // the LAPIC's interrupts (the syscall's software vector is handled above)
        handle_interrupt(r.vector);
        return;
    }
    if (r.vector < abi::kVectorSlots && r.vector != kVecPageFault)  // #PF counted after syscall/M2P triage
        v.counters->exceptions[r.vector]++;
    switch (r.vector) {
    case kVecPageFault: handle_page_fault(r); return;
    case kVecInvalidOpcode:
        if (emulate_forced_cpuid(r) || emulate_soft_interrupt_after_ud(r))
            return;
        deliver_exception(r, kVecInvalidOpcode, false, 0);
        return;
    case kVecGp:
        if (r.error_code == 0 && emulate_privileged(r))
            return;
        if ((r.error_code & 7) == 2 && emulate_soft_interrupt_after_gp(r))
            return;  // an IDT gate refused the guest's `int N`
        deliver_exception(r, kVecGp, true, static_cast<uint32_t>(r.error_code));
        return;
    case kVecBreakpoint:
    case kVecOverflow:
    case kVecDebug: deliver_exception(r, static_cast<unsigned>(r.vector), false, 0); return;
    default:
        deliver_exception(r, static_cast<unsigned>(r.vector), vector_has_error_code(r.vector),
                          static_cast<uint32_t>(r.error_code));
        return;
    }
}

}  // namespace

extern "C" void trap_entry(GuestRegs* regs) {
    GuestRegs& r = *regs;
    if ((r.cs & 3) == 0) {
        if (r.vector >= 32) {  // an interrupt woke the monitor's idle hlt
            handle_interrupt(r.vector);
            return;
        }
        if (!is_exit_iret(r.rip)) {
            handle_monitor_fault(r);
            return;
        }
        reflect_exit_fault(r);  // `r` now goes to the guest, through the nested exit
    } else {
        if (quirks::probe_active())
            quirks::on_probe_trap(r);
        handle_guest_trap(r);
    }
    CpuInfo* ci = this_cpu();
    Vcpu& v = *ci->vcpu;
    before_guest_exit(r, v);
    v.counters->guest_exits++;
    xpti::before_exit(ci);
}

}  // namespace monitor
