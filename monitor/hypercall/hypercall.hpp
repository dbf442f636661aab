// Hypercall dispatch: Xen's numbers, arguments in rdi, rsi, rdx, r10, r8,
// result (0 or negative Xen errno) in rax. One handler per family file.
#pragma once

#include <stdint.h>

#include "guest-abi/hypercalls.hpp"
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

// MMUEXT_NEW_BASEPTR / NEW_USER_BASEPTR (also a guest's mov to CR3): 0 or
// a negative Xen errno.
[[nodiscard]] int64_t set_base(Vcpu& v, uint64_t mfn, bool user);

// Counted separately from unknown hypercall numbers.
int64_t unknown_subop(const char* hypercall, uint64_t subop);

// One handler per IMPL line of guest-abi/hypercalls.hpp, hc_<name>, in the
// family files hypercall/*.cpp.
#define PVVMM_HC_DECLARE(name, ...) int64_t hc_##name(GuestRegs&, HypercallArgs);
#define PVVMM_HC_NONE(name)
PVVMM_HYPERCALLS(PVVMM_HC_DECLARE, PVVMM_HC_NONE)
#undef PVVMM_HC_DECLARE
#undef PVVMM_HC_NONE

// MMUEXT_SET_LDT (hypercall/ldt.cpp), and where this vCPU's LDT copy lives.
int64_t set_ldt(uint64_t linear_addr, uint64_t entries);
uint64_t* ldt_copy(const Vcpu& v);
// The vCPU's GDT as the CPU uses it: the guest's entries, then Xen's reserved ones.
uint64_t* gdt_copy(const Vcpu& v);

// Ends the domain with `reason` (SHUTDOWN_*), or the code the guest gave
// before with SCHEDOP_shutdown_code.
[[noreturn]] void shutdown_domain(uint8_t reason);

// Writes the hypercall page at guest-virtual `va` (through its frame).
void write_hypercall_page(uint64_t mfn);

}  // namespace monitor
