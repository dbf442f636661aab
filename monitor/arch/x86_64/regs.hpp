// The guest register frame saved on every entry into the monitor, and the
// per-CPU block at the top of each stack that the entry code finds from rsp.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "guest-abi/layout.hpp"
#include "monitor/arch/x86_64/asm_offsets.hpp"

namespace monitor {

struct GuestRegs {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi;
    uint64_t vector;                    // pushed by the entry stub (VECTOR_SYSCALL for syscall)
    uint64_t error_code;                // pushed by the CPU, or 0 by the stub
    uint64_t rip, cs, rflags, rsp, ss;  // hardware interrupt frame
};

struct Vcpu;

struct alignas(16) CpuInfo {
    GuestRegs regs;        // guest frame: TSS.RSP0 points just past it
    uint64_t scratch_rsp;  // syscall stub parks the guest rsp here
    uint64_t cpu_id;
    Vcpu* vcpu;
    uint64_t xen_cr3;       // XPTI: entry loads it if non-zero (and zeroes it)
    uint64_t pv_cr3;        // XPTI: the exit loads it (restricted root)
    uint64_t monitor_cr3;   // XPTI: the exit arms xen_cr3 with it
    uint8_t use_pv_cr3;     // XPTI: pv_cr3 is (about to be) live; nested entries restore it
    bool root_pgt_changed;  // XPTI: the next exit has work (copy into / pick the restricted root)
    uint8_t pad0[6];
    uint64_t exit_path;         // this CPU's way out to the guest (plain, flag or sign; entry.S enter_frame)
    uint64_t last_cr3_written;  // by the XPTI engine: the host reports it after a triple fault
    // Set by a vCPU that left an L4 release to this one asleep, cleared when
    // it has emptied its cached roots on waking (before any guest code):
    // the host's isolation walk then looks at the running root only.
    uint64_t cached_roots_await_drop;  // the last field: CpuInfo is full (CPUINFO_SIZE)
};

#define PVVMM_CHECK_OFFSET(field, value) static_assert(offsetof(GuestRegs, field) == (value), #field)
PVVMM_CHECK_OFFSET(r15, REGS_R15);
PVVMM_CHECK_OFFSET(r14, REGS_R14);
PVVMM_CHECK_OFFSET(r13, REGS_R13);
PVVMM_CHECK_OFFSET(r12, REGS_R12);
PVVMM_CHECK_OFFSET(rbp, REGS_RBP);
PVVMM_CHECK_OFFSET(rbx, REGS_RBX);
PVVMM_CHECK_OFFSET(r11, REGS_R11);
PVVMM_CHECK_OFFSET(r10, REGS_R10);
PVVMM_CHECK_OFFSET(r9, REGS_R9);
PVVMM_CHECK_OFFSET(r8, REGS_R8);
PVVMM_CHECK_OFFSET(rax, REGS_RAX);
PVVMM_CHECK_OFFSET(rcx, REGS_RCX);
PVVMM_CHECK_OFFSET(rdx, REGS_RDX);
PVVMM_CHECK_OFFSET(rsi, REGS_RSI);
PVVMM_CHECK_OFFSET(rdi, REGS_RDI);
PVVMM_CHECK_OFFSET(vector, REGS_VECTOR);
PVVMM_CHECK_OFFSET(error_code, REGS_ERROR_CODE);
PVVMM_CHECK_OFFSET(rip, REGS_RIP);
PVVMM_CHECK_OFFSET(cs, REGS_CS);
PVVMM_CHECK_OFFSET(rflags, REGS_RFLAGS);
PVVMM_CHECK_OFFSET(rsp, REGS_RSP);
PVVMM_CHECK_OFFSET(ss, REGS_SS);
#undef PVVMM_CHECK_OFFSET
static_assert(sizeof(GuestRegs) == REGS_SIZE);
static_assert(REGS_SIZE % 16 == 0, "TSS.RSP0 must stay 16-byte aligned");
static_assert(offsetof(CpuInfo, scratch_rsp) == CPUINFO_SCRATCH_RSP);
static_assert(offsetof(CpuInfo, xen_cr3) == CPUINFO_XEN_CR3);
static_assert(offsetof(CpuInfo, pv_cr3) == CPUINFO_PV_CR3);
static_assert(offsetof(CpuInfo, monitor_cr3) == CPUINFO_MONITOR_CR3);
static_assert(offsetof(CpuInfo, use_pv_cr3) == CPUINFO_USE_PV_CR3);
static_assert(offsetof(CpuInfo, exit_path) == CPUINFO_EXIT_PATH);
static_assert(offsetof(CpuInfo, last_cr3_written) == CPUINFO_LAST_CR3_WRITTEN);
static_assert(offsetof(CpuInfo, cached_roots_await_drop) == CPUINFO_CACHED_ROOTS_AWAIT_DROP);
static_assert(PERCPU_VIRT_STRIDE == layout::kPercpuVirtStride);
static_assert(sizeof(CpuInfo) == CPUINFO_SIZE);
static_assert(PERCPU_STACK_TOP == layout::percpu::kStackOffset + layout::percpu::kStackSize);
static_assert(PERCPU_STUB_OFFSET == layout::percpu::kStubOffset);
static_assert(MONITOR_CS == layout::selector::kMonitorCs && MONITOR_DS == layout::selector::kMonitorDs);
static_assert(GUEST_CS64 == layout::selector::kGuestCs64 && GUEST_SS == layout::selector::kGuestSs);

inline CpuInfo* cpu_info_of(uint32_t cpu) {
    return reinterpret_cast<CpuInfo*>(layout::percpu_virt(cpu) + PERCPU_CPUINFO_OFFSET);
}

// The CpuInfo of the CPU we run on, found from the stack like Xen does.
inline CpuInfo* this_cpu() {
    uint64_t rsp;
    asm volatile("mov %%rsp, %0" : "=r"(rsp));
    const uint64_t top = (rsp | (layout::percpu::kStackSize - 1)) + 1;
    return reinterpret_cast<CpuInfo*>(top - CPUINFO_SIZE);
}

}  // namespace monitor
