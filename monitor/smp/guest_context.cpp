#include "monitor/smp/guest_context.hpp"

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/hypercall/descriptor_table.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/pv_mmu.hpp"
#include "monitor/traps/priv_op.hpp"
#include "pagetables/entry.hpp"

namespace monitor::smp {

namespace {

constexpr uint64_t kMaxLdtEntries = 8192;
constexpr uint64_t kRflagsIopl = 3ull << 12, kRflagsIf = 1ull << 9;
// What a guest context may set in RFLAGS: the arithmetic flags and DF
// (no TF, NT, VM, AC, ...); IF is always on in the real flags.
constexpr uint64_t kRflagsGuest = 0x8d5 | (1ull << 10);

bool addresses_canonical(const vcpu_guest_context_t& c) {
    const uint64_t addrs[] = {c.user_regs.rip,
                              c.user_regs.rsp,
                              c.kernel_sp,
                              c.fs_base,
                              c.gs_base_kernel,
                              c.gs_base_user,
                              c.event_callback_eip,
                              c.syscall_callback_eip,
                              c.failsafe_callback_eip,
                              c.ldt_ents ? c.ldt_base : 0};
    for (uint64_t a : addrs)
        if (!pt::is_canonical(a))
            return false;
    for (const trap_info_t& t : c.trap_ctxt)
        if (!pt::is_canonical(t.address))
            return false;
    return true;
}

// Xen's fixup_guest_{code,stack}_selector for a 64-bit PV guest: its kernel
// runs in ring 3, so a ring-0 selector gets RPL 3.
uint16_t ring3(uint64_t selector) { return static_cast<uint16_t>(selector | (selector ? 3 : 0)); }

}  // namespace

int64_t load_guest_context(Vcpu& v, const vcpu_guest_context_t& c) {
    if (!addresses_canonical(c))
        return -EINVAL;
    if ((c.ldt_base & (layout::kPageSize - 1)) != 0 || c.ldt_ents > kMaxLdtEntries)
        return -EINVAL;
    if (c.gdt_ents > FIRST_RESERVED_GDT_ENTRY)
        return -EINVAL;
    const uint64_t kernel_l4 = xen_cr3_to_pfn(c.ctrlreg[3]);
    const uint64_t user_l4 = xen_cr3_to_pfn(c.ctrlreg[1]);
    if (mm::get_page_type(kernel_l4, mm::FrameType::L4) < 0)
        return -EINVAL;
    if (user_l4 && mm::get_page_type(user_l4, mm::FrameType::L4) < 0) {
        mm::put_page_type(kernel_l4);
        return -EINVAL;
    }
    if (install_guest_gdt(v, c.gdt_frames, c.gdt_ents) < 0) {
        mm::put_page_type(kernel_l4);
        if (user_l4)
            mm::put_page_type(user_l4);
        return -EINVAL;
    }
    v.kernel_l4_mfn = kernel_l4;
    v.user_l4_mfn = user_l4;
    v.kernel_mode = (c.flags & VGCF_in_kernel) != 0;
    v.cr4 = guest_cr4_view(0);

    for (unsigned vec = 0; vec < 256; ++vec) {  // the index is the vector, as in Xen
        const trap_info_t& t = c.trap_ctxt[vec];
        v.traps[vec] = TrapBounceTarget{t.address, ring3(t.cs), static_cast<uint8_t>(t.flags & 3), (t.flags & 4) != 0};
    }
    v.event_callback = c.event_callback_eip;
    v.failsafe_callback = c.failsafe_callback_eip;
    v.syscall_callback = c.syscall_callback_eip;
    v.failsafe_disables_events = (c.flags & VGCF_failsafe_disables_events) != 0;
    v.syscall_disables_events = (c.flags & VGCF_syscall_disables_events) != 0;
    v.kernel_ss = ring3(c.kernel_ss);
    v.kernel_sp = c.kernel_sp;
    v.fs_base = c.fs_base;
    v.gs_base_kernel = c.gs_base_kernel;
    v.gs_base_user = c.gs_base_user;
    v.iopl = static_cast<uint8_t>((c.user_regs.rflags & kRflagsIopl) >> 12);  // Xen keeps IOPL virtual

    StartState& s = v.smp.start;
    const cpu_user_regs_t& u = c.user_regs;
    s.regs = GuestRegs{};
    s.regs.r15 = u.r15, s.regs.r14 = u.r14, s.regs.r13 = u.r13, s.regs.r12 = u.r12;
    s.regs.rbp = u.rbp, s.regs.rbx = u.rbx, s.regs.r11 = u.r11, s.regs.r10 = u.r10;
    s.regs.r9 = u.r9, s.regs.r8 = u.r8, s.regs.rax = u.rax, s.regs.rcx = u.rcx;
    s.regs.rdx = u.rdx, s.regs.rsi = u.rsi, s.regs.rdi = u.rdi;
    s.regs.rip = u.rip;
    s.regs.cs = ring3(u.cs);
    s.regs.rflags = (u.rflags & kRflagsGuest) | kRflagsIf | 2;
    s.regs.rsp = u.rsp;
    s.regs.ss = ring3(u.ss);
    s.ds = u.ds, s.es = u.es, s.fs = u.fs, s.gs = u.gs;
    s.ldt_base = c.ldt_base;
    s.ldt_ents = c.ldt_ents;
    return 0;
}

namespace {

// A data selector the guest's GDT (or LDT) holds at RPL 3, or the null one:
// loaded in ring 0 a bad one would fault in the monitor.
uint16_t usable_data_selector(const Vcpu& v, uint16_t sel) {
    const bool ldt = sel & 4;
    const uint64_t index = sel >> 3;
    if ((sel & 3) != 3 || index >= (ldt ? v.ldt.entries : v.gdt.entries))
        return 0;
    const uint64_t d = (ldt ? ldt_copy(v) : gdt_copy(v))[index];
    const bool present_data_dpl3 = (d >> 47) & 1 && (d >> 44) & 1 && ((d >> 45) & 3) == 3 && !((d >> 43) & 1);
    return present_data_dpl3 ? sel : 0;
}

}  // namespace

void apply_start_segments(Vcpu& v) {
    const StartState& s = v.smp.start;
    if (s.ldt_ents && set_ldt(s.ldt_base, s.ldt_ents) < 0)
        log(LogLevel::Warn, "vCPU %u: the LDT of its initial context (%#lx, %lu entries) is refused", v.id, s.ldt_base,
            s.ldt_ents);
    const uint16_t ds = usable_data_selector(v, s.ds), es = usable_data_selector(v, s.es);
    const uint16_t fs = usable_data_selector(v, s.fs), gs = usable_data_selector(v, s.gs);
    asm volatile("mov %0, %%ds; mov %1, %%es; mov %2, %%fs; mov %3, %%gs" ::"r"(ds), "r"(es), "r"(fs), "r"(gs)
                 : "memory");
    cpu::wrmsr(cpu::kMsrFsBase, v.fs_base);  // after the selectors, whose loads reset the bases
    cpu::wrmsr(cpu::kMsrGsBase, v.kernel_mode ? v.gs_base_kernel : v.gs_base_user);
}

}  // namespace monitor::smp
