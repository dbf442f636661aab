// Per-vCPU event counters kept by the monitor and reported by `pvvmm --stats`.
#pragma once

#include <stdint.h>

namespace abi {

inline constexpr uint32_t kHypercallSlots = 64;  // Xen hypercall numbers < 64
inline constexpr uint32_t kVectorSlots = 32;     // exception vectors 0..31

struct Counters {
    uint64_t hypercalls[kHypercallSlots];  // by hypercall number
    uint64_t hypercalls_unknown;           // number >= kHypercallSlots or unimplemented
    uint64_t subops_unknown;               // known hypercall, unknown sub-op (-ENOSYS)
    uint64_t exceptions[kVectorSlots];     // guest exceptions by vector
    uint64_t exceptions_bounced;           // delivered to the guest's trap table
    uint64_t guest_entries;                // guest -> monitor transitions
    uint64_t guest_exits;                  // monitor -> guest transitions
    uint64_t syscalls_from_user;           // guest-user syscalls bounced to the kernel
    uint64_t cr3_writes;
    uint64_t tlb_flush_local;
    uint64_t invlpg_local;
    uint64_t emulated_cpuid;
    uint64_t emulated_privileged;     // rdmsr/wrmsr/mov-from-cr3 emulated
    uint64_t emulated_m2p_reads;      // slot-256 reads emulated (host quirk)
    uint64_t emulated_int_n;          // `int N` decoded after #UD (host quirk)
    uint64_t syscall_via_fault;       // syscall entries reached through #PF at LSTAR
    uint64_t syscall_via_trampoline;  // syscall entries reached through the int3 trampoline
};

}  // namespace abi
