// The PV MMU's validation logic (Xen's validated direct paging) and its
// consistency audit as header-only templates over an environment policy, so
// the host can test them against a fake frame pool (tests/unit/
// test_pv_mmu.cpp). Freestanding: no exceptions, no allocation. Errors are
// negative Xen errnos.
//
// The environment E provides, for Mmu:
//   frame(mfn) -> F&    F has type (None=0, L1..L4 = 1..4), pinned,
//                       type_count, writable_count, map_count, audit_count
//   read(mfn, i), write(mfn, i, v)   entry i of the table in frame mfn
//   compare_exchange(mfn, i, expected&, desired)  as __atomic_compare_exchange:
//                       other CPUs set accessed/dirty bits in entries in use
//   is_domain_mfn(mfn), guest_may_map(mfn), shared_info_mfn()
//   is_monitor_l4_slot(i), monitor_l4_entry(i)  what an L4 carries there
//   l4_validated(mfn, SlotMask), l4_entry_written(mfn, i, e), l4_released(mfn),
//   table_entry_changed(), flush_stale_writable(),
//   refused(level, mfn, i, entry, rc)  a logging hook
// and for audit: frame, read, shared_info_mfn, is_monitor_l4_slot,
// monitor_l4_entry and
//   extra_references(fn)  calls fn(mfn, from) for each type reference held
//                         outside tables and pins (base pointers, ...);
//                         from is static text naming the holder
#pragma once

#include <stdint.h>
#include <type_traits>

#include "pagetables/entry.hpp"
#include "pagetables/xpti.hpp"

namespace pt::pvmmu {

inline constexpr int kEPERM = 1;         // Xen's XEN_EPERM
inline constexpr int kEINVAL = 22;       // Xen's XEN_EINVAL
inline constexpr int kEntryChanged = 1;  // update_entry_if: the entry no longer held the value expected

template <typename E>
class Mmu {
public:
    constexpr explicit Mmu(E& env) : env_(env) {}

    // Take a type reference: validates the frame as `level` (0 = no type) on the first one.
    [[nodiscard]] int get_page_type(uint64_t mfn, int level) {
        if (!env_.is_domain_mfn(mfn))
            return -kEINVAL;
        auto& f = env_.frame(mfn);
        using T = decltype(f.type);
        if (f.type_count > 0) {
            if (static_cast<int>(f.type) != level)
                return -kEINVAL;
            f.type_count++;
            return 0;
        }
        if (level != 0 && f.writable_count > 0)
            return -kEINVAL;  // still mapped writable somewhere
        if (level != 0)
            flush_stale_writable();
        f.type = static_cast<T>(level);
        f.type_count = 1;
        if (level >= 1 && level <= 4) {
            if (int rc = validate_table(mfn, level); rc < 0) {
                f.type_count = 0;
                f.type = static_cast<T>(0);
                return rc;
            }
        }
        return 0;
    }

    void put_page_type(uint64_t mfn) {
        auto& f = env_.frame(mfn);
        using T = decltype(f.type);
        if (f.type_count == 0)
            return;
        if (--f.type_count == 0) {
            const int level = static_cast<int>(f.type);
            if (level >= 1 && level <= 4)
                release_table(mfn, level, kEntries);
            if (level == 4)
                env_.l4_released(mfn);
            f.type = static_cast<T>(0);
        }
    }

    [[nodiscard]] int update_entry(uint64_t table_mfn, unsigned index, uint64_t new_entry, bool preserve_ad) {
        return update(table_mfn, index, new_entry, preserve_ad, nullptr);
    }

    // As update_entry, but only while the entry still holds `expected` (an
    // emulated guest read-modify-write computed new_entry from it); else
    // kEntryChanged, nothing done: a CPU has set accessed/dirty bits since.
    [[nodiscard]] int update_entry_if(uint64_t table_mfn, unsigned index, uint64_t expected, uint64_t new_entry) {
        return update(table_mfn, index, new_entry, false, &expected);
    }

    bool writable_mapping_dropped() const { return writable_mapping_dropped_; }

private:
    int update(uint64_t table_mfn, unsigned index, uint64_t new_entry, bool preserve_ad, const uint64_t* expected) {
        if (!env_.is_domain_mfn(table_mfn) || index >= kEntries)
            return -kEINVAL;
        auto& f = env_.frame(table_mfn);
        if (f.type_count == 0) {
            env_.write(table_mfn, index, new_entry);  // a plain page: stored as given
            return 0;
        }
        const int level = static_cast<int>(f.type);
        if (level < 1 || level > 4)
            return -kEINVAL;  // a descriptor table in use
        if (level == 4 && env_.is_monitor_l4_slot(index))
            return -kEINVAL;
        if (new_entry & kPresent)
            new_entry |= kUser;
        if (int rc = get_entry_ref(new_entry, level); rc < 0)
            return rc;
        // Updates are serialised (the caller's lock), but a CPU running on
        // the table may set accessed/dirty bits in the entry until the store
        // (Xen updates entries with cmpxchg for the same reason).
        uint64_t old = expected ? *expected : env_.read(table_mfn, index);
        for (;;) {
            const uint64_t value = preserve_ad ? new_entry | (old & (kAccessed | kDirty)) : new_entry;
            if (env_.compare_exchange(table_mfn, index, old, value)) {
                new_entry = value;
                break;
            }
            if (expected) {
                put_entry_ref(new_entry, level);
                return kEntryChanged;
            }
        }
        put_entry_ref(old, level);
        if (level == 4)
            env_.l4_entry_written(table_mfn, index, new_entry);
        else if (old & kPresent)
            env_.table_entry_changed();
        return 0;
    }

    void flush_stale_writable() {
        if (!writable_mapping_dropped_)
            return;
        env_.flush_stale_writable();
        writable_mapping_dropped_ = false;
    }

    int get_entry_ref(uint64_t entry, int level) {
        if (!(entry & kPresent))
            return 0;
        const uint64_t target = (entry & kAddrMask) >> 12;
        if (!env_.guest_may_map(target))
            return -kEPERM;
        if (level == 1) {
            auto& f = env_.frame(target);
            if (entry & kWritable) {
                if (static_cast<int>(f.type) != 0 && f.type_count > 0)
                    return -kEPERM;  // a page table (or GDT page) is never writable
                f.writable_count++;
            }
            f.map_count++;
            return 0;
        }
        if (entry & kHuge)
            return -kEINVAL;  // PV guests get no superpages
        if (target == env_.shared_info_mfn())
            return -kEPERM;
        return get_page_type(target, level - 1);
    }

    void put_entry_ref(uint64_t entry, int level) {
        if (!(entry & kPresent))
            return;
        const uint64_t target = (entry & kAddrMask) >> 12;
        if (level == 1) {
            auto& f = env_.frame(target);
            if (entry & kWritable) {
                if (f.writable_count)
                    f.writable_count--;
                writable_mapping_dropped_ = true;
            }
            if (f.map_count)
                f.map_count--;
            return;
        }
        put_page_type(target);
    }

    int validate_table(uint64_t mfn, int level) {
        xpti::SlotMask in_use;
        for (unsigned i = 0; i < kEntries; ++i) {
            if (level == 4 && env_.is_monitor_l4_slot(i))
                continue;
            const uint64_t e = env_.read(mfn, i);
            if (!(e & kPresent))
                continue;
            if (int rc = get_entry_ref(e, level); rc < 0) {
                env_.refused(level, mfn, i, e, rc);
                release_table(mfn, level, i);
                return rc;
            }
            env_.write(mfn, i, e | kUser);  // the guest kernel runs in ring 3
            if (level == 4)
                in_use.set(i);
        }
        if (level == 4) {
            env_.l4_validated(mfn, in_use);
            for (unsigned i = 0; i < kEntries; ++i)
                if (env_.is_monitor_l4_slot(i))
                    env_.write(mfn, i, env_.monitor_l4_entry(i));
        }
        return 0;
    }

    void release_table(uint64_t mfn, int level, unsigned upto) {
        for (unsigned i = 0; i < upto; ++i) {
            if (level == 4 && env_.is_monitor_l4_slot(i))
                continue;
            put_entry_ref(env_.read(mfn, i), level);
        }
    }

    E& env_;
    bool writable_mapping_dropped_ = false;
};

// What the audit found wrong, so a caller can word its report.
enum class AuditProblem : uint8_t {
    None,
    Count,             // a frame's count differs from the recount (what names it)
    TypeUnreferenced,  // a frame keeps a type with no type references
    OutsideDomain,     // a reference (from) names a frame outside the domain
    MonitorSlot,       // an L4's monitor slot differs from the monitor's entry
    WrongType,         // a table entry points at a frame of the wrong type
    L1NotUser,         // an L1 entry lacks _PAGE_USER
    TableWritable,     // an L1 entry maps a typed frame writable
};

// The audit's verdict: the first inconsistency, if any, and how much it checked.
struct AuditResult {
    bool consistent = true;
    AuditProblem problem = AuditProblem::None;
    const char* what = nullptr;  // static text naming the check that failed
    const char* from = nullptr;  // OutsideDomain: what held the reference
    uint64_t mfn = 0;            // the frame whose count, or the table whose entry, is wrong
    unsigned index = 0;          // that table's entry
    int level = 0;               // that table's level
    uint64_t entry = 0;          // that entry's value
    uint64_t target = 0;         // the frame that entry (or reference) names
    // Count: the frame table's count and the recount. TypeUnreferenced:
    // recorded is mfn's type; WrongType, TableWritable: target's type.
    // MonitorSlot: counted is the monitor's entry.
    uint64_t recorded = 0, counted = 0;
    uint64_t frames_checked = 0;  // frame-table entries compared (one per frame per count)
    uint64_t tables_checked = 0;  // page tables scanned (L1s once per mapping pass)
};

// Recounts type references (table links, pins, and the references the
// environment reports through extra_references(callback(mfn, from))),
// writable and all L1 mappings over the domain's frames [first, end), and
// compares them with the frame table.
template <typename E>
[[nodiscard]] AuditResult audit(E& env, uint64_t first, uint64_t end) {
    using F = std::remove_reference_t<decltype(env.frame(0))>;
    AuditResult r;
    // Records the first problem only; later ones may be its consequences.
    auto fail = [&](AuditProblem problem, const char* what, uint64_t mfn) -> AuditResult* {
        if (!r.consistent)
            return nullptr;
        r.consistent = false;
        r.problem = problem;
        r.what = what;
        r.mfn = mfn;
        return &r;
    };
    auto fail_entry = [&](AuditProblem problem, const char* what, uint64_t mfn, int level, unsigned i, uint64_t e) {
        if (AuditResult* p = fail(problem, what, mfn)) {
            p->level = level;
            p->index = i;
            p->entry = e;
            p->target = entry_addr(e) >> 12;
        }
        return false;
    };
    auto clear = [&] {
        for (uint64_t m = first; m < end; ++m)
            env.frame(m).audit_count = 0;
    };
    auto ref = [&](uint64_t m, const char* from) {
        if (m >= first && m < end) {
            env.frame(m).audit_count++;
            return true;
        }
        if (m == env.shared_info_mfn())
            return true;  // mapped read-only only; get_entry_ref checks that
        if (AuditResult* p = fail(AuditProblem::OutsideDomain, "reference outside the domain", m)) {
            p->from = from;
            p->target = m;
        }
        return false;
    };
    auto is_table = [](const auto& f) {
        const int t = static_cast<int>(f.type);
        return f.type_count > 0 && t >= 1 && t <= 4;
    };
    auto compare = [&](auto field, const char* what) {
        for (uint64_t m = first; m < end; ++m) {
            const auto& f = env.frame(m);
            r.frames_checked++;
            if (f.*field != f.audit_count) {
                if (AuditResult* p = fail(AuditProblem::Count, what, m)) {
                    p->recorded = f.*field;
                    p->counted = f.audit_count;
                }
                return false;
            }
            if (f.type_count == 0 && static_cast<int>(f.type) != 0) {
                if (AuditResult* p = fail(AuditProblem::TypeUnreferenced, "type with no references", m))
                    p->recorded = static_cast<uint64_t>(f.type);
                return false;
            }
        }
        return true;
    };
    // Type references.
    clear();
    for (uint64_t m = first; m < end; ++m) {
        const auto& f = env.frame(m);
        if (f.pinned && !ref(m, "a pin"))
            return r;
        if (!is_table(f) || static_cast<int>(f.type) == 1)
            continue;
        r.tables_checked++;
        const int level = static_cast<int>(f.type);
        for (unsigned i = 0; i < kEntries; ++i) {
            const uint64_t e = env.read(m, i);
            if (level == 4 && env.is_monitor_l4_slot(i)) {
                // The CPU sets accessed/dirty bits as it walks: not a difference.
                constexpr uint64_t kHardwareBits = kAccessed | kDirty;
                const uint64_t want = env.monitor_l4_entry(i);
                if ((e & ~kHardwareBits) != (want & ~kHardwareBits)) {
                    fail_entry(AuditProblem::MonitorSlot, "L4 lacks the monitor's slot", m, level, i, e);
                    r.counted = want;
                    return r;
                }
                continue;
            }
            if (!is_present(e))
                continue;
            const uint64_t target = entry_addr(e) >> 12;
            if (!ref(target, "a page-table entry"))
                return r;
            if (const int type = static_cast<int>(env.frame(target).type); type != level - 1) {
                fail_entry(AuditProblem::WrongType, "entry points at a frame of the wrong type", m, level, i, e);
                r.recorded = static_cast<uint64_t>(type);
                return r;
            }
        }
    }
    bool ok = true;
    env.extra_references([&](uint64_t m, const char* from) { ok = ok && ref(m, from); });
    if (!ok || !compare(&F::type_count, "type references"))
        return r;
    // Writable mappings, then all mappings.
    for (int pass = 0; pass < 2; ++pass) {
        const bool writable_only = pass == 0;
        clear();
        for (uint64_t m = first; m < end; ++m) {
            const auto& f = env.frame(m);
            if (!is_table(f) || static_cast<int>(f.type) != 1)
                continue;
            r.tables_checked++;
            for (unsigned i = 0; i < kEntries; ++i) {
                const uint64_t e = env.read(m, i);
                if (!is_present(e))
                    continue;
                if (!(e & kUser))
                    return fail_entry(AuditProblem::L1NotUser, "L1 entry lacks _PAGE_USER", m, 1, i, e), r;
                if (writable_only && !(e & kWritable))
                    continue;
                const uint64_t target = entry_addr(e) >> 12;
                if (!ref(target, "a mapping"))
                    return r;
                if ((e & kWritable) && target >= first && target < end && env.frame(target).type_count > 0 &&
                    static_cast<int>(env.frame(target).type) != 0) {
                    fail_entry(AuditProblem::TableWritable, "page table mapped writable", m, 1, i, e);
                    r.recorded = static_cast<uint64_t>(env.frame(target).type);
                    return r;
                }
            }
        }
        if (!compare(writable_only ? &F::writable_count : &F::map_count,
                     writable_only ? "writable mappings" : "mappings"))
            return r;
    }
    return r;
}

}  // namespace pt::pvmmu
