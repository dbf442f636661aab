#include "monitor/mm/pv_mmu.hpp"

#include "monitor/lib/xen_errno.hpp"

#include "monitor/log.hpp"
#include "monitor/mm/flush.hpp"
#include "monitor/xpti/xpti.hpp"
#include "pagetables/entry.hpp"

namespace monitor::mm {

namespace {

constexpr uint64_t kPresent = pt::kPresent, kWritable = pt::kWritable, kUser = pt::kUser, kHuge = pt::kHuge;
// Bits a guest may not set in any entry: the reserved-at-this-level PS bit
// above L1 and physical address bits beyond 40 (our memory is far smaller).
constexpr uint64_t kAddrMask = pt::kAddrMask;

uint64_t* table(uint64_t mfn) { return frame_ptr<uint64_t>(mfn); }

// A dropped writable mapping may live on in a TLB. Before any frame becomes
// a page table (or descriptor page), such stale entries must be gone, or
// the guest could write its new page table through one (Xen tracks this
// per frame with its TLB-flush clock; one flag and a full flush suffice
// while each domain has one running vCPU).
bool writable_mapping_dropped = false;

void flush_stale_writable_mappings() {
    if (!writable_mapping_dropped)
        return;
    flush_all(FlushReason::StaleWritable, FlushScope::all());
    writable_mapping_dropped = false;
}

bool is_monitor_l4_slot(unsigned index) {
    return index >= layout::kMonitorSlotFirst && index <= layout::kMonitorSlotLast;
}

int validate_table(uint64_t mfn, int level);
void release_table(uint64_t mfn, int level, unsigned upto);

// Takes the reference an entry at `level` holds on its target.
int get_entry_ref(uint64_t entry, int level) {
    if (!(entry & kPresent))
        return 0;
    const uint64_t target = (entry & kAddrMask) >> 12;
    if (!guest_may_map(target))
        return -EPERM;
    if (level == 1) {
        auto& f = frame(target);
        if (entry & kWritable) {
            if (f.type != FrameType::None && f.type_count > 0)
                return -EPERM;  // a page table (or GDT page) is never writable
            f.writable_count++;
        }
        f.map_count++;
        return 0;
    }
    if (entry & kHuge)
        return -EINVAL;  // PV guests get no superpages
    if (target == domain().boot.domain.shared_info_mfn)
        return -EPERM;
    return get_page_type(target, table_type(level - 1));
}

void put_entry_ref(uint64_t entry, int level) {
    if (!(entry & kPresent))
        return;
    const uint64_t target = (entry & kAddrMask) >> 12;
    if (level == 1) {
        auto& f = frame(target);
        if (entry & kWritable) {
            if (f.writable_count)
                f.writable_count--;
            writable_mapping_dropped = true;
        }
        if (f.map_count)
            f.map_count--;
        return;
    }
    put_page_type(target);
}

int validate_table(uint64_t mfn, int level) {
    uint64_t* t = table(mfn);
    pt::xpti::SlotMask in_use;  // L4: for XPTI's slot-copy, at one instruction per present entry
    for (unsigned i = 0; i < pt::kEntries; ++i) {
        if (level == 4 && is_monitor_l4_slot(i))
            continue;
        if (!(t[i] & kPresent))
            continue;
        if (int rc = get_entry_ref(t[i], level); rc < 0) {
            log(LogLevel::Warn, "L%d table mfn %#lx entry %u (%#lx) refused: %d", level, mfn, i, t[i], rc);
            release_table(mfn, level, i);
            return rc;
        }
        t[i] |= kUser;  // the guest kernel runs in ring 3
        if (level == 4)
            in_use.set(i);
    }
    if (level == 4) {
        xpti::l4_validated(mfn, in_use);
        // Install the monitor's own slots (M2P, per-CPU areas, image, direct map).
        const uint64_t* monitor_l4 =
            reinterpret_cast<const uint64_t*>(layout::direct_map(domain().boot.monitor_l4_gpa));
        for (unsigned i = layout::kMonitorSlotFirst; i <= layout::kMonitorSlotLast; ++i)
            t[i] = i == layout::kProbeSlot ? 0 : monitor_l4[i];
    }
    return 0;
}

void release_table(uint64_t mfn, int level, unsigned upto) {
    uint64_t* t = table(mfn);
    for (unsigned i = 0; i < upto; ++i) {
        if (level == 4 && is_monitor_l4_slot(i))
            continue;
        put_entry_ref(t[i], level);
    }
}

}  // namespace

bool guest_may_map(uint64_t mfn) { return is_domain_mfn(mfn) || mfn == domain().boot.domain.shared_info_mfn; }

int get_page_type(uint64_t mfn, FrameType type) {
    if (!is_domain_mfn(mfn))
        return -EINVAL;
    auto& f = frame(mfn);
    if (f.type_count > 0) {
        if (f.type != type)
            return -EINVAL;
        f.type_count++;
        return 0;
    }
    if (type != FrameType::None && f.writable_count > 0)
        return -EINVAL;  // still mapped writable somewhere
    if (type != FrameType::None)
        flush_stale_writable_mappings();
    f.type = type;
    f.type_count = 1;
    const int level = static_cast<int>(type);
    if (level >= 1 && level <= 4) {
        if (int rc = validate_table(mfn, level); rc < 0) {
            f.type_count = 0;
            f.type = FrameType::None;
            return rc;
        }
    }
    return 0;
}

void put_page_type(uint64_t mfn) {
    auto& f = frame(mfn);
    if (f.type_count == 0)
        return;
    if (--f.type_count == 0) {
        const int level = static_cast<int>(f.type);
        if (level >= 1 && level <= 4)
            release_table(mfn, level, pt::kEntries);
        if (level == 4)
            xpti::l4_released(mfn);
        f.type = FrameType::None;
    }
}

int update_entry(uint64_t table_mfn, unsigned index, uint64_t new_entry, bool preserve_ad) {
    if (!is_domain_mfn(table_mfn) || index >= pt::kEntries)
        return -EINVAL;
    auto& f = frame(table_mfn);
    if (f.type_count == 0) {
        // Xen takes an untyped frame as a writable page for the update and
        // stores the value as given: Linux writes the PTEs of an mm it has
        // not pinned yet this way (exec's new mm), validated at the pin.
        __atomic_store_n(&table(table_mfn)[index], new_entry, __ATOMIC_RELAXED);
        return 0;
    }
    const int level = static_cast<int>(f.type);
    if (level < 1 || level > 4)
        return -EINVAL;  // a descriptor table in use: Xen refuses the writable type
    if (level == 4 && is_monitor_l4_slot(index))
        return -EINVAL;
    if (new_entry & kPresent)
        new_entry |= kUser;
    uint64_t* t = table(table_mfn);
    const uint64_t old = t[index];
    if (preserve_ad)
        new_entry |= old & (pt::kAccessed | pt::kDirty);
    if (int rc = get_entry_ref(new_entry, level); rc < 0)
        return rc;
    t[index] = new_entry;
    put_entry_ref(old, level);
    if (level == 4)
        xpti::l4_entry_written(table_mfn, index, new_entry);
    else if (old & kPresent)
        xpti::table_entry_changed();
    return 0;
}

uint64_t find_l1(uint64_t l4_mfn, uint64_t va) {
    uint64_t mfn = l4_mfn;
    for (int level = 4; level > 1; --level) {
        const uint64_t e = table(mfn)[pt::table_index(va, level)];
        if (!(e & kPresent) || (e & kHuge))
            return 0;
        mfn = (e & kAddrMask) >> 12;
    }
    return mfn;
}

}  // namespace monitor::mm
