// The domain's frames and page tables as pagetables/pv_mmu.hpp's
// environment sees them: tables through the direct map, the real frame
// table, the monitor's L4 slots. Shared by the PV MMU (mm/pv_mmu.cpp, which
// adds XPTI's hooks) and its audit (mm/audit.cpp, which adds the references
// held outside page tables), so both look at the domain the same way.
#pragma once

#include <stdint.h>

#include "guest-abi/layout.hpp"
#include "monitor/mm/frame_table.hpp"
#include "monitor/mm/pv_mmu.hpp"
#include "monitor/state.hpp"

namespace monitor::mm {

struct DomainTablesEnv {
    static FrameInfo& frame(uint64_t mfn) { return mm::frame(mfn); }
    static uint64_t read(uint64_t mfn, unsigned i) { return frame_ptr<uint64_t>(mfn)[i]; }
    static void write(uint64_t mfn, unsigned i, uint64_t v) {
        __atomic_store_n(&frame_ptr<uint64_t>(mfn)[i], v, __ATOMIC_RELAXED);
    }
    static bool compare_exchange(uint64_t mfn, unsigned i, uint64_t& expected, uint64_t desired) {
        return __atomic_compare_exchange_n(&frame_ptr<uint64_t>(mfn)[i], &expected, desired, false, __ATOMIC_RELAXED,
                                           __ATOMIC_RELAXED);
    }
    static bool is_domain_mfn(uint64_t mfn) { return monitor::is_domain_mfn(mfn); }
    static bool guest_may_map(uint64_t mfn) { return mm::guest_may_map(mfn); }
    static uint64_t shared_info_mfn() { return domain().boot.domain.shared_info_mfn; }
    static bool is_monitor_l4_slot(unsigned i) {
        return i >= layout::kMonitorSlotFirst && i <= layout::kMonitorSlotLast;
    }
    // The monitor's own slots (M2P, per-CPU areas, image, direct map); the
    // probe slot stays empty in guest L4s.
    static uint64_t monitor_l4_entry(unsigned i) {
        return i == layout::kProbeSlot
                   ? 0
                   : reinterpret_cast<const uint64_t*>(layout::direct_map(domain().boot.monitor_l4_gpa))[i];
    }
};

}  // namespace monitor::mm
