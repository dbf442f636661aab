// A model TLB for testing flush policies (XPTI's in particular): entries
// tagged by PCID, global entries that survive CR3 writes, INVLPG and the
// INVPCID types, CR3 writes with and without the no-flush bit, and CR4.PGE
// toggles. A policy under test drives the model like the hardware; after
// each step, check() compares every cached translation the current context
// could use with a fresh walk of the page tables and reports the first
// stale one. Fixed-size storage, so it compiles freestanding too.
#pragma once

#include <stdint.h>

#include "pagetables/walk.hpp"

namespace pt {

template <unsigned Capacity = 256>
class TlbModel {
public:
    struct Entry {
        bool valid;
        uint16_t pcid;
        uint64_t va_page;
        uint64_t pa_page;
        uint64_t flags;  // effective flags of the walk (W/U/NX folded), incl. kGlobal of the leaf
    };
    struct Stale {
        bool found;
        uint64_t va_page;
        uint16_t pcid;
        uint64_t cached_pa;
        bool now_present;
        uint64_t now_pa;
    };

    // Context switch: CR3 = root, with `pcid` (0 when PCIDs are off). A
    // write without the no-flush bit drops the PCID's non-global entries.
    void write_cr3(uint64_t root_pa, uint16_t pcid, bool no_flush) {
        root_ = root_pa;
        pcid_ = pcid;
        ++cr3_writes_;
        if (!no_flush)
            drop([&](const Entry& e) { return e.pcid == pcid && !(e.flags & kGlobal); });
    }
    void set_pge(bool on) {  // any CR4.PGE change flushes everything, globals included
        if (on != pge_)
            drop([](const Entry&) { return true; });
        pge_ = on;
    }
    void invlpg(uint64_t va) {  // current PCID's entry and global entries for va
        const uint64_t page = va & ~0xfffull;
        drop([&](const Entry& e) { return e.va_page == page && (e.pcid == pcid_ || (e.flags & kGlobal)); });
    }
    void invpcid_address(uint16_t pcid, uint64_t va) {  // type 0: one address, one PCID (not globals)
        const uint64_t page = va & ~0xfffull;
        drop([&](const Entry& e) { return e.va_page == page && e.pcid == pcid && !(e.flags & kGlobal); });
    }
    void invpcid_context(uint16_t pcid) {  // type 1: one PCID, not globals
        drop([&](const Entry& e) { return e.pcid == pcid && !(e.flags & kGlobal); });
    }
    void invpcid_all_with_globals() {  // type 2
        drop([](const Entry&) { return true; });
    }
    void invpcid_all_but_globals() {  // type 3
        drop([](const Entry& e) { return !(e.flags & kGlobal); });
    }

    // A memory access: a hit uses the cached translation (possibly stale),
    // a miss walks and caches. Returns the translation used.
    template <TableMemory M>
    Translation access(M& mem, uint64_t va) {
        const uint64_t page = va & ~0xfffull;
        if (const Entry* e = find(page)) {
            Translation t{};
            t.present = true;
            t.leaf_level = 1;
            t.pa = e->pa_page | (va & 0xfff);
            t.flags = e->flags;
            return t;
        }
        Translation t = walk(mem, root_, va);
        if (t.present) {
            const bool global = pge_ && (t.flags & kGlobal);
            insert(Entry{true, pcid_, page, t.pa & ~0xfffull, global ? t.flags : (t.flags & ~kGlobal)});
        }
        return t;
    }

    // The first entry usable in the current context (its PCID, or global)
    // that no longer matches the page tables under the current root.
    template <TableMemory M>
    Stale check(M& mem) const {
        for (const Entry& e : entries_) {
            if (!e.valid || !(e.pcid == pcid_ || (e.flags & kGlobal)))
                continue;
            const Translation t = walk(mem, root_, e.va_page);
            const uint64_t now_flags = t.flags & (kWritable | kUser | kNoExecute);
            const uint64_t cached_flags = e.flags & (kWritable | kUser | kNoExecute);
            if (!t.present || (t.pa & ~0xfffull) != e.pa_page || now_flags != cached_flags)
                return Stale{true, e.va_page, e.pcid, e.pa_page, t.present, t.present ? (t.pa & ~0xfffull) : 0};
        }
        return Stale{};
    }

    [[nodiscard]] unsigned size() const {
        unsigned n = 0;
        for (const Entry& e : entries_)
            n += e.valid;
        return n;
    }
    [[nodiscard]] uint64_t cr3_writes() const { return cr3_writes_; }

private:
    const Entry* find(uint64_t page) const {
        for (const Entry& e : entries_)
            if (e.valid && e.va_page == page && (e.pcid == pcid_ || (e.flags & kGlobal)))
                return &e;
        return nullptr;
    }
    void insert(const Entry& entry) {
        Entry* slot = &entries_[next_victim_];
        for (Entry& e : entries_)
            if (!e.valid) {
                slot = &e;
                break;
            }
        if (slot == &entries_[next_victim_])
            next_victim_ = (next_victim_ + 1) % Capacity;  // round-robin eviction when full
        *slot = entry;
    }
    template <typename Pred>
    void drop(Pred pred) {
        for (Entry& e : entries_)
            if (e.valid && pred(e))
                e.valid = false;
    }

    Entry entries_[Capacity] = {};
    unsigned next_victim_ = 0;
    uint64_t root_ = 0;
    uint16_t pcid_ = 0;
    bool pge_ = false;
    uint64_t cr3_writes_ = 0;
};

}  // namespace pt
