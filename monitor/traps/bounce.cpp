#include "monitor/traps/bounce.hpp"

#include <stdarg.h>
#include <stdint.h>
#include <xen/sched.h>

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/format.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/address_space.hpp"

extern "C" uint64_t copy_guest(void* dst, const void* src, uint64_t n);

namespace monitor {

// What a guest developer needs to find the spot: the registers and the top
// of the guest stack (return addresses to symbolise).
void log_guest_context(LogLevel level, const GuestRegs& r) {
    log(level, "  rax %#lx rbx %#lx rcx %#lx rdx %#lx rsi %#lx rdi %#lx rbp %#lx", r.rax, r.rbx, r.rcx, r.rdx, r.rsi,
        r.rdi, r.rbp);
    log(level, "  r8 %#lx r9 %#lx r10 %#lx r11 %#lx r12 %#lx r13 %#lx r14 %#lx r15 %#lx", r.r8, r.r9, r.r10, r.r11,
        r.r12, r.r13, r.r14, r.r15);
    uint64_t stack[8];
    if (copy_guest(stack, reinterpret_cast<const void*>(r.rsp & ~7ull), sizeof(stack)) == 0)
        log(level, "  stack %#lx %#lx %#lx %#lx %#lx %#lx %#lx %#lx", stack[0], stack[1], stack[2], stack[3], stack[4],
            stack[5], stack[6], stack[7]);
}

void crash_domain(const GuestRegs& r, const char* fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vformat(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log(LogLevel::Error, "domain crashed: %s (rip %#lx rsp %#lx %s mode)", msg, r.rip, r.rsp,
        current().kernel_mode ? "kernel" : "user");
    log_guest_context(LogLevel::Error, r);
    shutdown_domain(SHUTDOWN_crash);
}

void toggle_guest_mode(Vcpu& v) {
    v.kernel_mode = !v.kernel_mode;
    // The GS base that is live follows the mode (Xen's swapgs on toggle).
    cpu::wrmsr(cpu::kMsrGsBase, v.kernel_mode ? v.gs_base_kernel : v.gs_base_user);
    load_guest_cr3(v);
}

bool bounce_to_guest(GuestRegs& r, const Bounce& b) {
    Vcpu& v = current();
    uint64_t cs = r.cs;
    uint64_t sp;
    if (v.kernel_mode) {
        sp = r.rsp;
        cs &= ~3ull;  // tells the guest kernel it interrupted kernel context
    } else {
        toggle_guest_mode(v);
        sp = v.kernel_sp;
    }
    sp &= ~0xfull;
    if (b.handler == 0)
        crash_domain(r, "no guest handler registered (vector %lu)", r.vector);
    if (sp >= HYPERVISOR_VIRT_START && sp < HYPERVISOR_VIRT_END + 60)
        crash_domain(r, "guest kernel stack %#lx is inside the monitor's range", sp);

    auto& info = vcpu_info(v);
    const uint64_t saved_mask = info.evtchn_upcall_mask;
    if (b.disables_events)
        info.evtchn_upcall_mask = 1;

    uint64_t frame[8];
    unsigned n = 0;
    frame[n++] = r.rcx;
    frame[n++] = r.r11;
    if (b.has_error_code)
        frame[n++] = b.error_code;
    frame[n++] = r.rip;
    frame[n++] = (cs & 0xffff) | (saved_mask << 32);
    frame[n++] = (r.rflags & ~cpu::kRflagsIf) | (saved_mask ? 0 : cpu::kRflagsIf);
    frame[n++] = r.rsp;
    frame[n++] = r.ss;
    sp -= n * 8;
    if (copy_guest(reinterpret_cast<void*>(sp), frame, n * 8) != 0)
        crash_domain(r, "cannot write a bounce frame to the guest kernel stack at %#lx", sp);

    r.rip = b.handler;
    r.cs = FLAT_KERNEL_CS;
    r.ss = FLAT_KERNEL_SS;
    r.rsp = sp;
    r.rflags &= ~(cpu::kRflagsAc | cpu::kRflagsVm | cpu::kRflagsRf | cpu::kRflagsNt | cpu::kRflagsTf);
    v.counters->exceptions_bounced++;
    return true;
}

void deliver_exception(GuestRegs& r, unsigned vector, bool has_error_code, uint32_t error_code) {
    Vcpu& v = current();
    const auto& t = v.traps[vector];
    log(LogLevel::Trace, "exception %u (error %#x) at rip %#lx to the guest's handler %#lx", vector, error_code, r.rip,
        t.address);
    if (t.address == 0)
        crash_domain(r, "unhandled exception %u (error %#x) with no trap handler registered", vector, error_code);
    bounce_to_guest(r, Bounce{t.address, has_error_code, error_code, t.disables_events});
}

}  // namespace monitor
