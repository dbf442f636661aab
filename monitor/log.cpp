#include "monitor/log.hpp"

#include <stdarg.h>

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/lib/format.hpp"
#include "monitor/state.hpp"

namespace monitor {

abi::HostChannel& channel() { return *this_cpu()->vcpu->channel; }

void log(LogLevel level, const char* fmt, ...) {
    if (static_cast<uint32_t>(level) < domain().boot.log_level)
        return;  // filtered here: each line costs a VM exit
    auto& ch = channel();
    va_list ap;
    va_start(ap, fmt);
    ch.log_len = static_cast<uint32_t>(vformat(ch.log, abi::kLogBufSize, fmt, ap));
    va_end(ap);
    ch.log_level = static_cast<uint32_t>(level);
    cpu::outl(layout::port::kLog, 0);
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
