// Compiled with the monitor's freestanding flags so that anything in the
// headers that needs a hosted runtime (exceptions, RTTI, libc, SSE) fails
// the build here rather than in the monitor.
#include "pagetables/pagetables.hpp"
#include "pagetables/pv_mmu.hpp"

namespace pt_freestanding_check {

// Tables reached through an identity mapping, as in a monitor direct map.
struct IdentityMemory {
    uint64_t read(uint64_t table_pa, unsigned index) { return reinterpret_cast<volatile uint64_t*>(table_pa)[index]; }
    void write(uint64_t table_pa, unsigned index, uint64_t value) {
        reinterpret_cast<volatile uint64_t*>(table_pa)[index] = value;
    }
};

struct BumpAllocator {
    uint64_t next, end;
    uint64_t alloc_table() {
        if (next >= end)
            return 0;
        const uint64_t table = next;
        next += 0x1000;
        for (unsigned i = 0; i < pt::kEntries; ++i)
            reinterpret_cast<volatile uint64_t*>(table)[i] = 0;
        return table;
    }
};

static_assert(pt::TableMemory<IdentityMemory> && pt::TableAllocator<BumpAllocator>);

pt::Translation check_walk(uint64_t root, uint64_t va);
pt::Translation check_walk(uint64_t root, uint64_t va) {
    IdentityMemory mem;
    return pt::walk(mem, root, va);
}

pt::Status check_map(uint64_t root, uint64_t pool, uint64_t va, uint64_t pa);
pt::Status check_map(uint64_t root, uint64_t pool, uint64_t va, uint64_t pa) {
    IdentityMemory mem;
    BumpAllocator alloc{pool, pool + 0x10000};
    if (const pt::Status s = pt::map(mem, alloc, root, va, pa, pt::kPresent, pt::PageSize::k1G); s != pt::Status::Ok)
        return s;
    if (const pt::Status s = pt::map_range(mem, alloc, root, va, pa, 0x400000, pt::kWritable, true);
        s != pt::Status::Ok)
        return s;
    return pt::unmap(mem, root, va);
}

uint64_t check_count_leaves(uint64_t root);
uint64_t check_count_leaves(uint64_t root) {
    IdentityMemory mem;
    uint64_t count = 0;
    pt::for_each_leaf(mem, root, [&](uint64_t, uint64_t, int) { ++count; });
    pt::for_each_leaf(mem, root, 256, 271,
                      [&](uint64_t va, uint64_t e, int level) { count += va ^ e ^ static_cast<uint64_t>(level); });
    return count;
}

const char* check_status_name(pt::Status s);
const char* check_status_name(pt::Status s) { return pt::status_name(s); }

// The PV MMU core and its audit over a frame table, tables reached through
// the identity mapping (the monitor instantiates them the same way).
struct PvFrame {
    uint8_t type, pinned;
    uint32_t type_count, writable_count, map_count, audit_count;
};

struct PvEnv {
    PvFrame* frames;
    PvFrame& frame(uint64_t mfn) { return frames[mfn]; }
    uint64_t read(uint64_t mfn, unsigned i) { return reinterpret_cast<volatile uint64_t*>(mfn << 12)[i]; }
    void write(uint64_t mfn, unsigned i, uint64_t v) { reinterpret_cast<volatile uint64_t*>(mfn << 12)[i] = v; }
    bool compare_exchange(uint64_t mfn, unsigned i, uint64_t& expected, uint64_t desired) {
        return __atomic_compare_exchange_n(reinterpret_cast<uint64_t*>(mfn << 12) + i, &expected, desired, false,
                                           __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
    bool is_domain_mfn(uint64_t mfn) const { return mfn < 1024; }
    bool guest_may_map(uint64_t mfn) const { return mfn < 1024; }
    uint64_t shared_info_mfn() const { return 2048; }
    bool is_monitor_l4_slot(unsigned i) const { return i >= 256 && i < 272; }
    uint64_t monitor_l4_entry(unsigned) const { return 0; }
    void l4_validated(uint64_t, const pt::xpti::SlotMask&) {}
    void l4_entry_written(uint64_t, unsigned, uint64_t) {}
    void l4_released(uint64_t) {}
    void table_entry_changed() {}
    void flush_stale_writable() {}
    void refused(int, uint64_t, unsigned, uint64_t, int) {}
    template <typename Fn>
    void extra_references(Fn&& fn) const {
        fn(uint64_t{1}, "a base pointer");
    }
};

int check_pv_mmu(PvFrame* frames, uint64_t mfn, unsigned index, uint64_t entry);
int check_pv_mmu(PvFrame* frames, uint64_t mfn, unsigned index, uint64_t entry) {
    PvEnv env{frames};
    pt::pvmmu::Mmu<PvEnv> mmu(env);
    if (int rc = mmu.get_page_type(mfn, 4); rc < 0)
        return rc;
    if (int rc = mmu.update_entry(mfn, index, entry, true); rc < 0)
        return rc;
    mmu.put_page_type(mfn);
    return pt::pvmmu::audit(env, 0, 1024).consistent ? 0 : -pt::pvmmu::kEINVAL;
}

}  // namespace pt_freestanding_check
