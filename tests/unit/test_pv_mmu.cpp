// The PV MMU core (pagetables/pv_mmu.hpp) on the host, over a fake frame
// pool: directed cases for Xen's rules, a seeded random-operation test with
// the audit as the oracle after every operation, and negative tests proving
// the audit catches a corrupted count.
#include <catch.hpp>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "pagetables/pv_mmu.hpp"

namespace {

using namespace pt;
namespace pm = pt::pvmmu;

enum class Type : uint8_t { None = 0, L1 = 1, L2 = 2, L3 = 3, L4 = 4, SegDesc = 5 };

struct Frame {
    Type type = Type::None;
    uint8_t pinned = 0;
    uint32_t type_count = 0, writable_count = 0, map_count = 0, audit_count = 0;
};

constexpr uint64_t kFirst = 16;      // the domain's frames are [kFirst, kFirst + n)
constexpr uint64_t kSharedInfo = 8;  // outside the domain, mappable read-only
constexpr unsigned kMonitorSlot = 256;

struct Env {
    explicit Env(unsigned n) : frames(kFirst + n), mem(kFirst + n) {}
    std::vector<Frame> frames;
    std::vector<std::array<uint64_t, kEntries>> mem;
    std::vector<uint64_t> base_refs;  // base pointers the test holds
    unsigned l4_validated_calls = 0, l4_written_calls = 0, l4_released_calls = 0, changed_calls = 0, flushes = 0;

    uint64_t end() const { return frames.size(); }
    Frame& frame(uint64_t mfn) { return frames.at(mfn); }
    uint64_t read(uint64_t mfn, unsigned i) const { return mem.at(mfn).at(i); }
    void write(uint64_t mfn, unsigned i, uint64_t v) { mem.at(mfn).at(i) = v; }
    // Another CPU's hardware: sets these bits in the entry just before the
    // next compare-exchange, once.
    uint64_t cpu_sets_bits = 0;
    unsigned compare_exchanges = 0;
    bool compare_exchange(uint64_t mfn, unsigned i, uint64_t& expected, uint64_t desired) {
        compare_exchanges++;
        uint64_t& e = mem.at(mfn).at(i);
        e |= std::exchange(cpu_sets_bits, 0);
        if (e != expected) {
            expected = e;
            return false;
        }
        e = desired;
        return true;
    }
    bool is_domain_mfn(uint64_t mfn) const { return mfn >= kFirst && mfn < frames.size(); }
    bool guest_may_map(uint64_t mfn) const { return is_domain_mfn(mfn) || mfn == kSharedInfo; }
    uint64_t shared_info_mfn() const { return kSharedInfo; }
    bool is_monitor_l4_slot(unsigned i) const { return i == kMonitorSlot; }
    uint64_t monitor_l4_entry(unsigned) const { return 0x5000 | kPresent | kWritable; }
    void l4_validated(uint64_t, const xpti::SlotMask&) { l4_validated_calls++; }
    void l4_entry_written(uint64_t, unsigned, uint64_t) { l4_written_calls++; }
    void l4_released(uint64_t) { l4_released_calls++; }
    void table_entry_changed() { changed_calls++; }
    void flush_stale_writable() { flushes++; }
    void refused(int, uint64_t, unsigned, uint64_t, int) {}
    template <typename Fn>
    void extra_references(Fn&& fn) const {
        for (uint64_t m : base_refs)
            fn(m, "a base pointer");
    }
};

uint64_t pte(uint64_t mfn, bool rw) { return (mfn << 12) | kPresent | (rw ? kWritable : 0); }

std::string describe(const pm::AuditResult& r) {
    if (r.consistent)
        return "consistent";
    return std::string(r.what) + " mfn " + std::to_string(r.mfn) + " recorded " + std::to_string(r.recorded) +
           " counted " + std::to_string(r.counted);
}

pm::AuditResult audit(Env& env) { return pm::audit(env, kFirst, env.end()); }

// Pins like MMUEXT_PIN_Ln_TABLE.
int pin(Env& env, pm::Mmu<Env>& mmu, uint64_t mfn, int level) {
    if (!env.is_domain_mfn(mfn) || env.frame(mfn).pinned)
        return -pm::kEINVAL;
    if (int rc = mmu.get_page_type(mfn, level); rc < 0)
        return rc;
    env.frame(mfn).pinned = 1;
    return 0;
}

void unpin(Env& env, pm::Mmu<Env>& mmu, uint64_t mfn) {
    if (!env.frame(mfn).pinned)
        return;
    env.frame(mfn).pinned = 0;
    mmu.put_page_type(mfn);
}

}  // namespace

TEST_CASE("pv-mmu: pinning a 4-level tree validates every level", "[pv-mmu]") {
    Env env(8);
    pm::Mmu<Env> mmu(env);
    const uint64_t l4 = kFirst, l3 = kFirst + 1, l2 = kFirst + 2, l1 = kFirst + 3, data = kFirst + 4;
    env.write(l4, 0, pte(l3, true));
    env.write(l3, 0, pte(l2, true));
    env.write(l2, 0, pte(l1, true));
    env.write(l1, 0, pte(data, true));
    env.write(l1, 1, pte(kSharedInfo, false));
    REQUIRE(pin(env, mmu, l4, 4) == 0);
    CHECK(env.frame(l4).type == Type::L4);
    CHECK(env.frame(l3).type == Type::L3);
    CHECK(env.frame(l2).type == Type::L2);
    CHECK(env.frame(l1).type == Type::L1);
    CHECK(env.frame(data).writable_count == 1);
    CHECK(env.frame(data).map_count == 1);
    CHECK((env.read(l1, 0) & kUser) != 0);
    CHECK(env.read(l4, kMonitorSlot) == env.monitor_l4_entry(kMonitorSlot));
    CHECK(env.l4_validated_calls == 1);
    CHECK(audit(env).consistent);

    // A page table frame is never writable, and its type holds while referenced.
    CHECK(mmu.update_entry(l1, 2, pte(l2, true), false) == -pm::kEPERM);
    CHECK(mmu.update_entry(l1, 2, pte(l2, false), false) == 0);
    CHECK(pin(env, mmu, l2, 1) == -pm::kEINVAL);  // typed L2: no L1 type while count > 0
    CHECK(mmu.update_entry(l4, kMonitorSlot, 0, false) == -pm::kEINVAL);
    CHECK(audit(env).consistent);

    // Unpin releases recursively.
    unpin(env, mmu, l4);
    for (uint64_t m : {l4, l3, l2, l1})
        CHECK(env.frame(m).type_count == 0);
    CHECK(env.frame(data).writable_count == 0);
    CHECK(env.frame(data).map_count == 0);
    CHECK(env.l4_released_calls == 1);
    CHECK(audit(env).consistent);

    // At count 0 the type may change: the old L2 can now be an L1.
    CHECK(pin(env, mmu, l2, 1) == 0);
    CHECK(env.frame(l2).type == Type::L1);
    CHECK(audit(env).consistent);
}

TEST_CASE("pv-mmu: an L1 mapping a page-table frame writable is refused at validation", "[pv-mmu]") {
    Env env(4);
    pm::Mmu<Env> mmu(env);
    const uint64_t l1 = kFirst, other = kFirst + 1;
    REQUIRE(pin(env, mmu, other, 1) == 0);
    env.write(l1, 0, pte(kFirst + 2, true));
    env.write(l1, 1, pte(other, true));
    CHECK(pin(env, mmu, l1, 1) == -pm::kEPERM);
    CHECK(env.frame(l1).type_count == 0);
    CHECK(env.frame(kFirst + 2).writable_count == 0);  // the partial validation was undone
    CHECK(audit(env).consistent);
    // A frame mapped writable cannot become a page table.
    env.write(l1, 1, 0);
    REQUIRE(pin(env, mmu, l1, 1) == 0);
    CHECK(pin(env, mmu, kFirst + 2, 1) == -pm::kEINVAL);
    CHECK(audit(env).consistent);
    // Superpages and entries outside the domain are refused.
    CHECK(mmu.update_entry(l1, 3, pte(2, false), false) == -pm::kEPERM);
    const uint64_t l2 = kFirst + 3;
    REQUIRE(pin(env, mmu, l2, 2) == 0);
    CHECK(mmu.update_entry(l2, 0, pte(kFirst + 2, false) | kHuge, false) == -pm::kEINVAL);
    CHECK(audit(env).consistent);
}

TEST_CASE("pv-mmu: untyped frames are stored as given; preserve_ad keeps A/D", "[pv-mmu]") {
    Env env(4);
    pm::Mmu<Env> mmu(env);
    const uint64_t page = kFirst, l1 = kFirst + 1, data = kFirst + 2;
    CHECK(mmu.update_entry(page, 5, 0xdeadbeef, false) == 0);
    CHECK(env.read(page, 5) == 0xdeadbeef);
    CHECK(env.frame(page).type_count == 0);
    REQUIRE(pin(env, mmu, l1, 1) == 0);
    CHECK(mmu.update_entry(l1, 0, pte(data, false) | kAccessed | kDirty, false) == 0);
    CHECK(mmu.update_entry(l1, 0, pte(data, true), true) == 0);
    CHECK((env.read(l1, 0) & (kAccessed | kDirty)) == (kAccessed | kDirty));
    CHECK(mmu.update_entry(l1, 0, pte(data, true), false) == 0);
    CHECK((env.read(l1, 0) & (kAccessed | kDirty)) == 0);
    CHECK(env.changed_calls == 2);
    CHECK(audit(env).consistent);
    // Dropping a writable mapping makes the next new page table flush first.
    CHECK(mmu.update_entry(l1, 0, 0, false) == 0);
    CHECK(pin(env, mmu, data, 1) == 0);
    CHECK(env.flushes == 1);
    CHECK(audit(env).consistent);
}

TEST_CASE("pv-mmu: accessed/dirty bits a CPU sets during an update are not lost", "[pv-mmu]") {
    Env env(4);
    pm::Mmu<Env> mmu(env);
    const uint64_t l1 = kFirst, data = kFirst + 1, other = kFirst + 2;
    REQUIRE(pin(env, mmu, l1, 1) == 0);
    REQUIRE(mmu.update_entry(l1, 0, pte(data, true), false) == 0);
    // MMU_PT_UPDATE_PRESERVE_AD: the dirty bit set between read and store stays.
    env.cpu_sets_bits = kAccessed | kDirty;
    CHECK(mmu.update_entry(l1, 0, pte(data, false), true) == 0);
    CHECK(env.read(l1, 0) == (pte(data, false) | kUser | kAccessed | kDirty));
    CHECK(env.compare_exchanges == 3);
    CHECK(audit(env).consistent);
    // An emulated xchg computed from a value the CPU has changed since: refused,
    // nothing taken or dropped, the entry as the CPU left it.
    REQUIRE(mmu.update_entry(l1, 0, pte(data, true), false) == 0);
    const uint64_t seen = env.read(l1, 0);
    env.cpu_sets_bits = kDirty;
    CHECK(mmu.update_entry_if(l1, 0, seen, pte(other, true)) == pm::kEntryChanged);
    CHECK(env.read(l1, 0) == (seen | kDirty));
    CHECK(env.frame(other).map_count == 0);
    CHECK(env.frame(other).writable_count == 0);
    CHECK(audit(env).consistent);
    // Read again, it goes through and drops the old mapping's references.
    CHECK(mmu.update_entry_if(l1, 0, env.read(l1, 0), pte(other, true)) == 0);
    CHECK(env.frame(data).map_count == 0);
    CHECK(env.frame(other).writable_count == 1);
    CHECK(audit(env).consistent);
}

namespace {

// One random operation over a small pool; the audit must stay consistent.
struct RandomRun {
    explicit RandomRun(uint32_t seed, unsigned frames) : env(frames), mmu(env), rng(seed), n(frames) {}
    Env env;
    pm::Mmu<Env> mmu;
    std::mt19937 rng;
    unsigned n;
    unsigned succeeded = 0;
    bool levels_seen[6] = {};

    uint64_t any_frame() { return kFirst + rng() % n; }
    unsigned slot() {
        // Few distinct slots so entries collide and get replaced; the monitor slot now and then.
        const unsigned r = rng() % 9;
        return r == 8 ? kMonitorSlot : r;
    }
    // An entry for a table of `level` (0: untyped): mostly pointing at a
    // frame that already has the type it needs, so that trees grow deep.
    uint64_t random_entry(int level) {
        if (rng() % (level == 0 ? 3 : 4) != 0 && level == 0)
            return 0;  // untyped frames mostly stay empty, so they can become tables
        if (rng() % 4 == 0)
            return 0;
        uint64_t target = rng() % 16 == 0 ? kSharedInfo : any_frame();
        if (level > 1 && rng() % 4 != 0)
            for (unsigned tries = 0; tries < 8; ++tries) {
                const uint64_t m = any_frame();
                if (env.frame(m).type_count > 0 && static_cast<int>(env.frame(m).type) == level - 1) {
                    target = m;
                    break;
                }
            }
        uint64_t e = pte(target, rng() % 6 == 0);
        if (rng() % 8 == 0)
            e |= kAccessed | kDirty;
        return e;
    }

    int random_level(uint64_t mfn) {
        const Frame& f = env.frame(mfn);
        if (f.type_count > 0 && rng() % 4 != 0)
            return static_cast<int>(f.type);
        return 1 + static_cast<int>(rng() % 4);
    }

    void step() {
        const uint64_t mfn = any_frame();
        int rc = 0;
        const Frame& f = env.frame(mfn);
        switch (rng() % 8) {
        case 0:
        case 1: rc = pin(env, mmu, mfn, random_level(mfn)); break;
        case 2: unpin(env, mmu, mfn); break;
        case 3:
        case 4:
        case 5:
            rc = mmu.update_entry(mfn, slot(), random_entry(f.type_count > 0 ? static_cast<int>(f.type) : 0),
                                  rng() % 4 == 0);
            break;
        case 6:
            if (mmu.get_page_type(mfn, 4) == 0)
                env.base_refs.push_back(mfn);
            break;
        case 7:
            if (!env.base_refs.empty()) {
                const size_t i = rng() % env.base_refs.size();
                mmu.put_page_type(env.base_refs[i]);
                env.base_refs.erase(env.base_refs.begin() + static_cast<long>(i));
            }
            break;
        }
        if (rc == 0)
            succeeded++;
        for (uint64_t m = kFirst; m < env.end(); ++m)
            if (env.frame(m).type_count > 0)
                levels_seen[static_cast<int>(env.frame(m).type)] = true;
    }
};

}  // namespace

TEST_CASE("pv-mmu: random operations keep the frame table consistent (audit oracle)", "[pv-mmu]") {
    constexpr unsigned kSeeds = 40, kOps = 2000;
    unsigned typed_seen = 0, deep_runs = 0;
    for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
        RandomRun run(seed, 24);
        for (unsigned op = 0; op < kOps; ++op) {
            run.step();
            const pm::AuditResult r = audit(run.env);
            if (!r.consistent)
                FAIL("seed " << seed << " op " << op << ": " << describe(r));
        }
        deep_runs += run.levels_seen[1] && run.levels_seen[2] && run.levels_seen[3] && run.levels_seen[4];
        for (uint64_t m = kFirst; m < run.env.end(); ++m)
            typed_seen += run.env.frame(m).type_count > 0;
        // Tear down: every reference dropped leaves no type and no mapping.
        for (uint64_t m : run.env.base_refs)
            run.mmu.put_page_type(m);
        run.env.base_refs.clear();
        for (uint64_t m = kFirst; m < run.env.end(); ++m)
            unpin(run.env, run.mmu, m);
        INFO("seed " << seed);
        REQUIRE(audit(run.env).consistent);
        for (uint64_t m = kFirst; m < run.env.end(); ++m) {
            CHECK(run.env.frame(m).type_count == 0);
            CHECK(run.env.frame(m).map_count == 0);
        }
    }
    CHECK(typed_seen > kSeeds);     // the runs did build page tables
    CHECK(deep_runs > kSeeds / 2);  // of every level
}

TEST_CASE("pv-mmu: the audit catches a corrupted count or a skipped put", "[pv-mmu]") {
    for (uint32_t seed = 1; seed <= 20; ++seed) {
        INFO("seed " << seed);
        RandomRun run(seed, 24);
        for (unsigned op = 0; op < 500; ++op)
            run.step();
        REQUIRE(audit(run.env).consistent);
        // Find a frame with references and corrupt one count.
        bool corrupted = false;
        for (uint64_t m = kFirst; m < run.env.end() && !corrupted; ++m) {
            Frame& f = run.env.frame(m);
            switch (seed % 3) {
            case 0:
                if (f.type_count > 0)
                    f.type_count++, corrupted = true;
                break;
            case 1:
                if (f.map_count > 0)
                    f.map_count--, corrupted = true;
                break;
            case 2:
                if (f.writable_count == 0 && f.type_count == 0)
                    f.writable_count = 1, corrupted = true;
                break;
            }
        }
        if (!corrupted)
            continue;
        CHECK_FALSE(audit(run.env).consistent);
    }
    // A skipped put: a base pointer forgotten without put_page_type.
    Env env(4);
    pm::Mmu<Env> mmu(env);
    REQUIRE(mmu.get_page_type(kFirst, 4) == 0);
    env.base_refs.push_back(kFirst);
    REQUIRE(audit(env).consistent);
    env.base_refs.clear();
    const pm::AuditResult r = audit(env);
    CHECK_FALSE(r.consistent);
    CHECK(r.problem == pm::AuditProblem::Count);
    CHECK(std::string(r.what) == "type references");
    CHECK(r.mfn == kFirst);
    CHECK(r.recorded == 1);
    CHECK(r.counted == 0);
}

TEST_CASE("pv-mmu: the audit reports what it checked and who holds a stray reference", "[pv-mmu]") {
    Env env(4);
    pm::Mmu<Env> mmu(env);
    REQUIRE(mmu.get_page_type(kFirst, 4) == 0);
    env.base_refs.push_back(kFirst);
    const pm::AuditResult ok = audit(env);
    REQUIRE(ok.consistent);
    CHECK(ok.frames_checked == 3 * 4);  // three counts compared over four frames
    CHECK(ok.tables_checked == 1);      // the L4
    // A reference to a frame the domain does not own.
    env.base_refs.push_back(kFirst - 1);
    const pm::AuditResult r = audit(env);
    CHECK_FALSE(r.consistent);
    CHECK(r.problem == pm::AuditProblem::OutsideDomain);
    CHECK(std::string(r.from) == "a base pointer");
    CHECK(r.target == kFirst - 1);
}
