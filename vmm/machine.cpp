#include "vmm/machine.hpp"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <x86intrin.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <memory>

#include "guest-abi/boot_info.hpp"
#include "guest-abi/layout.hpp"
#include "vmm/console_input.hpp"
#include "vmm/domain/builder.hpp"
#include "vmm/elf/guest_image.hpp"
#include "vmm/isolation/isolation_watch.hpp"
#include "vmm/kvm/system.hpp"
#include "vmm/kvm/vm.hpp"
#include "vmm/memory.hpp"
#include "vmm/monitor_image.hpp"
#include "vmm/postmortem.hpp"
#include "vmm/stall_watch.hpp"
#include "vmm/store_backend.hpp"
#include "vmm/vcpu_thread.hpp"

namespace pvvmm {

const char* outcome_name(Outcome o) {
    switch (o) {
    case Outcome::Poweroff: return "poweroff";
    case Outcome::Crash: return "crash";
    case Outcome::Reboot: return "reboot";
    case Outcome::MonitorPanic: return "monitor-panic";
    case Outcome::Timeout: return "timeout";
    case Outcome::Stopped: return "stopped";
    }
    return "?";
}

namespace {

constexpr uint16_t kMonitorCs = layout::selector::kMonitorCs;
constexpr uint16_t kMonitorDs = layout::selector::kMonitorDs;
constexpr uint16_t kTssSelector = layout::selector::kTss;

kvm_segment flat_segment(uint16_t selector, bool code) {
    kvm_segment s{};
    s.selector = selector;
    s.limit = 0xffffffff;
    s.type = code ? 11 : 3;
    s.present = 1;
    s.s = 1;
    s.l = code ? 1 : 0;
    s.db = code ? 0 : 1;
    s.g = 1;
    return s;
}

constexpr uint32_t kCpuid1EcxX2apic = 1u << 21, kCpuid1EcxTscDeadline = 1u << 24;

// Every vCPU starts in long mode at the monitor entry on its own stack.
Result<void> init_vcpu(const kvm::Vcpu& vcpu, const MonitorImage& monitor, const std::vector<kvm_cpuid_entry2>& cpuid) {
    auto entries = cpuid;
    for (auto& e : entries) {
        if (e.function == 1) {
            e.ebx = (e.ebx & 0x00ffffff) | (vcpu.id() << 24);  // initial APIC id
            // The in-kernel LAPIC emulates both; KVM's list need not say so.
            e.ecx |= kCpuid1EcxX2apic | kCpuid1EcxTscDeadline;
        }
        if (e.function == 0xb || e.function == 0x1f)
            e.edx = vcpu.id();
    }
    PVVMM_TRY(vcpu.set_cpuid(entries));
    PVVMM_TRY(vcpu.set_tsc_offset(0));
    if (vcpu.id() != 0)
        PVVMM_TRY(vcpu.make_runnable());

    auto sregs = vcpu.get_sregs();
    if (!sregs)
        return sregs.error();
    auto& s = *sregs;
    s.cs = flat_segment(kMonitorCs, true);
    s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(kMonitorDs, false);
    s.tr = kvm_segment{};
    s.tr.selector = kTssSelector;
    s.tr.base = layout::percpu_virt(vcpu.id()) + layout::percpu::kTssOffset;
    s.tr.limit = 0x67;
    s.tr.type = 11;  // 64-bit TSS, busy
    s.tr.present = 1;
    s.ldt = kvm_segment{};
    s.ldt.unusable = 1;
    s.gdt.base = layout::percpu_virt(vcpu.id()) + layout::percpu::kGdtOffset;
    s.gdt.limit = layout::percpu::kGdtPages * layout::kPageSize - 1;
    s.idt.base = 0;
    s.idt.limit = 0;     // the monitor loads its IDT first thing
    s.cr0 = 0x80050033;  // PG WP AM NE ET MP PE
    s.cr3 = monitor.l4_gpa;
    s.cr4 = 0x620;   // PAE OSFXSR OSXMMEXCPT
    s.efer = 0xd01;  // NXE LMA LME SCE
    PVVMM_TRY(vcpu.set_sregs(s));

    kvm_regs regs{};
    regs.rip = monitor.entry;
    regs.rsp = layout::percpu_virt(vcpu.id()) + layout::percpu::kStackOffset + layout::percpu::kStackSize;
    regs.rdi = vcpu.id();
    regs.rsi = layout::direct_map(layout::kBootInfoGpa);
    regs.rflags = 2;
    return vcpu.set_regs(regs);
}

// --check-isolation: only XPTI has restricted roots to walk.
std::unique_ptr<isolation::IsolationWatch> start_isolation_watch(const RunOptions& options, const MonitorImage& monitor,
                                                                 const abi::DomainInfo& domain, const GuestMemory& mem,
                                                                 RunControl& control) {
    if (options.check_isolation_ms == 0)
        return nullptr;
    if (options.xpti != abi::XptiMode::On) {
        spdlog::warn("--check-isolation: XPTI is off, so there are no restricted roots to check");
        return nullptr;
    }
    if (monitor.xpti_roots_gpa == 0) {
        spdlog::warn("--check-isolation: no restricted roots were built, nothing to check");
        return nullptr;
    }
    const isolation::Scope scope{
        monitor.xpti_roots_gpa, options.nr_vcpus, mem.size(),
        domain.first_mfn,       domain.nr_pages,  {}};  // only_root: IsolationWatch reads CpuInfo
    return std::make_unique<isolation::IsolationWatch>(mem, scope,
                                                       std::chrono::milliseconds(options.check_isolation_ms), control);
}

// The monitor's clocks: the TSC's frequency and one (wall clock, TSC) pair
// read together, from which it derives Xen's system time and wall clock.
Result<void> set_time(abi::BootInfo& boot, const kvm::Vcpu& vcpu) {
    auto khz = vcpu.tsc_khz();
    if (!khz)
        return khz.error();
    boot.tsc_khz = *khz;
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    boot.wallclock_tsc = __rdtsc();
    boot.wallclock_ns = static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(now.tv_nsec);
    return {};
}

// A vCPU thread has this long to come back from KVM_RUN once kicked.
constexpr std::chrono::seconds kStopGrace{2};

std::vector<abi::HostChannel*> channels_of(const std::vector<std::unique_ptr<VcpuThread>>& threads) {
    std::vector<abi::HostChannel*> channels;
    for (const auto& t : threads)
        channels.push_back(&t->channel());
    return channels;
}

// Waits for the run to end or `timeout` (0: none) to pass, looking for vCPUs
// whose timers stall meanwhile; false on timeout.
bool wait_watching_stalls(RunControl& control, std::chrono::milliseconds timeout, StallWatch watch) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
        auto slice = StallWatch::kLookInterval;
        if (timeout.count() != 0) {
            const auto left = timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::steady_clock::now() - start);
            if (left.count() <= 0)
                return control.finished();
            slice = std::min(slice, left);
        }
        if (control.wait(slice))
            return true;
        watch.look();
    }
}

// Everything the vCPU threads use. Destroyed once they are joined; if one
// never comes back from KVM_RUN (a host or emulator stall) it is leaked
// instead, so that the thread cannot touch freed memory before the process
// exits, which takes the thread with it.
struct LiveDomain {
    LiveDomain(kvm::System s, kvm::Vm v, GuestMemory m) : sys(std::move(s)), vm(std::move(v)), mem(std::move(m)) {}
    kvm::System sys;
    kvm::Vm vm;
    GuestMemory mem;
    RunControl control;
    std::unique_ptr<StoreBackend> store;
    std::vector<std::unique_ptr<VcpuThread>> threads;
};

// Stops every vCPU thread; returns the ids of those that did not stop.
std::vector<uint32_t> stop_vcpus(LiveDomain& live) {
    for (auto& t : live.threads)
        t->kick();
    std::vector<uint32_t> stuck;
    const auto deadline = std::chrono::steady_clock::now() + kStopGrace;
    for (auto& t : live.threads) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (!t->join_within(std::max(left, std::chrono::milliseconds{0})))
            stuck.push_back(t->id());
    }
    return stuck;
}

void install_kick_handler() {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};  // only interrupts KVM_RUN
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, nullptr);
}

}  // namespace

Result<RunResult> run_domain(std::span<const uint8_t> guest_elf, const domain::DomainConfig& config,
                             const RunOptions& options) {
    auto image = elf::load_guest_image(guest_elf);
    if (!image)
        return image.error();
    auto plan = domain::plan_domain(*image, config);
    if (!plan)
        return plan.error();
    // Logged only once the guest is known to be loadable: bad input must
    // leave exactly one line on stderr.
    spdlog::info("XPTI {} ({}); {} MiB, {} vCPU(s), guest {}", options.xpti == abi::XptiMode::On ? "on" : "off",
                 options.xpti_choice, config.memory_bytes >> 20, options.nr_vcpus, options.guest_name);
    spdlog::debug("guest: {}", elf::describe(*image));

    auto sys = kvm::System::open(options.kvm_path);
    if (!sys)
        return sys.error();
    auto vm = kvm::Vm::create(*sys);
    if (!vm)
        return vm.error();
    auto memory = GuestMemory::create(layout::kDomainRamGpa + config.memory_bytes);
    if (!memory)
        return memory.error();
    auto live = std::make_unique<LiveDomain>(std::move(*sys), std::move(*vm), std::move(*memory));
    GuestMemory& mem = live->mem;
    RunControl& control = live->control;
    PVVMM_TRY(mem.register_with(live->vm));
    PVVMM_TRY(live->vm.create_irqchip());

    auto monitor = load_monitor(mem, embedded_monitor_elf(), options.nr_vcpus);
    if (!monitor)
        return monitor.error();
    auto domain = domain::build_domain(mem, *image, config, *plan);
    if (!domain)
        return domain.error();

    auto* boot = mem.object<abi::BootInfo>(layout::kBootInfoGpa);
    *boot = abi::BootInfo{};
    boot->magic = abi::kBootInfoMagic;
    boot->version = abi::kBootInfoVersion;
    boot->nr_vcpus = options.nr_vcpus;
    boot->total_frames = mem.size() >> layout::kPageShift;
    boot->monitor_l4_gpa = monitor->l4_gpa;
    boot->monitor_image_end = monitor->image_end;
    boot->xpti = options.xpti;
    boot->xpti_roots_gpa = monitor->xpti_roots_gpa;
    boot->xpti_opts = options.xpti_opts;
    boot->pcid = options.pcid;
    boot->global_pages = options.global_pages ? 1 : 0;
    boot->log_level = options.log_level;
    boot->test_hook = options.test_hook;
    boot->audit_every = options.audit_every;
    boot->domain = *domain;

    auto cpuid = live->sys.supported_cpuid();
    if (!cpuid)
        return cpuid.error();

    live->store = std::make_unique<StoreBackend>(
        mem.object<xenstore_domain_interface>(domain->store_mfn << layout::kPageShift), abi::kGuestDomid,
        options.guest_name, config.memory_bytes >> 10, options.nr_vcpus);

    install_kick_handler();
    auto& threads = live->threads;
    for (uint32_t id = 0; id < options.nr_vcpus; ++id) {
        auto vcpu = kvm::Vcpu::create(live->sys, live->vm, id);
        if (!vcpu)
            return vcpu.error();
        PVVMM_TRY(init_vcpu(*vcpu, *monitor, *cpuid));
        if (options.count_single_steps)
            PVVMM_TRY(vcpu->set_single_step(true));
        threads.push_back(std::make_unique<VcpuThread>(std::move(*vcpu), mem, control, *live->store,
                                                       options.profile_single_steps,
                                                       options.test_hook == abi::TestHook::StuckInKvmRun));
    }
    PVVMM_TRY(set_time(*boot, threads.front()->vcpu()));
    ConsoleInput console(threads.front()->channel(), live->vm, control);
    for (auto& t : threads)
        t->start();
    console.start();
    auto watch = start_isolation_watch(options, *monitor, *domain, mem, control);
    if (!wait_watching_stalls(control, options.timeout, StallWatch(live->vm, channels_of(threads)))) {
        // Where a hung guest is, taken before the stop request ends the threads:
        // what a timeout in CI leaves to go on.
        std::string vcpus_now;
        for (const auto& t : threads)
            vcpus_now += fmt::format("\nvCPU {}: {}; {}; {}", t->id(), t->host_state(), t->timer_state(),
                                     describe_last_entry(mem, t->id()));
        control.finish(Outcome::Timeout, fmt::format("guest still running after the --timeout of {} s",
                                                     options.timeout.count() / 1000.0));
        if (control.outcome() == Outcome::Timeout)
            spdlog::warn("at the timeout (a snapshot):{}", vcpus_now);
    }
    const auto stuck = stop_vcpus(*live);

    RunResult result;
    result.outcome = control.outcome();
    result.detail = control.detail();
    if (watch) {
        // Whatever ended the run, a leak outranks it.
        const auto summary = watch->finish();
        if (summary.distinct_violations != 0) {
            result.outcome = Outcome::MonitorPanic;
            result.detail = isolation::violation_detail(summary);
        }
    }
    const auto& boot_channel = threads.front()->channel();
    result.quirks = boot_channel.quirks;
    result.bare_round_trip_median = boot_channel.bare_round_trip_median;
    result.bare_round_trip_min = boot_channel.bare_round_trip_min;
    for (auto& t : threads)
        result.vcpus.push_back(VcpuReport{t->channel().counters, t->single_steps(), t->steps_by_address()});
    if (!stuck.empty()) {
        result.detail += fmt::format("; vCPU {} did not come back from KVM_RUN within {} s of the stop request",
                                     fmt::join(stuck, ", "), kStopGrace.count());
        spdlog::error("vCPU {} still inside KVM_RUN {} s after the stop request: exiting without it",
                      fmt::join(stuck, ", "), kStopGrace.count());
        (void)live.release();  // see LiveDomain
    }
    return result;
}

}  // namespace pvvmm
