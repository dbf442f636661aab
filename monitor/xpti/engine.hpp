// The XPTI engine (pagetables/xpti.hpp) bound to the real hardware and
// the monitor's direct map: the part of a vCPU's XPTI state that lives in
// its Vcpu (monitor/state.hpp). Every CR3 write, flush, copy and cache
// event is counted in the vCPU's counters.
#pragma once

#include <stdint.h>

#include "guest-abi/counters.hpp"
#include "guest-abi/layout.hpp"
#include "monitor/arch/x86_64/cpu.hpp"
#include "pagetables/xpti.hpp"

namespace monitor::xpti {

// The hardware an engine drives, counted.
struct HwMachine {
    using Reason = abi::FlushReason;
    static constexpr Reason kRootSwitchReason = abi::FlushReason::GuestRootSwitch;
    abi::Counters* counters = nullptr;
    uint64_t* last_cr3_written = nullptr;  // in CpuInfo
    uint64_t cr4 = 0;                      // with PGE when global pages are on

    void write_cr3(uint64_t value) {
        cpu::write_cr3(value);
        *last_cr3_written = value;
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

// A vCPU's XPTI state (a member of Vcpu).
struct PerVcpu {
    HwMachine hw;
    DirectMapRoots mem;
    Engine engine;
};

}  // namespace monitor::xpti
