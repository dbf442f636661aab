// XPTI in the monitor: the per-vCPU engine (pagetables/xpti.hpp) bound to
// the real hardware, the CpuInfo fields entry.S reads (xen_cr3, pv_cr3,
// monitor_cr3, use_pv_cr3) and the PV MMU's L4 hooks. Every CR3 write,
// flush, copy and cache event is counted in the vCPU's counters.
#pragma once

#include <stdint.h>

#include "guest-abi/counters.hpp"
#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/arch/x86_64/regs.hpp"
#include "monitor/state.hpp"
#include "pagetables/xpti.hpp"

namespace monitor::xpti {

// The hardware an engine drives, counted.
struct HwMachine {
    using Reason = abi::FlushReason;
    static constexpr Reason kRootSwitchReason = abi::FlushReason::GuestRootSwitch;
    abi::Counters* counters = nullptr;
    uint64_t cr4 = 0;  // with PGE when global pages are on

    void write_cr3(uint64_t value) {
        cpu::write_cr3(value);
        counters->cr3_writes++;
    }
    void toggle_pge() {
        cpu::write_cr4(cr4 & ~cpu::kCr4Pge);
        cpu::write_cr4(cr4);
        counters->pge_toggles++;
    }
    void invlpg(uint64_t va) { cpu::invlpg(va); }
    void invpcid(pt::xpti::Invpcid type, uint16_t pcid, uint64_t va) {
        cpu::invpcid(static_cast<uint64_t>(type), pcid, va);
        counters->invpcids[static_cast<unsigned>(type)]++;
    }
    void count_flush(Reason reason, bool full) {
        (full ? counters->tlb_flushes : counters->invlpgs)[static_cast<uint32_t>(reason)]++;
    }
    void count(pt::xpti::Event e, uint64_t n);
};

// Guest L4s and restricted roots through the direct map.
struct DirectMapRoots {
    [[nodiscard]] uint64_t read(uint64_t table_pa, unsigned index) const {
        return reinterpret_cast<const uint64_t*>(layout::direct_map(table_pa))[index];
    }
    void write(uint64_t table_pa, unsigned index, uint64_t value) {
        reinterpret_cast<uint64_t*>(layout::direct_map(table_pa))[index] = value;
    }
    void copy_slots(uint64_t dst_pa, uint64_t src_pa, unsigned first, unsigned count);
    [[nodiscard]] const pt::xpti::SlotMask* slots_in_use(uint64_t l4_pa) const;
};

using Engine = pt::xpti::Engine<HwMachine, DirectMapRoots>;

struct PerVcpu {
    HwMachine hw;
    DirectMapRoots mem;
    Engine engine;
};
extern PerVcpu the_xpti[layout::kMaxVcpus];
inline Engine& engine(const Vcpu& v) { return the_xpti[v.id].engine; }

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

// TLB flushes (local: other vCPUs run no guest code yet).
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
