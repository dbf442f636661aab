// Hypercall dispatch: Xen's numbers, arguments in rdi, rsi, rdx, r10, r8,
// result (0 or negative Xen errno) in rax. One handler per family file.
#pragma once

#include <stdint.h>

#include "monitor/arch/x86_64/regs.hpp"

namespace monitor {

// The argument registers, read in place (no copy on the hot path).
class HypercallArgs {
public:
    explicit HypercallArgs(const GuestRegs& regs) : r_(regs) {}
    [[nodiscard]] uint64_t a1() const { return r_.rdi; }
    [[nodiscard]] uint64_t a2() const { return r_.rsi; }
    [[nodiscard]] uint64_t a3() const { return r_.rdx; }
    [[nodiscard]] uint64_t a4() const { return r_.r10; }
    [[nodiscard]] uint64_t a5() const { return r_.r8; }

private:
    const GuestRegs& r_;
};

using HypercallHandler = int64_t (*)(GuestRegs& regs, const HypercallArgs& args);

void do_hypercall(GuestRegs& regs);

// Counted separately from unknown hypercall numbers.
int64_t unknown_subop(const char* hypercall, uint64_t subop);

// Families (hypercall/*.cpp)
int64_t hc_console_io(GuestRegs&, const HypercallArgs&);
int64_t hc_event_channel_op(GuestRegs&, const HypercallArgs&);
int64_t hc_xen_version(GuestRegs&, const HypercallArgs&);
int64_t hc_sched_op(GuestRegs&, const HypercallArgs&);
int64_t hc_set_trap_table(GuestRegs&, const HypercallArgs&);
int64_t hc_callback_op(GuestRegs&, const HypercallArgs&);
int64_t hc_stack_switch(GuestRegs&, const HypercallArgs&);
int64_t hc_set_segment_base(GuestRegs&, const HypercallArgs&);
int64_t hc_iret(GuestRegs&, const HypercallArgs&);
int64_t hc_vm_assist(GuestRegs&, const HypercallArgs&);
int64_t hc_memory_op(GuestRegs&, const HypercallArgs&);
int64_t hc_update_va_mapping(GuestRegs&, const HypercallArgs&);
int64_t hc_mmu_update(GuestRegs&, const HypercallArgs&);
int64_t hc_mmuext_op(GuestRegs&, const HypercallArgs&);
int64_t hc_set_gdt(GuestRegs&, const HypercallArgs&);
int64_t hc_fpu_taskswitch(GuestRegs&, const HypercallArgs&);

// Writes the hypercall page at guest-virtual `va` (through its frame).
void write_hypercall_page(uint64_t mfn);

}  // namespace monitor
