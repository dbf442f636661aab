// Hypercall dispatch: Xen's numbers, arguments in rdi, rsi, rdx, r10, r8,
// result (0 or negative Xen errno) in rax. One handler per family file.
#pragma once

#include <stdint.h>

#include "monitor/arch/x86_64/regs.hpp"

namespace monitor {

// A hypercall's arguments: the argument registers, read in place (no copy
// on the hot path), or the args of a multicall entry.
class HypercallArgs {
public:
    explicit HypercallArgs(const GuestRegs& regs) : r_(&regs) {}
    HypercallArgs(const GuestRegs& regs, const uint64_t (&multicall_args)[6]) : r_(&regs), array_(multicall_args) {}
    [[nodiscard]] uint64_t a1() const { return array_ ? array_[0] : r_->rdi; }
    [[nodiscard]] uint64_t a2() const { return array_ ? array_[1] : r_->rsi; }
    [[nodiscard]] uint64_t a3() const { return array_ ? array_[2] : r_->rdx; }
    [[nodiscard]] uint64_t a4() const { return array_ ? array_[3] : r_->r10; }
    [[nodiscard]] uint64_t a5() const { return array_ ? array_[4] : r_->r8; }

private:
    // Pointers, not a reference: the view is passed by value in two registers.
    const GuestRegs* r_;
    const uint64_t* array_ = nullptr;
};

using HypercallHandler = int64_t (*)(GuestRegs& regs, HypercallArgs args);

void do_hypercall(GuestRegs& regs);

// One hypercall by number (from registers or a multicall entry), counted.
int64_t dispatch_hypercall(GuestRegs& regs, uint64_t nr, HypercallArgs args);

// Counted separately from unknown hypercall numbers.
int64_t unknown_subop(const char* hypercall, uint64_t subop);

// Families (hypercall/*.cpp)
int64_t hc_console_io(GuestRegs&, HypercallArgs);
int64_t hc_event_channel_op(GuestRegs&, HypercallArgs);
int64_t hc_xen_version(GuestRegs&, HypercallArgs);
int64_t hc_sched_op(GuestRegs&, HypercallArgs);
int64_t hc_set_trap_table(GuestRegs&, HypercallArgs);
int64_t hc_callback_op(GuestRegs&, HypercallArgs);
int64_t hc_stack_switch(GuestRegs&, HypercallArgs);
int64_t hc_set_segment_base(GuestRegs&, HypercallArgs);
int64_t hc_iret(GuestRegs&, HypercallArgs);
int64_t hc_vm_assist(GuestRegs&, HypercallArgs);
int64_t hc_memory_op(GuestRegs&, HypercallArgs);
int64_t hc_update_va_mapping(GuestRegs&, HypercallArgs);
int64_t hc_mmu_update(GuestRegs&, HypercallArgs);
int64_t hc_mmuext_op(GuestRegs&, HypercallArgs);
int64_t hc_set_gdt(GuestRegs&, HypercallArgs);
int64_t hc_update_descriptor(GuestRegs&, HypercallArgs);
int64_t hc_fpu_taskswitch(GuestRegs&, HypercallArgs);
int64_t hc_multicall(GuestRegs&, HypercallArgs);

// MMUEXT_SET_LDT (hypercall/ldt.cpp), and where this vCPU's LDT copy lives.
int64_t set_ldt(uint64_t linear_addr, uint64_t entries);
uint64_t* ldt_copy(const Vcpu& v);

// Writes the hypercall page at guest-virtual `va` (through its frame).
void write_hypercall_page(uint64_t mfn);

}  // namespace monitor
