// How the guest kernel tells the monitor where to deliver things and how it
// returns: set_trap_table, callback_op, stack_switch, set_segment_base,
// fpu_taskswitch, vm_assist and iret.
#include <stdint.h>
#include <xen/callback.h>
#include <xen/vcpu.h>
#include <xen/xen.h>

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/mm/address_space.hpp"
#include "monitor/state.hpp"
#include "monitor/traps/bounce.hpp"
#include "pagetables/entry.hpp"

namespace monitor {

namespace {
bool guest_address_ok(uint64_t va) {
    return (va < HYPERVISOR_VIRT_START || va >= HYPERVISOR_VIRT_END) &&
           (va < 0x0000800000000000ull || va >= 0xffff800000000000ull);
}
}  // namespace

int64_t hc_set_trap_table(GuestRegs&, HypercallArgs a) {
    Vcpu& v = current();
    if (a.a1() == 0) {
        for (auto& t : v.traps)
            t = TrapBounceTarget{};
        return 0;
    }
    GuestPtr<trap_info_t> table(a.a1());
    for (uint64_t i = 0; i < 256 * 4; ++i) {  // bounded: Xen preempts, we cap
        trap_info_t ti;
        if (!table.read(ti, i))
            return -EFAULT;
        if (ti.address == 0)
            return 0;
        if (!guest_address_ok(ti.address))
            return -EPERM;
        auto& t = v.traps[ti.vector];
        t.address = ti.address;
        t.cs = ti.cs;
        t.dpl = ti.flags & 3;
        t.disables_events = (ti.flags & 4) != 0;
    }
    return -E2BIG;
}

namespace {

// Xen's register_guest_callback: every type a 64-bit PV guest may register,
// with its events flag (the event callback always masks events).
int64_t register_callback(Vcpu& v, const callback_register_t& cb) {
    if (!pt::is_canonical(cb.address))  // Xen checks no more (a hypervisor address just faults in the guest)
        return -EINVAL;
    const bool mask = cb.flags & CALLBACKF_mask_events;
    switch (cb.type) {
    case CALLBACKTYPE_event: v.event_callback = cb.address; return 0;
    case CALLBACKTYPE_failsafe:
        v.failsafe_callback = cb.address;
        v.failsafe_disables_events = mask;
        return 0;
    case CALLBACKTYPE_syscall:
        v.syscall_callback = cb.address;
        v.syscall_disables_events = mask;
        return 0;
    case CALLBACKTYPE_syscall32:
        v.syscall32_callback = cb.address;
        v.syscall32_disables_events = mask;
        return 0;
    case CALLBACKTYPE_sysenter:
        v.sysenter_callback = cb.address;
        v.sysenter_disables_events = mask;
        return 0;
    case CALLBACKTYPE_nmi: {
        constexpr unsigned kVectorNmi = 2;  // Xen keeps it as trap 2, events masked
        v.traps[kVectorNmi] = TrapBounceTarget{cb.address, FLAT_KERNEL_CS, 0, true};
        return 0;
    }
    default: return -ENOSYS;  // CALLBACKTYPE_sysenter_deprecated and unknown types
    }
}

// Only the NMI callback can be unregistered (Xen: the others -EINVAL).
int64_t unregister_callback(Vcpu& v, const callback_unregister_t& cb) {
    switch (cb.type) {
    case CALLBACKTYPE_event:
    case CALLBACKTYPE_failsafe:
    case CALLBACKTYPE_syscall:
    case CALLBACKTYPE_syscall32:
    case CALLBACKTYPE_sysenter: return -EINVAL;
    case CALLBACKTYPE_nmi: v.traps[2] = TrapBounceTarget{}; return 0;
    default: return -ENOSYS;
    }
}

}  // namespace

int64_t hc_callback_op(GuestRegs&, HypercallArgs a) {
    Vcpu& v = current();
    switch (a.a1()) {
    case CALLBACKOP_register: {
        callback_register_t cb;
        if (!GuestPtr<callback_register_t>(a.a2()).read(cb))
            return -EFAULT;
        return register_callback(v, cb);
    }
    case CALLBACKOP_unregister: {
        callback_unregister_t cb;
        if (!GuestPtr<callback_unregister_t>(a.a2()).read(cb))
            return -EFAULT;
        return unregister_callback(v, cb);
    }
    default: return unknown_subop("callback_op", a.a1());
    }
}

// set_callbacks(event, failsafe, syscall): the older interface, flags 0;
// Xen ignores each registration's result and returns 0.
int64_t hc_set_callbacks(GuestRegs&, HypercallArgs a) {
    Vcpu& v = current();
    const uint16_t types[] = {CALLBACKTYPE_event, CALLBACKTYPE_failsafe, CALLBACKTYPE_syscall};
    const uint64_t addresses[] = {a.a1(), a.a2(), a.a3()};
    for (unsigned i = 0; i < 3; ++i) {
        callback_register_t cb{};
        cb.type = types[i];
        cb.address = addresses[i];
        (void)register_callback(v, cb);
    }
    return 0;
}

int64_t hc_stack_switch(GuestRegs&, HypercallArgs a) {
    Vcpu& v = current();
    v.kernel_ss = a.a1();
    v.kernel_sp = a.a2();
    return 0;
}

namespace {

// SEGBASE_GS_USER_SEL: Xen loads the selector into the user %gs (between
// two swapgs, a faulting load replaced by the null selector) and keeps the
// base that load gave. pvvmm computes that base from the descriptor
// instead: the 32-bit base of a usable data or readable code segment
// (present, DPL >= RPL), else 0. Linux uses it for __USER_DS at every
// context switch. The %gs selector register itself is not loaded.
uint64_t user_gs_base_for_selector(const Vcpu& v, uint16_t selector) {
    const unsigned index = selector >> 3;
    const bool in_ldt = selector & 4;
    if (!in_ldt && index == 0)
        return 0;
    const uint64_t limit = in_ldt ? v.ldt.entries : layout::percpu::kGdtPages * (layout::kPageSize / 8);
    if (index >= limit || (!in_ldt && index < FIRST_RESERVED_GDT_ENTRY && index >= v.gdt.entries))
        return 0;
    const uint64_t d = (in_ldt ? ldt_copy(v) : gdt_copy(v))[index];
    const bool present = d & (1ull << 47), code_or_data = d & (1ull << 44);
    const bool code = d & (1ull << 43), readable = d & (1ull << 41);
    const unsigned dpl = (d >> 45) & 3;
    if (!present || !code_or_data || (code && !readable) || dpl < (selector & 3u))
        return 0;
    return ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
}

}  // namespace

int64_t hc_set_segment_base(GuestRegs&, HypercallArgs a) {
    Vcpu& v = current();
    // A non-canonical base would make the monitor's own wrmsr fault.
    if (a.a1() != SEGBASE_GS_USER_SEL && !pt::is_canonical(a.a2()))
        return -EINVAL;
    switch (a.a1()) {
    case SEGBASE_FS:
        v.fs_base = a.a2();
        cpu::wrmsr(cpu::kMsrFsBase, a.a2());
        return 0;
    case SEGBASE_GS_USER: v.gs_base_user = a.a2(); return 0;
    case SEGBASE_GS_KERNEL:
        v.gs_base_kernel = a.a2();
        if (v.kernel_mode)
            cpu::wrmsr(cpu::kMsrGsBase, a.a2());
        return 0;
    case SEGBASE_GS_USER_SEL: v.gs_base_user = user_gs_base_for_selector(v, static_cast<uint16_t>(a.a2())); return 0;
    default: return -EINVAL;
    }
}

// Recorded for the guest's CR0 reads; never applied to the hardware (no #NM
// is delivered): the guest's FPU state stays live, which 64-bit Linux,
// with eager FPU switching, never notices.
int64_t hc_fpu_taskswitch(GuestRegs&, HypercallArgs a) {
    current().cr0_ts = a.a1() != 0;
    return 0;
}

int64_t hc_vm_assist(GuestRegs&, HypercallArgs a) {
    if (a.a1() != VMASST_CMD_enable && a.a1() != VMASST_CMD_disable)
        return -ENOSYS;
    switch (a.a2()) {
    case VMASST_TYPE_4gb_segments:
    case VMASST_TYPE_4gb_segments_notify:
    case VMASST_TYPE_pae_extended_cr3:
    case VMASST_TYPE_architectural_iopl:
    case VMASST_TYPE_runstate_update_flag:
    case VMASST_TYPE_m2p_strict: return 0;  // no effect for 64-bit PV guests here
    case VMASST_TYPE_writable_pagetables: domain().writable_pagetables = a.a1() == VMASST_CMD_enable; return 0;
    default: return -EINVAL;
    }
}

int64_t hc_iret(GuestRegs& r, HypercallArgs) {
    Vcpu& v = current();
    struct iret_context ctx;
    if (!GuestPtr<struct iret_context>(r.rsp).read(ctx))
        crash_domain(r, "iret: cannot read the iret frame at %#lx", r.rsp);
    if ((ctx.cs & 3) == 3 && v.kernel_mode) {
        if (v.user_l4_mfn == 0)
            crash_domain(r, "iret to user mode without a user page table");
        toggle_guest_mode(v);
    }
    r.rip = ctx.rip;
    r.cs = ctx.cs | 3;
    r.rflags = (ctx.rflags & ~(cpu::kRflagsIopl | cpu::kRflagsVm)) | cpu::kRflagsIf;
    r.rsp = ctx.rsp;
    r.ss = ctx.ss | 3;
    if (!(ctx.flags & VGCF_in_syscall)) {
        r.r11 = ctx.r11;
        r.rcx = ctx.rcx;
    } else {  // Xen returns with sysret then: the guest sees its rip and rflags there
        r.rcx = r.rip;
        r.r11 = r.rflags;
    }
    vcpu_info(v).evtchn_upcall_mask = (ctx.rflags & cpu::kRflagsIf) ? 0 : 1;
    r.rax = ctx.rax;
    return 0;
}

}  // namespace monitor
