#include "monitor/mm/pv_mmu.hpp"

#include "monitor/lib/xen_errno.hpp"

#include "monitor/log.hpp"
#include "monitor/mm/flush.hpp"
#include "monitor/mm/pv_mmu_env.hpp"
#include "monitor/xpti/xpti.hpp"
#include "pagetables/entry.hpp"
#include "pagetables/pv_mmu.hpp"

namespace monitor::mm {

namespace {

// The monitor's environment for the PV MMU core (pagetables/pv_mmu.hpp):
// the domain's tables and frame table, plus XPTI's hooks.
struct MonitorEnv : DomainTablesEnv {
    static void l4_validated(uint64_t mfn, const pt::xpti::SlotMask& in_use) { xpti::l4_validated(mfn, in_use); }
    static void l4_entry_written(uint64_t mfn, unsigned i, uint64_t e) { xpti::l4_entry_written(mfn, i, e); }
    static void l4_released(uint64_t mfn) { xpti::l4_released(mfn); }
    static void table_entry_changed() { xpti::table_entry_changed(); }
    // A dropped writable mapping may live on in a TLB. Before any frame
    // becomes a page table (or descriptor page), such stale entries must be
    // gone (Xen tracks this per frame with its TLB-flush clock; one flag and
    // a full flush suffice while each domain has one running vCPU).
    static void flush_stale_writable() { flush_all(FlushReason::StaleWritable, FlushScope::all()); }
    static void refused(int level, uint64_t mfn, unsigned i, uint64_t e, int rc) {
        log(LogLevel::Warn, "L%d table mfn %#lx entry %u (%#lx) refused: %d", level, mfn, i, e, rc);
    }
};

constinit MonitorEnv env;
constinit pt::pvmmu::Mmu<MonitorEnv> mmu{env};

static_assert(pt::pvmmu::kEPERM == EPERM && pt::pvmmu::kEINVAL == EINVAL);
static_assert(pt::pvmmu::kEntryChanged == kEntryChanged);

uint64_t* table(uint64_t mfn) { return frame_ptr<uint64_t>(mfn); }

}  // namespace

bool guest_may_map(uint64_t mfn) { return is_domain_mfn(mfn) || mfn == domain().boot.domain.shared_info_mfn; }

int get_page_type(uint64_t mfn, FrameType type) { return mmu.get_page_type(mfn, static_cast<int>(type)); }

void put_page_type(uint64_t mfn) { mmu.put_page_type(mfn); }

int update_entry(uint64_t table_mfn, unsigned index, uint64_t new_entry, bool preserve_ad) {
    return mmu.update_entry(table_mfn, index, new_entry, preserve_ad);
}

int update_entry_if(uint64_t table_mfn, unsigned index, uint64_t expected, uint64_t new_entry) {
    return mmu.update_entry_if(table_mfn, index, expected, new_entry);
}

uint64_t find_l1(uint64_t l4_mfn, uint64_t va) {
    uint64_t mfn = l4_mfn;
    for (int level = 4; level > 1; --level) {
        const uint64_t e = table(mfn)[pt::table_index(va, level)];
        if (!(e & pt::kPresent) || (e & pt::kHuge))
            return 0;
        mfn = (e & pt::kAddrMask) >> 12;
    }
    return mfn;
}

}  // namespace monitor::mm
