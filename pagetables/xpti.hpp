// XPTI's restricted roots and TLB-flush policy, written once and compiled
// twice: by the monitor (real CR3/INVLPG/INVPCID, guest frames through its
// direct map) and by the host tests (a TLB model and a fake memory). One
// Engine per vCPU; it decides what to copy into the restricted root before
// an exit, which CR3 values the entry and exit paths load (with PCIDs and
// the no-flush bit when they are in use) and how each flush is done.
//
// Xen's scheme after J. Gross's 2018 series: the guest runs on a per-CPU
// restricted root holding the guest L4's slots (0..255, 272..511) and only
// what entry and exit need of the monitor; the monitor runs on the guest's
// own L4 (which holds all monitor slots). The guest L4 is copied into the
// restricted root only when something changed it (root_pgt_changed).
// Beyond Xen, each behind its switch: a cache of restricted roots keyed by
// guest L4 and kept current when an L4 entry is written (switching between
// L4s then copies nothing), and copying only the slots that changed.
#pragma once

#include <stdint.h>

#include "pagetables/entry.hpp"
#include "pagetables/memory.hpp"

namespace pt::xpti {

inline constexpr uint64_t kCr3NoFlush = 1ull << 63;
inline constexpr uint64_t kCr3PcidMask = 0xfff;
// Xen's PCIDs: monitor view with guest kernel / user L4, guest kernel / user.
inline constexpr uint16_t kPcidMonitorKernel = 0, kPcidMonitorUser = 1, kPcidGuestKernel = 2, kPcidGuestUser = 3;
// With the root cache each cached root has its own pair: 4 + 2k (monitor view), 5 + 2k (guest).
inline constexpr uint16_t kPcidFirstCached = 4;
inline constexpr unsigned kMaxRoots = 16;
inline constexpr unsigned kPcids = kPcidFirstCached + 2 * kMaxRoots;
inline constexpr unsigned kMonitorSlotFirst = 256, kMonitorSlotLast = 271;
inline constexpr unsigned kGuestSlots = kEntries - (kMonitorSlotLast - kMonitorSlotFirst + 1);

constexpr bool is_guest_slot(unsigned slot) { return slot < kMonitorSlotFirst || slot > kMonitorSlotLast; }

enum class Invpcid : unsigned { Address = 0, Context = 1, All = 2, AllButGlobals = 3 };

// What a per-vCPU engine is asked to count besides the hardware operations.
enum class Event : unsigned { L4Copy, SlotsCopied, RootHit, RootMiss, RootSlotUpdate };

// One bit per L4 slot.
struct SlotMask {
    uint64_t w[kEntries / 64] = {};
    void set(unsigned s) { w[s / 64] |= 1ull << (s % 64); }
    void clear(unsigned s) { w[s / 64] &= ~(1ull << (s % 64)); }
    [[nodiscard]] bool test(unsigned s) const { return (w[s / 64] >> (s % 64)) & 1; }
    void clear_all() {
        for (uint64_t& x : w)
            x = 0;
    }
    void set_guest_slots() {
        for (uint64_t& x : w)
            x = ~0ull;
        for (unsigned s = kMonitorSlotFirst; s <= kMonitorSlotLast; ++s)
            clear(s);
    }
};

// The hardware (and its accounting) an engine drives. Reason is the
// caller's flush-reason type; kRootSwitchReason names the naive baseline's
// second flush.
template <typename M>
concept Machine = requires(M& m, uint64_t value, Invpcid type, uint16_t pcid, typename M::Reason reason, Event e) {
    m.write_cr3(value);  // bit 63: no-flush (PCIDs only)
    m.toggle_pge();      // CR4.PGE off and on: flushes global entries too
    m.invlpg(value);
    m.invpcid(type, pcid, value);
    m.count_flush(reason, true);  // one logical flush: full (true) or single address
    m.count(e, value);
    { M::kRootSwitchReason } -> std::convertible_to<typename M::Reason>;
};

// Page-table memory plus what restricted roots need of it: bulk copies of
// L4 slots, and (for slot-copy) which guest slots of an L4 are in use,
// nullptr when unknown.
template <typename Mem>
concept RootMemory = TableMemory<Mem> && requires(Mem& mem, uint64_t pa, unsigned slot) {
    mem.copy_slots(pa, pa, slot, slot);  // dst table, src table, first slot, count
    { mem.slots_in_use(pa) } -> std::convertible_to<const SlotMask*>;
};

struct Policy {
    bool xpti = false;
    bool pcid = false;          // CR4.PCIDE and INVPCID (only with XPTI; never with PGE)
    bool global_pages = false;  // CR4.PGE
    bool copy_avoid = true;     // copy only when root_pgt_changed (else on every exit)
    bool single_flush = true;   // a guest root switch flushes once (else CR3 write + full flush)
    bool root_cache = false;    // a restricted root per guest L4, kept current on L4 writes
    bool slot_copy = false;     // copy only changed slots (needs Mem::slots_in_use)
    // More than one vCPU may run the domain's page tables. A vCPU that left
    // an address space no longer receives the guest's flushes for it (Linux
    // drops it from mm_cpumask, as Xen's NEW_BASEPTR flushed), so with
    // PCIDs a new base pointer makes every PCID's entries stale: each is
    // flushed when next loaded, as Xen's NEW_BASEPTR flushes. (Without the
    // root cache this holds on one vCPU too: a switch in kernel mode
    // retags only the kernel PCIDs, and the user pair must not keep the old
    // process's entries.)
    bool smp = false;
};

template <typename M, typename Mem>
requires Machine<M> && RootMemory<Mem>
class Engine {
public:
    using Reason = typename M::Reason;

    // `roots`: physical addresses of this vCPU's restricted roots, their
    // monitor slots already filled (one is used without the root cache).
    // `exit_flag`: where root_pgt_changed lives (the monitor keeps it in the
    // per-CPU block, next to what its exit path reads); nullptr: inside.
    void init(M* machine, Mem* mem, const Policy& policy, const uint64_t* roots, unsigned nr_roots,
              bool* exit_flag = nullptr) {
        changed_ = exit_flag ? exit_flag : &own_changed_;
        out_ = ExitValues{&own_out_, &own_out_};
        m_ = machine;
        mem_ = mem;
        p_ = policy;
        if (p_.pcid)
            p_.global_pages = false;  // PCIDE and PGE are never both on
        nr_roots_ = p_.root_cache ? (nr_roots < kMaxRoots ? nr_roots : kMaxRoots) : 1;
        for (unsigned i = 0; i < nr_roots_; ++i) {
            roots_[i] = Root{};
            roots_[i].pa = roots[i];
        }
        for (auto& t : pcid_l4_)
            t = kNoL4;
        st_[0] = st_[1] = State{};
        now_ = 0;
        fast_ok_ = p_.xpti && p_.root_cache && p_.single_flush && !p_.global_pages;
        *changed_ = p_.xpti;
    }

    // Where the entry and exit paths read their CR3 values (the monitor: its
    // per-CPU block); the engine stores them there as they become known:
    // monitor_cr3 at every switch, pv_cr3 when an exit's value is final.
    struct ExitValues {
        uint64_t* monitor_cr3;
        uint64_t* pv_cr3;
    };
    void bind(ExitValues out) { out_ = out.monitor_cr3 && out.pv_cr3 ? out : ExitValues{&own_out_, &own_out_}; }

    // Values for the entry path (xen_cr3) and the exit path (pv_cr3).
    [[nodiscard]] uint64_t monitor_cr3() const { return here().monitor_cr3; }
    [[nodiscard]] uint64_t guest_cr3() const { return here().guest_cr3; }
    // root_pgt_changed: prepare_exit() has work before the next exit.
    [[nodiscard]] bool exit_work() const { return *changed_; }
    [[nodiscard]] uint64_t guest_l4() const { return here().l4; }
    [[nodiscard]] unsigned current_root() const { return here().root; }
    [[nodiscard]] uint64_t root_pa(unsigned i) const { return roots_[i].pa; }
    [[nodiscard]] unsigned nr_roots() const { return nr_roots_; }

    // The guest's root changed (new base pointer, or a kernel/user toggle):
    // load the monitor's view of it now, pick the restricted root for it.
    // With the root cache, a switch to an L4 that a cached root already
    // holds clean needs nothing at the exit: guest_cr3() is final at once
    // (exit_work() stays false). Going back to the state left last (kernel
    // <-> user, mostly) is the shortest path; other cached L4s (process
    // switches) the next shortest.
    void switch_guest_root(uint64_t l4_pa, bool user) {
        if (!switch_back(l4_pa, user))
            switch_slow(l4_pa, user);
    }

private:
    // Back to the state left last, when nothing about it changed since.
    // Inline and short: this is every system call's kernel <-> user toggle.
    [[gnu::always_inline]] bool switch_back(uint64_t l4_pa, bool user) {
        State& back = st_[now_ ^ 1];
        if (!fast_ok_ || back.l4 != l4_pa || back.user != user || *changed_)
            return false;
        if (roots_[back.root].l4 != l4_pa || !clean_root(back.root, l4_pa))
            return false;
        now_ ^= 1;
        enter_clean_root(back.root, back.monitor_cr3, back.guest_cr3);
        return true;
    }

    // To cached root `i`, which holds `l4_pa`, if it needs nothing before
    // the exit (a process switch, mostly): the same outcome as
    // switch_back(), with the CR3 values computed.
    bool switch_cached(uint64_t l4_pa, bool user, unsigned i) {
        if (!fast_ok_ || *changed_ || !clean_root(i, l4_pa))
            return false;
        uint64_t monitor_cr3 = l4_pa, guest_cr3 = roots_[i].pa;
        if (p_.pcid) {
            const unsigned pcid = kPcidFirstCached + 2 * i;
            monitor_cr3 |= pcid | kCr3NoFlush;
            guest_cr3 |= (pcid + 1) | kCr3NoFlush;
        }
        now_ ^= 1;  // the state left becomes the way back
        here() = State{l4_pa, user, i, monitor_cr3, guest_cr3};
        enter_clean_root(i, monitor_cr3, guest_cr3);
        return true;
    }

    // Cached root i (holding `l4_pa`) needs nothing before the exit: no
    // slots to copy and, with PCIDs, its pair still holds translations of
    // `l4_pa` only (else it was flushed lazily: the slow path reloads with a
    // flush).
    [[gnu::always_inline]] bool clean_root(unsigned i, uint64_t l4_pa) const {
        const Root& r = roots_[i];
        if (r.dirty_all || r.dirty_any)
            return false;
        const unsigned pcid = kPcidFirstCached + 2 * i;
        return !p_.pcid || (pcid_l4_[pcid] == l4_pa && pcid_l4_[pcid + 1] == l4_pa);
    }

    // The end of both short switches: the root needs nothing at the exit,
    // so both CR3 values are final now (its PCIDs, if any, are fresh).
    [[gnu::always_inline]] void enter_clean_root(unsigned i, uint64_t monitor_cr3, uint64_t guest_cr3) {
        roots_[i].last_use = ++clock_;
        m_->count(Event::RootHit, 1);
        m_->write_cr3(monitor_cr3);
        *out_.monitor_cr3 = monitor_cr3;
        *out_.pv_cr3 = guest_cr3;
    }

    [[gnu::noinline]] void switch_slow(uint64_t l4_pa, bool user) {
        State& h = st_[now_];
        // A new base pointer, not a kernel/user toggle: as Xen's write_ptbase,
        // it drops global entries too (the guest's user pages may be global;
        // toggles keep them, both L4s map user space alike).
        const bool new_base = user == h.user;
        const bool extra_flush = !p_.single_flush || (p_.global_pages && new_base);
        if (p_.pcid && new_base && l4_pa != h.l4 && (p_.smp || !p_.root_cache))
            for (auto& t : pcid_l4_)
                t = kNoL4;
        if (!p_.xpti) {  // no restricted roots, no PCIDs: just the guest's L4
            if (l4_pa == h.l4)
                return;
            h.l4 = h.monitor_cr3 = l4_pa;
            h.user = user;
            m_->write_cr3(l4_pa);
            if (extra_flush)
                flush_all(M::kRootSwitchReason);
            return;
        }
        if (l4_pa == h.l4 && (new_base || !p_.pcid || p_.root_cache))
            return;
        const unsigned cached = p_.root_cache ? find_root(l4_pa) : nr_roots_;
        if (cached < nr_roots_ && switch_cached(l4_pa, user, cached))
            return;
        if (p_.root_cache)  // remember the state left, for the way back
            st_[now_ ^ 1] = *changed_ ? State{} : h;
        h.l4 = l4_pa;
        h.user = user;
        select_root(l4_pa, cached);
        // A cached root that holds this L4 already needs nothing at the exit
        // (with PCIDs, prepare_exit decides about the guest PCID's flush).
        const Root& r = roots_[h.root];
        const bool ready = p_.root_cache && p_.copy_avoid && !p_.pcid && !r.dirty_all && !r.dirty_any;
        *changed_ = !ready;
        if (ready)
            *out_.pv_cr3 = h.guest_cr3 = r.pa;
        const uint16_t monitor_pcid = p_.root_cache ? static_cast<uint16_t>(kPcidFirstCached + 2 * h.root)
                                                    : (user ? kPcidMonitorUser : kPcidMonitorKernel);
        const uint64_t cr3 = l4_pa | (p_.pcid ? monitor_pcid : 0);
        m_->write_cr3(cr3 | (p_.pcid && tag_fresh(monitor_pcid, l4_pa) ? kCr3NoFlush : 0));
        *out_.monitor_cr3 = h.monitor_cr3 = cr3 | (p_.pcid ? kCr3NoFlush : 0);
        if (extra_flush)
            flush_all(M::kRootSwitchReason);
    }

public:
    // Entry `slot` of guest L4 `l4_pa` was written (the new value is in memory).
    void l4_entry_written(uint64_t l4_pa, unsigned slot) {
        if (!p_.xpti || !is_guest_slot(slot))
            return;
        if (p_.root_cache) {
            for (unsigned i = 0; i < nr_roots_; ++i)
                if (roots_[i].l4 == l4_pa) {
                    copy_one_slot(roots_[i], slot);
                    m_->count(Event::RootSlotUpdate, 1);
                    if (i != here().root)  // the guest flushes the running L4 only
                        stale_root_pcids(i);
                }
            return;
        }
        if (Root& r = roots_[here().root]; r.l4 == l4_pa) {  // Xen: root_pgt_changed (FLUSH_ROOT_PGTBL on other CPUs)
            *changed_ = true;
            if (p_.slot_copy) {
                r.dirty.set(slot);
                r.dirty_any = true;
            } else {
                r.dirty_all = true;
            }
        }
    }

    // Another vCPU wrote an entry of guest L4 `l4_pa` (Xen's
    // FLUSH_ROOT_PGTBL, which carries no slot): every root of this vCPU
    // holding it is recopied before it next runs, the current one before
    // the next exit.
    void l4_refresh(uint64_t l4_pa) {
        if (!p_.xpti)
            return;
        for (unsigned i = 0; i < nr_roots_; ++i) {
            Root& r = roots_[i];
            if (r.l4 != l4_pa)
                continue;
            r.dirty_all = true;
            if (i == here().root)
                *changed_ = true;
            else
                stale_root_pcids(i);
        }
    }

    // Entries of guest L4s this vCPU may hold changed while it slept (the
    // requests it was not woken for, merged): every root is recopied before
    // it next runs.
    void refresh_all_roots() {
        if (!p_.xpti)
            return;
        for (unsigned i = 0; i < nr_roots_; ++i) {
            roots_[i].dirty_all = true;
            if (i != here().root)
                stale_root_pcids(i);
        }
        *changed_ = true;
    }

    // Guest L4 `l4_pa` lost its type: no cached root or PCID may stand for
    // it, and a cached copy is emptied (its tables may become guest data).
    void l4_released(uint64_t l4_pa) {
        for (unsigned i = 0; i < nr_roots_; ++i)
            if (roots_[i].l4 == l4_pa && !(i == here().root && here().l4 == l4_pa))
                empty_root(roots_[i]);
        for (auto& t : pcid_l4_)
            if (t == l4_pa)
                t = kNoL4;
        if (other().l4 == l4_pa)
            other() = State{};
    }

    // Some L4s lost their type while this vCPU slept (releases merged, not
    // named): every root but the one it runs on (whose L4 it holds a
    // reference to) is emptied, as l4_released() empties one L4's.
    void drop_cached_roots() {
        for (unsigned i = 0; i < nr_roots_; ++i)
            if (!(i == here().root && here().l4 != kNoL4))
                empty_root(roots_[i]);
        for (auto& t : pcid_l4_)
            t = kNoL4;
        other() = State{};
    }

    // A present L1, L2 or L3 entry of some guest table was changed or
    // removed. The guest flushes what the running L4 may cache; a new base
    // pointer flushes the rest (as a CR3 write does, and Xen's
    // NEW_BASEPTR). Without the root cache a switch to another L4 retags
    // the PCIDs anyway; with it, the other roots' PCIDs are flushed when
    // next used.
    void table_entry_changed() {
        if (!p_.pcid || !p_.root_cache)
            return;
        for (unsigned i = 0; i < nr_roots_; ++i)
            if (i != here().root)
                stale_root_pcids(i);
    }

    // Every guest translation, in every context.
    void flush_all(Reason reason) {
        m_->count_flush(reason, true);
        if (p_.pcid) {
            m_->invpcid(Invpcid::All, 0, 0);
            return;
        }
        if (p_.global_pages)
            m_->toggle_pge();
        else if (here().l4 != kNoL4)  // before the first guest root nothing of the guest is cached
            m_->write_cr3(here().monitor_cr3);
    }

    // One guest-virtual address, in every context that may cache it.
    void flush_one(Reason reason, uint64_t va) {
        m_->count_flush(reason, false);
        if (!p_.pcid) {
            // Without PCIDs the guest's context is rebuilt by the next exit's
            // CR3 write (or is this one, without XPTI); INVLPG covers globals.
            m_->invlpg(va);
            return;
        }
        if (!p_.root_cache) {
            for (uint16_t pcid = kPcidMonitorKernel; pcid <= kPcidGuestUser; ++pcid)
                m_->invpcid(Invpcid::Address, pcid, va);
            return;
        }
        // Root cache: the current root's pair now, the others when next used.
        m_->invpcid(Invpcid::Address, static_cast<uint16_t>(kPcidFirstCached + 2 * here().root), va);
        m_->invpcid(Invpcid::Address, static_cast<uint16_t>(kPcidFirstCached + 2 * here().root + 1), va);
        for (unsigned i = 0; i < nr_roots_; ++i)
            if (i != here().root)
                stale_root_pcids(i);
    }

    // Before an exit with exit_work(): bring the restricted root up to date.
    // Returns the CR3 this exit loads (guest_cr3() is what later exits load).
    uint64_t prepare_exit() {
        if (!p_.xpti) {
            *changed_ = false;
            return 0;
        }
        Root& r = roots_[here().root];
        if (!p_.copy_avoid || r.dirty_all) {
            copy_all(r);
            r.dirty.clear_all();
        } else if (r.dirty_any) {
            copy_dirty(r);  // clears r.dirty
        }
        r.dirty_all = r.dirty_any = false;
        const uint16_t pcid = p_.root_cache ? static_cast<uint16_t>(kPcidFirstCached + 2 * here().root + 1)
                                            : (here().user ? kPcidGuestUser : kPcidGuestKernel);
        const uint64_t cr3 = r.pa | (p_.pcid ? pcid : 0);
        here().guest_cr3 = cr3 | (p_.pcid ? kCr3NoFlush : 0);
        // The guest PCID is flushed by this load if it last held another L4
        // (or was flushed lazily); the next exit comes back here to store
        // the no-flush value.
        const bool flush = p_.pcid && !tag_fresh(pcid, here().l4);
        *changed_ = !p_.copy_avoid || flush;
        return *out_.pv_cr3 = flush ? cr3 : here().guest_cr3;
    }

private:
    static constexpr uint64_t kNoL4 = ~0ull;

    struct Root {
        uint64_t pa = 0;
        uint64_t l4 = kNoL4;  // guest L4 whose slots it holds
        SlotMask in_use;      // guest slots that are non-zero in the root (slot-copy, root cache)
        // What the next exit on this root must copy from `l4`. Per root: a
        // root picked and left again before an exit (an iret to user with an
        // event pending bounces straight back) keeps its pending copy.
        SlotMask dirty;
        bool dirty_all = false, dirty_any = false;
        uint64_t last_use = 0;
    };

    // One guest root as the exit paths see it: the current one, and the one
    // left last (the root cache's fast path goes back to it).
    struct State {
        uint64_t l4 = kNoL4;
        bool user = false;
        unsigned root = 0;
        uint64_t monitor_cr3 = 0, guest_cr3 = 0;
    };
    State& here() { return st_[now_]; }
    const State& here() const { return st_[now_]; }
    State& other() { return st_[now_ ^ 1]; }

    // bsf, not __builtin_ctzll: compilers emit `rep bsf` (decoded as tzcnt),
    // which the monitor must not contain (kvm-host.md).
    static unsigned lowest_bit(uint64_t x) {
        uint64_t r;
        asm("bsf %1, %0" : "=r"(r) : "rm"(x) : "cc");
        return static_cast<unsigned>(r);
    }

    // A root that stands for no L4 and holds no guest slot.
    void empty_root(Root& r) {
        for (unsigned w = 0; w < kEntries / 64; ++w)
            for (uint64_t bits = r.in_use.w[w]; bits; bits &= bits - 1)
                if (const unsigned slot = w * 64 + lowest_bit(bits); is_guest_slot(slot))
                    mem_->write(r.pa, slot, 0);
        r.in_use.clear_all();
        r.l4 = kNoL4;
    }

    // Root i's PCID pair is flushed when next loaded.
    void stale_root_pcids(unsigned i) {
        pcid_l4_[kPcidFirstCached + 2 * i] = kNoL4;
        pcid_l4_[kPcidFirstCached + 2 * i + 1] = kNoL4;
    }

    // Whether `pcid` still caches translations of `l4` only; records it.
    bool tag_fresh(uint16_t pcid, uint64_t l4) {
        const bool fresh = pcid_l4_[pcid] == l4;
        pcid_l4_[pcid] = l4;
        return fresh;
    }

    // The cached root holding `l4_pa`, or nr_roots_. The way back first.
    [[nodiscard]] unsigned find_root(uint64_t l4_pa) const {
        if (const unsigned back = st_[now_ ^ 1].root; roots_[back].l4 == l4_pa)
            return back;
        unsigned i = 0;
        while (i < nr_roots_ && roots_[i].l4 != l4_pa)
            ++i;
        return i;
    }

    // `cached`: find_root(l4_pa) with the root cache.
    void select_root(uint64_t l4_pa, unsigned cached) {
        ++clock_;
        if (!p_.root_cache) {
            Root& r = roots_[0];
            if (r.l4 != l4_pa)
                plan_reload(r, l4_pa);
            r.last_use = clock_;
            return;
        }
        unsigned pick = cached;
        if (pick < nr_roots_) {
            m_->count(Event::RootHit, 1);
        } else {
            m_->count(Event::RootMiss, 1);
            pick = 0;
            for (unsigned i = 1; i < nr_roots_; ++i)  // least recently used
                if (roots_[i].last_use < roots_[pick].last_use)
                    pick = i;
            plan_reload(roots_[pick], l4_pa);
        }
        here().root = pick;
        roots_[pick].last_use = clock_;
    }

    // The root will hold another L4: which slots the exit must copy.
    // (L4 writes until then go straight into it; the exit copies the rest.)
    void plan_reload(Root& r, uint64_t l4_pa) {
        r.l4 = l4_pa;
        const SlotMask* next = p_.slot_copy ? mem_->slots_in_use(l4_pa) : nullptr;
        if (!next) {
            r.dirty_all = true;
            return;
        }
        for (unsigned w = 0; w < kEntries / 64; ++w)
            r.dirty.w[w] |= r.in_use.w[w] | next->w[w];
        r.dirty_any = true;
    }

    void copy_all(Root& r) {
        mem_->copy_slots(r.pa, here().l4, 0, kMonitorSlotFirst);
        mem_->copy_slots(r.pa, here().l4, kMonitorSlotLast + 1, kEntries - kMonitorSlotLast - 1);
        m_->count(Event::L4Copy, 1);
        m_->count(Event::SlotsCopied, kGuestSlots);
        if (!p_.slot_copy && !p_.root_cache)
            return;
        if (const SlotMask* used = mem_->slots_in_use(here().l4))
            r.in_use = *used;
        else
            r.in_use.set_guest_slots();
    }

    void copy_dirty(Root& r) {
        uint64_t n = 0;
        for (unsigned w = 0; w < kEntries / 64; ++w) {
            for (uint64_t bits = r.dirty.w[w]; bits; bits &= bits - 1) {
                const unsigned slot = w * 64 + lowest_bit(bits);
                if (!is_guest_slot(slot))
                    continue;
                copy_slot_value(r, slot, here().l4);
                ++n;
            }
            r.dirty.w[w] = 0;
        }
        if (n) {
            m_->count(Event::L4Copy, 1);
            m_->count(Event::SlotsCopied, n);
        }
    }

    void copy_one_slot(Root& r, unsigned slot) {
        copy_slot_value(r, slot, r.l4);
        m_->count(Event::SlotsCopied, 1);
    }

    void copy_slot_value(Root& r, unsigned slot, uint64_t l4_pa) {
        const uint64_t e = mem_->read(l4_pa, slot);
        mem_->write(r.pa, slot, e);
        if (e)
            r.in_use.set(slot);
        else
            r.in_use.clear(slot);
    }

    M* m_ = nullptr;
    Mem* mem_ = nullptr;
    Policy p_;
    Root roots_[kMaxRoots];
    unsigned nr_roots_ = 1;
    uint64_t clock_ = 0;
    bool own_changed_ = false;
    bool* changed_ = &own_changed_;  // root_pgt_changed
    uint64_t own_out_ = 0;
    ExitValues out_{&own_out_, &own_out_};
    State st_[2];  // current and left last (root cache)
    unsigned now_ = 0;
    bool fast_ok_ = false;      // root cache without extra flushes: fast_switch() may apply
    uint64_t pcid_l4_[kPcids];  // guest L4 each PCID's TLB entries belong to
};

}  // namespace pt::xpti
