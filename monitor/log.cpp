#include "monitor/log.hpp"

#include <stdarg.h>

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/lib/format.hpp"
#include "monitor/state.hpp"

namespace monitor {

abi::HostChannel& channel() { return *this_cpu()->vcpu->channel; }

namespace {

// A guest can make the monitor log in a loop (an unknown hypercall, say):
// below Error, each vCPU logs at most kBurst lines at once and kPerSecond
// a second after that, and says how many it dropped.
constexpr uint32_t kBurst = 20, kPerSecond = 20;

bool within_budget(Vcpu& v) {
    LogBudget& b = v.log_budget;
    const uint64_t tsc_per_line = domain().boot.tsc_khz * 1000 / kPerSecond;
    if (tsc_per_line == 0)
        return true;
    const uint64_t now = cpu::rdtsc();
    if (const uint64_t earned = (now - b.refilled_tsc) / tsc_per_line; earned > 0) {
        b.spent = earned >= b.spent ? 0 : b.spent - static_cast<uint32_t>(earned);
        b.refilled_tsc = now;
    }
    if (b.spent >= kBurst) {
        ++b.suppressed;
        v.counters->log_lines_suppressed++;
        return false;
    }
    ++b.spent;
    return true;
}

void emit(LogLevel level, const char* fmt, va_list ap) {
    auto& ch = channel();
    ch.log_len = static_cast<uint32_t>(vformat(ch.log, abi::kLogBufSize, fmt, ap));
    ch.log_level = static_cast<uint32_t>(level);
    cpu::outl(layout::port::kLog, 0);
}

void emit_line(LogLevel level, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(level, fmt, ap);
    va_end(ap);
}

}  // namespace

void report_suppressed_logs() {
    Vcpu& v = *this_cpu()->vcpu;
    if (v.log_budget.suppressed == 0)
        return;
    emit_line(LogLevel::Warn, "%lu log lines suppressed (more than %u a second)", v.log_budget.suppressed, kPerSecond);
    v.log_budget.suppressed = 0;
}

void log(LogLevel level, const char* fmt, ...) {
    if (static_cast<uint32_t>(level) < domain().boot.log_level)
        return;  // filtered here: each line costs a VM exit
    if (level < LogLevel::Error) {
        if (!within_budget(*this_cpu()->vcpu))
            return;
        report_suppressed_logs();
    }
    va_list ap;
    va_start(ap, fmt);
    emit(level, fmt, ap);
    va_end(ap);
}

void panic_regs(const GuestRegs* regs, const char* fmt, ...) {
    auto& ch = channel();
    va_list ap;
    va_start(ap, fmt);
    vformat(ch.panic_msg, abi::kPanicMsgSize, fmt, ap);
    va_end(ap);
    auto& p = ch.panic_regs;
    if (regs) {
        p.rax = regs->rax;
        p.rbx = regs->rbx;
        p.rcx = regs->rcx;
        p.rdx = regs->rdx;
        p.rsi = regs->rsi;
        p.rdi = regs->rdi;
        p.rbp = regs->rbp;
        p.rsp = regs->rsp;
        p.r8 = regs->r8;
        p.r9 = regs->r9;
        p.r10 = regs->r10;
        p.r11 = regs->r11;
        p.r12 = regs->r12;
        p.r13 = regs->r13;
        p.r14 = regs->r14;
        p.r15 = regs->r15;
        p.rip = regs->rip;
        p.rflags = regs->rflags;
        p.cs = regs->cs;
        p.ss = regs->ss;
        p.vector = regs->vector;
        p.error_code = regs->error_code;
    } else {
        // No trap frame: report the caller and what callee-saved registers hold.
        p = abi::PanicRegs{};
        p.rip = reinterpret_cast<uint64_t>(__builtin_return_address(0));
        asm volatile("mov %%rbp, %0" : "=m"(p.rbp));
        asm volatile("mov %%rsp, %0; mov %%rbx, %1; mov %%r12, %2; mov %%r13, %3; mov %%r14, %4; mov %%r15, %5"
                     : "=m"(p.rsp), "=m"(p.rbx), "=m"(p.r12), "=m"(p.r13), "=m"(p.r14), "=m"(p.r15));
        asm volatile("pushfq; popq %0" : "=r"(p.rflags));
        uint16_t cs, ss;
        asm volatile("mov %%cs, %0; mov %%ss, %1" : "=r"(cs), "=r"(ss));
        p.cs = cs;
        p.ss = ss;
    }
    p.cr0 = cpu::read_cr0();
    p.cr2 = cpu::read_cr2();
    p.cr3 = cpu::read_cr3();
    p.cr4 = cpu::read_cr4();
    cpu::outl(layout::port::kPanic, 0);
    cpu::halt_forever();
}

}  // namespace monitor
