// The C++ side of every entry into the monitor (entry.S: common_entry).
// Guest entries are dispatched to hypercalls, emulation or the guest's own
// handlers; monitor faults are fixed up (guest-memory copies) or panic.
#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/arch/x86_64/regs.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/address_space.hpp"
#include "monitor/quirks/probe.hpp"
#include "monitor/state.hpp"
#include "monitor/traps/bounce.hpp"
#include "monitor/traps/emulate.hpp"
#include "monitor/xpti/xpti.hpp"

extern "C" const uint64_t __extable_start[], __extable_end[];

namespace monitor {

namespace {

constexpr unsigned kVecDebug = 1, kVecBreakpoint = 3, kVecOverflow = 4, kVecInvalidOpcode = 6, kVecGp = 13,
                   kVecPageFault = 14;
constexpr uint64_t kPfWrite = 1u << 1, kPfUser = 1u << 2;

bool vector_has_error_code(uint64_t v) {
    return v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21 || v == 29 || v == 30;
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

// A guest-user syscall goes to the guest kernel's syscall callback.
void syscall_from_user(GuestRegs& r) {
    Vcpu& v = current();
    v.counters->syscalls_from_user++;
    bounce_to_guest(r, Bounce{v.syscall_callback, false, 0, v.syscall_disables_events});
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
    // Host quirk: a ring-3 syscall fetched the supervisor-only LSTAR stub.
    if (cr2 == r.rip && r.rip == layout::percpu_virt(v.id) + PERCPU_STUB_OFFSET) {
        v.counters->syscall_via_fault++;
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

// Host quirk: a ring-3 syscall ran the int3 at the trampoline (LSTAR).
bool is_syscall_trampoline_trap(const GuestRegs& r) {
    return r.vector == kVecBreakpoint && r.rip == layout::kSyscallTrampolineVirt + 1;
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
        r.rip = r.rcx;
        r.rflags = r.r11;
        r.vector = VECTOR_SYSCALL;
        handle_syscall(r);
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
        if (r.vector >= 32)
            panic_regs(&r, "unexpected interrupt vector %lu", r.vector);
        deliver_exception(r, static_cast<unsigned>(r.vector), vector_has_error_code(r.vector),
                          static_cast<uint32_t>(r.error_code));
        return;
    }
}

}  // namespace

extern "C" void trap_entry(GuestRegs* regs) {
    GuestRegs& r = *regs;
    if ((r.cs & 3) == 0) {
        handle_monitor_fault(r);
        return;
    }
    if (quirks::probe_active())
        quirks::on_probe_trap(r);
    handle_guest_trap(r);
    CpuInfo* ci = this_cpu();
    ci->vcpu->counters->guest_exits++;
    xpti::before_exit(ci);
}

}  // namespace monitor
