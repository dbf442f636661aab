#include "vmm/vcpu_thread.hpp"

#include <sched.h>
#include <spdlog/spdlog.h>
#include <stdint.h>
#include <unistd.h>
#include <xen/sched.h>

#include <csignal>
#include <cstdio>
#include <fstream>

#include "guest-abi/layout.hpp"
#include "vmm/postmortem.hpp"

namespace pvvmm {

void RunControl::finish(Outcome outcome, std::string detail) {
    std::lock_guard g(lock_);
    if (finished_.load())
        return;
    outcome_ = outcome;
    detail_ = std::move(detail);
    finished_.store(true, std::memory_order_release);
    cv_.notify_all();
}

bool RunControl::wait(std::chrono::milliseconds timeout) {
    std::unique_lock g(lock_);
    auto done = [this] { return finished_.load(); };
    if (timeout.count() == 0) {
        cv_.wait(g, done);
        return true;
    }
    return cv_.wait_for(g, timeout, done);
}

VcpuThread::VcpuThread(kvm::Vcpu vcpu, const GuestMemory& mem, RunControl& control, StoreBackend& store,
                       bool profile_steps, bool ignore_kicks)
    : vcpu_(std::move(vcpu)),
      mem_(mem),
      control_(control),
      store_(store),
      channel_(mem.object<abi::HostChannel>(layout::channel_gpa(vcpu_.id()))),
      profile_steps_(profile_steps),
      ignore_kicks_(ignore_kicks) {}

void VcpuThread::start() {
    pthread_create(
        &thread_, nullptr,
        [](void* self) -> void* {
            auto* t = static_cast<VcpuThread*>(self);
            t->tid_.store(gettid(), std::memory_order_release);
            t->loop();
            return nullptr;
        },
        this);
    started_ = true;
}

std::string VcpuThread::host_state() const {
    const pid_t tid = tid_.load(std::memory_order_acquire);
    if (tid == 0)
        return "not started";
    const std::string dir = fmt::format("/proc/self/task/{}/", tid);
    std::string stat, wchan;
    if (std::ifstream f(dir + "stat"); f)
        std::getline(f, stat);
    if (std::ifstream f(dir + "wchan"); f)
        std::getline(f, wchan);
    // stat is "tid (comm) S ...": the state follows the last ')'.
    const auto paren = stat.rfind(')');
    const std::string state = paren != std::string::npos && paren + 2 < stat.size() ? stat.substr(paren + 2, 1) : "?";
    return wchan.empty() || wchan == "0" ? fmt::format("host thread {}", state)
                                         : fmt::format("host thread {} in {}", state, wchan);
}

std::string VcpuThread::timer_state() const {
    const uint64_t halted = __atomic_load_n(&channel_->halted_at_tsc, __ATOMIC_ACQUIRE);
    const uint64_t deadline = __atomic_load_n(&channel_->timer_deadline_tsc, __ATOMIC_ACQUIRE);
    if (halted == 0)
        return fmt::format("monitor not halted, LAPIC deadline TSC {:#x}", deadline);
    // The guest's TSC runs at the host's rate here but with an offset: only
    // differences of guest TSC values mean something.
    const std::string when = deadline == 0        ? "none (disarmed)"
                             : deadline >= halted ? fmt::format("{} cycles after the halt", deadline - halted)
                                                  : fmt::format("{} cycles before the halt", halted - deadline);
    return fmt::format("monitor halted at TSC {:#x}, LAPIC deadline {}", halted, when);
}

void VcpuThread::kick() {
    vcpu_.run_page()->immediate_exit = 1;
    if (started_)
        pthread_kill(thread_, SIGUSR1);
}

bool VcpuThread::join_within(std::chrono::milliseconds limit) {
    if (!started_)
        return true;
    timespec deadline{};
    clock_gettime(CLOCK_REALTIME, &deadline);  // pthread_timedjoin_np's clock
    const auto ns = deadline.tv_nsec + std::chrono::nanoseconds(limit).count();
    deadline.tv_sec += static_cast<time_t>(ns / 1'000'000'000);
    deadline.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    if (pthread_timedjoin_np(thread_, nullptr, &deadline) != 0)
        return false;
    started_ = false;
    return true;
}

void VcpuThread::flush_console() {
    auto& ch = *channel_;
    const uint32_t len = std::min(ch.console_len, abi::kConsoleBufSize);
    {
        std::lock_guard g(control_.output_lock);
        std::fwrite(ch.console, 1, len, stdout);
        std::fflush(stdout);
    }
    ch.console_len = 0;
}

void VcpuThread::report_fault(const char* what) {
    std::string regs = "registers unavailable";
    auto r = vcpu_.get_regs();
    auto s = vcpu_.get_sregs();
    if (r && s)
        regs = fmt::format("rip={:#x} rsp={:#x} rax={:#x} rcx={:#x} rflags={:#x} cs={:#x} ss={:#x} cr2={:#x} cr3={:#x}",
                           r->rip, r->rsp, r->rax, r->rcx, r->rflags, s->cs.selector, s->ss.selector, s->cr2, s->cr3);
    spdlog::error("vCPU {}: {}: {}", vcpu_.id(), what, regs);
    control_.finish(Outcome::MonitorPanic, fmt::format("vCPU {}: {}", vcpu_.id(), what));
}

bool VcpuThread::handle_io(const kvm_run& run) {
    if (run.io.direction != KVM_EXIT_IO_OUT) {
        // Reads of unknown ports see all ones, as on a PC without a device there.
        auto* data = reinterpret_cast<uint8_t*>(vcpu_.run_page()) + run.io.data_offset;
        std::memset(data, 0xff, static_cast<size_t>(run.io.size) * run.io.count);
        return true;
    }
    uint32_t value = 0;
    std::memcpy(&value, reinterpret_cast<const uint8_t*>(&run) + run.io.data_offset,
                std::min<uint32_t>(run.io.size, 4));
    auto& ch = *channel_;
    switch (run.io.port) {
    case layout::port::kConsole: flush_console(); return true;
    case layout::port::kXenstore:
        if (store_.notified())
            __atomic_store_n(&ch.store_output, 1, __ATOMIC_RELEASE);
        return true;
    case layout::port::kLog: {
        const uint32_t len = std::min(ch.log_len, abi::kLogBufSize);
        auto level = static_cast<spdlog::level::level_enum>(std::min<uint32_t>(ch.log_level, spdlog::level::critical));
        spdlog::get("monitor")->log(level, "vcpu{}: {}", vcpu_.id(), std::string_view(ch.log, len));
        ch.log_len = 0;
        return true;
    }
    case layout::port::kReady: spdlog::debug("vCPU {}: monitor boot complete", vcpu_.id()); return true;
    case layout::port::kYield: sched_yield(); return true;  // the vCPU it waits for may need this CPU
    case layout::port::kShutdown:
        flush_console();
        switch (value) {
        case SHUTDOWN_poweroff: control_.finish(Outcome::Poweroff, "guest powered off"); break;
        case SHUTDOWN_reboot: control_.finish(Outcome::Reboot, "guest asked for a reboot"); break;
        case SHUTDOWN_suspend:
            control_.finish(Outcome::Crash, "guest asked to suspend, which pvvmm does not support");
            break;
        case SHUTDOWN_watchdog: control_.finish(Outcome::Crash, "guest watchdog fired"); break;
        default: control_.finish(Outcome::Crash, fmt::format("guest crashed (shutdown reason {})", value)); break;
        }
        return false;
    case layout::port::kPanic: {
        flush_console();
        const auto& p = ch.panic_regs;
        std::string msg(ch.panic_msg, strnlen(ch.panic_msg, abi::kPanicMsgSize));
        spdlog::error("monitor panic on vCPU {}: {}", vcpu_.id(), msg);
        spdlog::error("  rip={:#018x} rsp={:#018x} rflags={:#x} cs={:#x} ss={:#x} vector={} error={:#x}", p.rip, p.rsp,
                      p.rflags, p.cs, p.ss, p.vector, p.error_code);
        spdlog::error("  rax={:#018x} rbx={:#018x} rcx={:#018x} rdx={:#018x}", p.rax, p.rbx, p.rcx, p.rdx);
        spdlog::error("  rsi={:#018x} rdi={:#018x} rbp={:#018x} r8 ={:#018x}", p.rsi, p.rdi, p.rbp, p.r8);
        spdlog::error("  r9 ={:#018x} r10={:#018x} r11={:#018x} r12={:#018x}", p.r9, p.r10, p.r11, p.r12);
        spdlog::error("  r13={:#018x} r14={:#018x} r15={:#018x}", p.r13, p.r14, p.r15);
        spdlog::error("  cr0={:#x} cr2={:#x} cr3={:#x} cr4={:#x}", p.cr0, p.cr2, p.cr3, p.cr4);
        control_.finish(Outcome::MonitorPanic, fmt::format("monitor panic on vCPU {}: {}", vcpu_.id(), msg));
        return false;
    }
    default:
        spdlog::warn("vCPU {}: write of {:#x} to unknown port {:#x} ignored", vcpu_.id(), value, run.io.port);
        return true;
    }
}

void VcpuThread::loop() {
    if (ignore_kicks_) {
        sigset_t kick;
        sigemptyset(&kick);
        sigaddset(&kick, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &kick, nullptr);
    }
    kvm_run& run = *vcpu_.run_page();
    while (!control_.finished()) {
        if (auto r = vcpu_.run(); !r) {
            spdlog::error("{}", r.error().message);
            control_.finish(Outcome::MonitorPanic, r.error().message);
            return;
        }
        if (control_.finished())
            return;
        switch (run.exit_reason) {
        case KVM_EXIT_INTR: continue;
        case KVM_EXIT_IO:
            if (!handle_io(run))
                return;
            continue;
        case KVM_EXIT_DEBUG:
            ++single_steps_;  // only with RunOptions::count_single_steps
            if (profile_steps_)
                ++steps_by_address_[run.debug.arch.pc];
            continue;
        case KVM_EXIT_HLT:
            // Without an in-kernel irqchip a halted vCPU has nothing to wake
            // it: an idle secondary vCPU simply waits for the run to end.
            control_.wait(std::chrono::milliseconds{0});
            return;
        case KVM_EXIT_SHUTDOWN:
            // The registers are reset by now; what the monitor left in memory is not.
            spdlog::error("vCPU {}: {}", vcpu_.id(), describe_monitor_remains(mem_, vcpu_.id()));
            if (const std::string others = describe_other_vcpus(mem_, vcpu_.id()); !others.empty())
                spdlog::info("at that time:\n{}", others);
            report_fault("triple fault in the monitor (KVM_EXIT_SHUTDOWN)");
            return;
        case KVM_EXIT_INTERNAL_ERROR:
            report_fault(fmt::format("KVM internal error, suberror {} (an instruction KVM cannot emulate?)",
                                     run.internal.suberror)
                             .c_str());
            return;
        case KVM_EXIT_FAIL_ENTRY:
            report_fault(
                fmt::format("KVM entry failed, reason {:#x}", run.fail_entry.hardware_entry_failure_reason).c_str());
            return;
        case KVM_EXIT_MMIO:
            report_fault(
                fmt::format("monitor touched unbacked guest-physical address {:#x}", run.mmio.phys_addr).c_str());
            return;
        default: report_fault(fmt::format("unexpected KVM exit reason {}", run.exit_reason).c_str()); return;
        }
    }
}

}  // namespace pvvmm
