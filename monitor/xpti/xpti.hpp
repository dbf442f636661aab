// XPTI in the monitor: the per-vCPU engine (pagetables/xpti.hpp) bound to
// the real hardware, the CpuInfo fields entry.S reads (xen_cr3, pv_cr3,
// monitor_cr3, use_pv_cr3) and the PV MMU's L4 hooks. Every CR3 write,
// flush, copy and cache event is counted in the vCPU's counters.
#pragma once

#include <stdint.h>

#include "monitor/arch/x86_64/regs.hpp"
#include "monitor/state.hpp"
#include "monitor/xpti/engine.hpp"

namespace monitor::xpti {

inline Engine& engine(Vcpu& v) { return v.xpti.engine; }

// Start-up on the booting vCPU, after the probe: resolves the policy
// (BootInfo options, CPUID's PCID/INVPCID), sets CR4, picks the entry path,
// logs which case applies.
void init(Vcpu& v);

// The vCPU's guest root (kernel or user L4) changed.
void switch_root(Vcpu& v);

// Every exit to the guest: root_pgt_changed work, if any (out of line).
void prepare_exit_slow(Vcpu& v);
inline void before_exit(CpuInfo* ci) {
    if (ci->root_pgt_changed) [[unlikely]]
        prepare_exit_slow(*ci->vcpu);
}

// TLB flushes on this vCPU (monitor/mm/flush.hpp reaches the others).
void flush_all(abi::FlushReason reason);
void flush_one(abi::FlushReason reason, uint64_t va);

// PV MMU hook: a present L1/L2/L3 entry changed. Only cached roots with
// their own PCIDs care (their TLB entries outlive a switch away).
extern bool cached_roots_have_pcids;
void table_entry_changed_slow();
inline void table_entry_changed() {
    if (cached_roots_have_pcids) [[unlikely]]
        table_entry_changed_slow();
}

// PV MMU hooks for guest L4 frames.
void l4_validated(uint64_t l4_mfn, const pt::xpti::SlotMask& in_use);
void l4_entry_written(uint64_t l4_mfn, unsigned slot, uint64_t entry);
void l4_released(uint64_t l4_mfn);

// Test hook: map the direct-map slot into vCPU 0's first restricted root,
// so the isolation check has something to find.
void leak_into_restricted_root();

}  // namespace monitor::xpti
