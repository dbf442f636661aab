// Monitor start-up on every vCPU: per-CPU descriptors, then on vCPU 0 the
// host-quirk probe, validation and pinning of the domain's initial page
// tables, the hypercall page, and the first entry into the guest with
// Xen's start-of-day register state. Other vCPUs sleep until the guest
// brings them up (VCPUOP_initialise, VCPUOP_up) and start from its context.
#include "guest-abi/boot_info.hpp"
#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/arch/x86_64/descriptors.hpp"
#include "monitor/arch/x86_64/lapic.hpp"
#include "monitor/arch/x86_64/regs.hpp"
#include "monitor/events/evtchn.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/address_space.hpp"
#include "monitor/mm/pv_mmu.hpp"
#include "monitor/pending.hpp"
#include "monitor/quirks/probe.hpp"
#include "monitor/smp/guest_context.hpp"
#include "monitor/smp/vcpus.hpp"
#include "monitor/state.hpp"
#include "monitor/time/clock.hpp"
#include "monitor/time/runstate.hpp"
#include "monitor/time/timer.hpp"
#include "monitor/traps/priv_op.hpp"
#include "monitor/xpti/xpti.hpp"
#include "pagetables/entry.hpp"

extern "C" [[noreturn]] void enter_frame(monitor::GuestRegs* regs);

namespace monitor {

namespace {

void use_cheapest_syscall_entry(const Vcpu& v);

// Xen starts every PV vCPU with a 100 Hz periodic timer (pv_vcpu_initialise).
constexpr uint64_t kDefaultPeriodNs = 10'000'000;

// TestHook::SecondaryBootsLate: 1 once vCPU 0 has set up XPTI, 2 once vCPU 1
// has run its per-CPU set-up after that.
uint32_t late_boot_stage = 0;

void wait_for_stage(uint32_t stage) {
    while (__atomic_load_n(&late_boot_stage, __ATOMIC_ACQUIRE) < stage)
        asm volatile("pause");
}

bool secondary_boots_late() {
    return domain().boot.test_hook == abi::TestHook::SecondaryBootsLate && domain().boot.nr_vcpus > 1;
}

[[noreturn]] void boot_domain() {
    Domain& d = domain();
    Vcpu& v = current();
    channel().quirks = d.quirks;
    log(LogLevel::Info, "host KVM quirks: %s", quirks::describe(d.quirks));
    log(LogLevel::Debug, "bare ring 3 -> 0 -> 3 round trip (int3 + iretq): median %lu cycles, min %lu",
        channel().bare_round_trip_median, channel().bare_round_trip_min);
    use_cheapest_syscall_entry(v);
    smp::boot_vcpu_is_up(v);
    xpti::init(v);
    __atomic_store_n(&v.smp.engine_ready, true, __ATOMIC_RELEASE);

    const auto& dom = d.boot.domain;
    time::init(d.boot);
    events::init();
    runstate::start(v);
    time::publish(v);
    timer::set_periodic(v, kDefaultPeriodNs);
    // The host may have posted work (console input) before this LAPIC took
    // interrupts, and such a kick is lost: look at the channel once.
    post(v, kPendingHost);

    // Validate and pin what the domain builder handed over (one reference
    // for the pin, one for the kernel base pointer, as Xen does).
    if (int rc = mm::get_page_type(dom.l4_mfn, mm::FrameType::L4); rc < 0)
        panic("initial page tables (L4 mfn %#lx) failed validation: %ld", dom.l4_mfn, static_cast<long>(rc));
    mm::frame(dom.l4_mfn).pinned = 1;
    if (mm::get_page_type(dom.l4_mfn, mm::FrameType::L4) < 0)
        panic("initial L4 lost its type");
    v.kernel_l4_mfn = dom.l4_mfn;
    v.kernel_mode = true;
    v.cr4 = guest_cr4_view(0);
    if (d.boot.test_hook == abi::TestHook::CorruptFrameTable)
        mm::frame(dom.l4_mfn).type_count++;

    if (dom.hypercall_page_va) {
        const uint64_t l1 = mm::find_l1(dom.l4_mfn, dom.hypercall_page_va);
        const uint64_t pte = l1 ? frame_ptr<uint64_t>(l1)[pt::table_index(dom.hypercall_page_va, 1)] : 0;
        if (!(pte & pt::kPresent))
            panic("hypercall page %#lx is not mapped", dom.hypercall_page_va);
        write_hypercall_page((pte & pt::kAddrMask) >> 12);
    }

    load_guest_cr3(v);
    if (d.boot.test_hook == abi::TestHook::LeakIntoRestrictedRoot)
        xpti::leak_into_restricted_root();
    cpu::wrmsr(cpu::kMsrFsBase, 0);
    cpu::wrmsr(cpu::kMsrGsBase, 0);
    log(LogLevel::Debug, "entering guest at %#lx, start_info %#lx, stack %#lx", dom.entry, dom.start_info_va,
        dom.stack_top_va);

    GuestRegs& r = this_cpu()->regs;
    r = GuestRegs{};
    r.rip = dom.entry;
    r.cs = FLAT_KERNEL_CS;
    r.ss = FLAT_KERNEL_SS;
    r.rsp = dom.stack_top_va;
    r.rsi = dom.start_info_va;
    r.rflags = 0x202;
    if (d.boot.test_hook == abi::TestHook::FaultInExitPath)
        r.ss = 0xfff8;  // beyond the GDT limit: iretq raises #GP(0xfff8)
    if (secondary_boots_late()) {
        __atomic_store_n(&late_boot_stage, 1, __ATOMIC_RELEASE);
        wait_for_stage(2);
    }
    v.counters->guest_exits++;
    xpti::before_exit(this_cpu());
    enter_frame(&r);
}

// Where syscall stays in ring 3, LSTAR moves from the supervisor-only stub
// (entry by #PF) to the user-executable int3 trampoline (entry by #BP, about
// half the cost on kvm_pvm). On real x86 the ring-0 stub stays.
void use_cheapest_syscall_entry(const Vcpu& v) {
    if (!has_quirk(abi::kQuirkSyscallStaysInRing3))
        return;
    if (v.id == 0) {  // shared by all vCPUs; the MSRs are each CPU's
        auto* trampoline = reinterpret_cast<uint8_t*>(layout::direct_map(layout::kSyscallTrampolineGpa));
        trampoline[0] = trampoline[1] = 0xcc;  // int3 for LSTAR, another for CSTAR: the trap's rip tells them apart
        log(LogLevel::Info, "syscall entry: int3 trampoline at %#lx", layout::kSyscallTrampolineVirt);
    }
    cpu::wrmsr(cpu::kMsrLstar, layout::kSyscallTrampolineVirt);
    cpu::wrmsr(cpu::kMsrCstar, layout::kSyscallTrampolineVirt + 1);
}

// A vCPU other than 0: down until the guest initialises it and brings it up
// (VCPUOP_initialise, VCPUOP_up), then into the guest with that context,
// after the same per-CPU set-up as vCPU 0 (Xen's default 100 Hz periodic
// timer included).
[[noreturn]] void start_secondary(Vcpu& v) {
    smp::park_while_down(v);
    use_cheapest_syscall_entry(v);
    xpti::init(v);
    __atomic_store_n(&v.smp.engine_ready, true, __ATOMIC_RELEASE);
    runstate::start(v);
    time::publish(v);
    timer::set_periodic(v, kDefaultPeriodNs);
    load_guest_cr3(v);
    smp::apply_start_segments(v);
    GuestRegs& r = this_cpu()->regs;
    r = v.smp.start.regs;
    log(LogLevel::Debug, "vCPU %u up: rip %#lx rsp %#lx, kernel L4 mfn %#lx", v.id, r.rip, r.rsp, v.kernel_l4_mfn);
    before_guest_exit(r, v);
    v.counters->guest_exits++;
    xpti::before_exit(this_cpu());
    enter_frame(&r);
}

void run_test_hook(abi::TestHook hook) {
    switch (hook) {
    case abi::TestHook::None:
    case abi::TestHook::CorruptFrameTable:  // these are applied in boot_domain or at each flush
    case abi::TestHook::LeakIntoRestrictedRoot:
    case abi::TestHook::FaultInExitPath:
    case abi::TestHook::SkipGuestFlushes:
    case abi::TestHook::SecondaryBootsLate:
    case abi::TestHook::DropRootRefresh:
    case abi::TestHook::DropIpis:
    case abi::TestHook::DropTimerInterrupts:
    case abi::TestHook::StopTimerInterrupts: return;
    case abi::TestHook::Panic: panic("test hook: panic on purpose");
    case abi::TestHook::StuckInKvmRun:
        for (;;)  // no hlt: that would exit to the host
            asm volatile("pause");
    case abi::TestHook::TripleFault:
        // No IDT: the next exception cannot be delivered, nor the #DF after it.
        cpu::lidt({0, 0});
        asm volatile("ud2");
        panic("test hook: survived a triple fault");
    }
}

}  // namespace

}  // namespace monitor

extern "C" [[noreturn]] void monitor_main(uint32_t cpu_id, const abi::BootInfo* boot) {
    using namespace monitor;
    CpuInfo* ci = this_cpu();
    Vcpu& v = vcpu(cpu_id);
    ci->cpu_id = cpu_id;
    ci->vcpu = &v;
    v.id = cpu_id;
    v.cpu_info = ci;
    v.channel = reinterpret_cast<abi::HostChannel*>(layout::direct_map(layout::channel_gpa(cpu_id)));
    v.counters = &v.channel->counters;
    // Every vCPU copies the same bytes; the host wrote them before any ran.
    domain().boot = *boot;
    if (boot->magic != abi::kBootInfoMagic || boot->version != abi::kBootInfoVersion)
        panic("boot info has magic %#lx version %u: host and monitor do not match", boot->magic, boot->version);
    domain().shared_info = frame_ptr<shared_info_t>(boot->domain.shared_info_mfn);
    v.events.info = &domain().shared_info->vcpu_info[cpu_id];
    if (!lapic::init())
        panic("CPUID lacks x2APIC or the TSC-deadline timer: pvvmm needs KVM's in-kernel local APIC");
    if (cpu_id == 1 && secondary_boots_late())
        wait_for_stage(1);
    setup_cpu_descriptors(cpu_id);
    if (cpu_id == 1 && secondary_boots_late())
        __atomic_store_n(&late_boot_stage, 2, __ATOMIC_RELEASE);
    cpu::outl(layout::port::kReady, cpu_id);
    if (cpu_id != 0)
        start_secondary(v);
    run_test_hook(boot->test_hook);
    quirks::start_probe(boot_domain);
}
