// Per-vCPU event counters kept by the monitor and reported by `pvvmm --stats`.
#pragma once

#include <stdint.h>

namespace abi {

inline constexpr uint32_t kHypercallSlots = 64;  // Xen hypercall numbers < 64

// Why the monitor flushed a TLB: every flush goes through one interface
// (monitor/mm/flush.hpp) and is counted here by reason and kind.
enum class FlushReason : uint32_t {
    GuestFlushRequest,  // MMUEXT_TLB_FLUSH_* / MMUEXT_INVLPG_*, NEW_BASEPTR of the L4 in use
    UpdateVaMapping,    // update_va_mapping's UVMF_TLB_FLUSH / UVMF_INVLPG
    StaleWritable,      // a frame becomes a page table after a writable mapping was dropped
    GuestRootSwitch,    // naive XPTI: the second flush of a guest root switch
    Count,
};
inline constexpr uint32_t kFlushReasons = static_cast<uint32_t>(FlushReason::Count);

constexpr const char* flush_reason_name(FlushReason r) {
    switch (r) {
    case FlushReason::GuestFlushRequest: return "guest request (mmuext_op)";
    case FlushReason::UpdateVaMapping: return "update_va_mapping flags";
    case FlushReason::StaleWritable: return "stale writable mapping";
    case FlushReason::GuestRootSwitch: return "guest root switch (2nd flush)";
    case FlushReason::Count: break;
    }
    return "?";
}
inline constexpr uint32_t kVectorSlots = 32;

inline constexpr uint64_t kXptiStateOn = 1u << 0;      // restricted roots in use
inline constexpr uint64_t kXptiStatePcid = 1u << 1;    // PCIDs (and INVPCID) in use
inline constexpr uint64_t kXptiStateGlobal = 1u << 2;  // CR4.PGE on  // exception vectors 0..31

struct Counters {
    uint64_t hypercalls[kHypercallSlots];          // by hypercall number
    uint64_t hypercalls_refused[kHypercallSlots];  // of those, the ones that returned an error
    uint64_t hypercalls_unknown;                   // number >= kHypercallSlots or unimplemented
    uint64_t subops_unknown;                       // known hypercall, unknown sub-op (-ENOSYS)
    uint64_t exceptions[kVectorSlots];             // guest exceptions by vector
    uint64_t exceptions_bounced;                   // delivered to the guest's trap table
    uint64_t guest_entries;                        // guest -> monitor transitions
    uint64_t guest_exits;                          // monitor -> guest transitions
    uint64_t syscalls_from_user;                   // guest-user syscalls bounced to the kernel
    uint64_t cr3_writes;
    uint64_t tlb_flushes[kFlushReasons];  // full flushes (CR3 reload) by reason
    uint64_t invlpgs[kFlushReasons];      // single-address flushes by reason
    uint64_t emulated_cpuid;
    uint64_t emulated_privileged;     // rdmsr/wrmsr/mov-from-cr3 emulated
    uint64_t emulated_m2p_reads;      // slot-256 reads emulated (host quirk)
    uint64_t emulated_int_n;          // `int N` decoded after #UD (host quirk)
    uint64_t syscall_via_fault;       // syscall entries reached through #PF at LSTAR
    uint64_t syscall_via_trampoline;  // syscall entries reached through the int3 trampoline
    uint64_t audits;                  // PV MMU consistency audits run (--audit)
    // XPTI (see monitor/xpti/). With XPTI on, every guest entry and exit
    // also loads CR3 in entry.S (uncounted there: entries + exits).
    uint64_t xpti_state;       // kXptiState* bits: what the monitor chose at start-up
    uint64_t l4_copies;        // restricted-root refreshes that copied guest L4 slots
    uint64_t l4_slots_copied;  // L4 entries copied by them
    uint64_t root_cache_hits;  // guest root switches that found their restricted root cached
    uint64_t root_cache_misses;
    uint64_t root_slot_updates;  // mmu_update L4 writes applied to cached restricted roots
    uint64_t pge_toggles;        // full flushes done by toggling CR4.PGE
    uint64_t invpcids[4];        // by INVPCID type (0 address, 1 context, 2 all, 3 all but globals)
};

}  // namespace abi
