// pagetables/: entry arithmetic, walk, map/unmap/map_range and for_each_leaf,
// run against a fake physical memory that logs every entry write.
#include <catch.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "pagetables/pagetables.hpp"

namespace {

using namespace pt;

struct Write {
    uint64_t table;
    unsigned index;
    uint64_t old_value;
    uint64_t new_value;
    bool operator==(const Write&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Write& w) {
    return os << std::hex << "{table 0x" << w.table << " [" << std::dec << w.index << "] 0x" << std::hex << w.old_value
              << " -> 0x" << w.new_value << "}" << std::dec;
}

struct Visit {
    uint64_t va;
    uint64_t entry;
    int level;
    bool operator==(const Visit&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Visit& v) {
    return os << std::hex << "{va 0x" << v.va << " entry 0x" << v.entry << std::dec << " L" << v.level << "}";
}

// Physical memory that only contains page tables. Touching anything that was
// not handed out by alloc_table() throws, so stray reads fail the test.
class FakeMemory {
public:
    static constexpr uint64_t kTableBase = 0x10000000;

    explicit FakeMemory(size_t table_budget = 1 << 20) : budget(table_budget) {}

    uint64_t read(uint64_t table, unsigned index) { return tables_.at(table).at(index); }
    void write(uint64_t table, unsigned index, uint64_t value) {
        uint64_t& slot = tables_.at(table).at(index);
        writes.push_back({table, index, slot, value});
        slot = value;
    }
    uint64_t alloc_table() {
        if (budget == 0)
            return 0;
        --budget;
        const uint64_t pa = kTableBase + tables_.size() * 0x1000;
        tables_[pa] = {};
        return pa;
    }

    // Direct edits and inspection that bypass the write log.
    void poke(uint64_t table, unsigned index, uint64_t value) { tables_.at(table).at(index) = value; }
    size_t table_count() const { return tables_.size(); }
    static uint64_t nth_table(size_t n) { return kTableBase + n * 0x1000; }
    bool is_table(uint64_t pa) const { return tables_.count(pa) != 0; }

    // New values of writes that installed leaves (anything not pointing at a table).
    std::vector<uint64_t> leaf_writes() const {
        std::vector<uint64_t> leaves;
        for (const Write& w : writes)
            if (!is_table(entry_addr(w.new_value)))
                leaves.push_back(w.new_value);
        return leaves;
    }

    std::vector<Write> writes;
    size_t budget;

private:
    std::map<uint64_t, std::array<uint64_t, kEntries>> tables_;
};

static_assert(TableMemory<FakeMemory> && TableAllocator<FakeMemory>);

struct NoWrite {
    uint64_t read(uint64_t, unsigned);
};
static_assert(!TableMemory<NoWrite> && !TableAllocator<NoWrite>);

// A fresh tree: table 0 is the root, the log starts empty.
struct Tree {
    explicit Tree(size_t budget = 1 << 20) : mem(budget), root(mem.alloc_table()) {}
    Translation walk(uint64_t va) { return pt::walk(mem, root, va); }
    Status map(uint64_t va, uint64_t pa, uint64_t flags, PageSize size = PageSize::k4K,
               uint64_t table_flags = kPresent | kWritable) {
        return pt::map(mem, mem, root, va, pa, flags, size, table_flags);
    }
    Status map_range(uint64_t va, uint64_t pa, uint64_t size, bool allow_2m) {
        return pt::map_range(mem, mem, root, va, pa, size, kWritable, allow_2m);
    }
    Status unmap(uint64_t va) { return pt::unmap(mem, root, va); }
    std::vector<Visit> leaves(unsigned first = 0, unsigned last = kEntries - 1) {
        std::vector<Visit> seen;
        for_each_leaf(mem, root, first, last, [&](uint64_t va, uint64_t e, int level) {
            seen.push_back({va, e, level});
        });
        return seen;
    }
    // Table holding the entry that translates va at `level` (tables must exist).
    uint64_t table_at(uint64_t va, int level) {
        return level == kLevels ? root : entry_addr(walk(va).entries[kLevels - level - 1]);
    }

    FakeMemory mem;
    uint64_t root;
};

std::vector<uint64_t> entries_of(const Translation& t) {
    return {t.entries[0], t.entries[1], t.entries[2], t.entries[3]};
}

const uint64_t kTable = kPresent | kWritable;
const uint64_t T1 = FakeMemory::nth_table(1), T2 = FakeMemory::nth_table(2), T3 = FakeMemory::nth_table(3);

}  // namespace

TEST_CASE("entry helpers split, build and classify entries") {
    STATIC_REQUIRE(kPresent == 1);
    STATIC_REQUIRE(kWritable == 2);
    STATIC_REQUIRE(kUser == 4);
    STATIC_REQUIRE(kWriteThrough == 8);
    STATIC_REQUIRE(kCacheDisable == 0x10);
    STATIC_REQUIRE(kAccessed == 0x20);
    STATIC_REQUIRE(kDirty == 0x40);
    STATIC_REQUIRE(kHuge == 0x80);
    STATIC_REQUIRE(kGlobal == 0x100);
    STATIC_REQUIRE(kNoExecute == 0x8000000000000000);
    STATIC_REQUIRE(kAddrMask == 0x000ffffffffff000);
    STATIC_REQUIRE(kEntries == 512);

    const uint64_t e = make_entry(0x123456789000, kPresent | kWritable | kNoExecute);
    CHECK(e == 0x8000123456789003);
    CHECK(entry_addr(e) == 0x123456789000);
    CHECK(entry_flags(e) == (kPresent | kWritable | kNoExecute));
    CHECK(is_present(e));
    CHECK_FALSE(is_present(kWritable | kUser));
    // Each half stays in its own field.
    CHECK(make_entry(0x1234567, kUser) == 0x1234004);
    CHECK(make_entry(0x1000, 0x5000 | kUser) == 0x1004);
    CHECK(entry_flags(0xfff0000000000fff) == 0xfff0000000000fff);
    // PS means "huge" only at L3/L2: at L1 the same bit is PAT, at L4 reserved.
    CHECK(is_huge_leaf(kPresent | kHuge, 3));
    CHECK(is_huge_leaf(kPresent | kHuge, 2));
    CHECK_FALSE(is_huge_leaf(kPresent | kHuge, 1));
    CHECK_FALSE(is_huge_leaf(kPresent | kHuge, 4));
    CHECK_FALSE(is_huge_leaf(kPresent, 2));

    CHECK(level_span(1) == 0x1000);
    CHECK(level_span(2) == 0x200000);
    CHECK(level_span(3) == 0x40000000);
    CHECK(level_span(4) == 0x8000000000);

    CHECK(is_canonical(0));
    CHECK(is_canonical(0x00007fffffffffff));
    CHECK(is_canonical(0xffff800000000000));
    CHECK(is_canonical(0xffffffffffffffff));
    CHECK_FALSE(is_canonical(0x0000800000000000));
    CHECK_FALSE(is_canonical(0xffff7fffffffffff));
    CHECK_FALSE(is_canonical(0x8000000000000000));
    CHECK_FALSE(is_canonical(0x0001000000000000));
    CHECK(canonicalize(0x0000800000000000) == 0xffff800000000000);
    CHECK(canonicalize(0xffff7fffffffffff) == 0x00007fffffffffff);
    CHECK(canonicalize(0x0000830000000000) == 0xffff830000000000);
    CHECK(canonicalize(0x1234) == 0x1234);

    const uint64_t image = 0xffff82d040000000;
    CHECK(table_index(image, 4) == 261);
    CHECK(table_index(image, 3) == 321);
    CHECK(table_index(image, 2) == 0);
    CHECK(table_index(image, 1) == 0);
    const uint64_t stack_top = 0x00007fffffffe000;
    CHECK(table_index(stack_top, 4) == 255);
    CHECK(table_index(stack_top, 3) == 511);
    CHECK(table_index(stack_top, 2) == 511);
    CHECK(table_index(stack_top, 1) == 510);
}

TEST_CASE("va_of and table_index round trip") {
    CHECK(va_of(0, 0, 0, 1) == 0x1000);
    CHECK(va_of(255, 511, 511, 510) == 0x00007fffffffe000);
    CHECK(va_of(256, 0, 0, 0) == 0xffff800000000000);
    CHECK(va_of(261, 321, 0, 0) == 0xffff82d040000000);
    CHECK(va_of(262, 0, 0, 0) == 0xffff830000000000);
    CHECK(va_of(511, 510, 0, 0) == 0xffffffff80000000);
    CHECK(va_of(511, 511, 511, 511) == 0xfffffffffffff000);

    for (unsigned l4 : {0u, 1u, 255u, 256u, 261u, 511u})
        for (unsigned l3 : {0u, 1u, 321u, 511u})
            for (unsigned l2 : {0u, 7u, 511u})
                for (unsigned l1 : {0u, 1u, 510u, 511u}) {
                    const uint64_t va = va_of(l4, l3, l2, l1);
                    INFO("va 0x" << std::hex << va);
                    REQUIRE(is_canonical(va));
                    REQUIRE(va % 0x1000 == 0);
                    REQUIRE(table_index(va, 4) == l4);
                    REQUIRE(table_index(va, 3) == l3);
                    REQUIRE(table_index(va, 2) == l2);
                    REQUIRE(table_index(va, 1) == l1);
                    REQUIRE(va_of(table_index(va + 0xfff, 4), table_index(va + 0xfff, 3), table_index(va + 0xfff, 2),
                                  table_index(va + 0xfff, 1)) == va);
                }
}

TEST_CASE("map of a 4K page writes one entry per level and walk finds it") {
    Tree t;
    const uint64_t va = 0xffff82d040003000, pa = 0x7654000;
    REQUIRE(t.map(va, pa, kWritable | kNoExecute) == Status::Ok);  // kPresent is implied

    const uint64_t leaf = make_entry(pa, kPresent | kWritable | kNoExecute);
    CHECK(t.mem.writes == std::vector<Write>{
                              {t.root, 261, 0, make_entry(T1, kTable)},
                              {T1, 321, 0, make_entry(T2, kTable)},
                              {T2, 0, 0, make_entry(T3, kTable)},
                              {T3, 3, 0, leaf},
                          });

    const Translation tr = t.walk(va + 0x123);
    CHECK(tr.present);
    CHECK(tr.leaf_level == 1);
    CHECK(tr.fault_level == 0);
    CHECK(tr.pa == pa + 0x123);
    CHECK(tr.flags == (kPresent | kWritable | kNoExecute));
    CHECK(entries_of(tr) ==
          std::vector<uint64_t>{make_entry(T1, kTable), make_entry(T2, kTable), make_entry(T3, kTable), leaf});
    CHECK(t.mem.writes.size() == 4);  // walking never writes

    // A 4K leaf with the PAT bit (same bit as kHuge) is still a 4K leaf.
    t.mem.poke(T3, 3, leaf | kHuge);
    CHECK(t.walk(va).leaf_level == 1);
    CHECK(t.walk(va).pa == pa);

    // A second page in the same L1 table reuses every intermediate table.
    REQUIRE(t.map(va + 0x1000, pa + 0x5000, kPresent) == Status::Ok);
    CHECK(t.mem.writes.back() == Write{T3, 4, 0, make_entry(pa + 0x5000, kPresent)});
    CHECK(t.mem.writes.size() == 5);
    CHECK(t.mem.table_count() == 4);
}

TEST_CASE("map of 2M and 1G leaves sets kHuge and walk translates the offset") {
    Tree t;
    SECTION("2M") {
        const uint64_t va = 0x40200000, pa = 0x80000000;  // slots 0/1/1
        REQUIRE(t.map(va, pa, kWritable, PageSize::k2M) == Status::Ok);
        const uint64_t leaf = make_entry(pa, kPresent | kWritable | kHuge);
        CHECK(t.mem.writes == std::vector<Write>{
                                  {t.root, 0, 0, make_entry(T1, kTable)},
                                  {T1, 1, 0, make_entry(T2, kTable)},
                                  {T2, 1, 0, leaf},
                              });
        const Translation tr = t.walk(va + 0x1ff123);
        CHECK(tr.present);
        CHECK(tr.leaf_level == 2);
        CHECK(tr.pa == pa + 0x1ff123);
        CHECK(tr.flags == (kPresent | kWritable | kHuge));
        CHECK(entries_of(tr) == std::vector<uint64_t>{make_entry(T1, kTable), make_entry(T2, kTable), leaf, 0});

        // Bit 12 of a huge leaf is PAT, not address.
        t.mem.poke(T2, 1, leaf | 0x1000);
        CHECK(t.walk(va + 0x123).pa == pa + 0x123);
    }
    SECTION("1G") {
        const uint64_t va = 0xffff830040000000, pa = 0xc0000000;  // slots 262/1
        REQUIRE(t.map(va, pa, kPresent | kGlobal, PageSize::k1G) == Status::Ok);
        const uint64_t leaf = make_entry(pa, kPresent | kGlobal | kHuge);
        CHECK(t.mem.writes == std::vector<Write>{
                                  {t.root, 262, 0, make_entry(T1, kTable)},
                                  {T1, 1, 0, leaf},
                              });
        const Translation tr = t.walk(va + 0x3ffff123);
        CHECK(tr.present);
        CHECK(tr.leaf_level == 3);
        CHECK(tr.pa == pa + 0x3ffff123);
        CHECK(tr.flags == (kPresent | kGlobal | kHuge));
        CHECK(entries_of(tr) == std::vector<uint64_t>{make_entry(T1, kTable), leaf, 0, 0});
        // kWritable was set in the table entries only: not effective.
        CHECK((tr.flags & kWritable) == 0);
    }
}

TEST_CASE("walk makes W and U effective only if set at every level, NX if set at any") {
    const uint64_t va = va_of(3, 4, 5, 6), all = kPresent | kWritable | kUser;
    {
        Tree t;
        REQUIRE(t.map(va, 0x200000, all, PageSize::k4K, all) == Status::Ok);
        CHECK(t.walk(va).flags == all);
    }
    for (int level = 4; level >= 1; --level) {
        INFO("level " << level);
        Tree t;
        REQUIRE(t.map(va, 0x200000, all, PageSize::k4K, all) == Status::Ok);
        const uint64_t table = t.table_at(va, level);
        const unsigned index = table_index(va, level);
        const uint64_t e = t.mem.read(table, index);

        t.mem.poke(table, index, e & ~kUser);
        CHECK(t.walk(va).flags == (kPresent | kWritable));
        t.mem.poke(table, index, e & ~kWritable);
        CHECK(t.walk(va).flags == (kPresent | kUser));
        t.mem.poke(table, index, e | kNoExecute);
        CHECK(t.walk(va).flags == (all | kNoExecute));
        t.mem.poke(table, index, e);
        CHECK(t.walk(va).flags == all);
    }
}

TEST_CASE("walk reports the level of the first non-present entry") {
    Tree t;
    const Translation empty = t.walk(0x1000);
    CHECK_FALSE(empty.present);
    CHECK(empty.fault_level == 4);
    CHECK(empty.leaf_level == 0);
    CHECK(empty.pa == 0);
    CHECK(empty.flags == 0);
    CHECK(entries_of(empty) == std::vector<uint64_t>{0, 0, 0, 0});

    const uint64_t va = va_of(1, 2, 3, 4);
    REQUIRE(t.map(va, 0x300000, kWritable) == Status::Ok);
    const std::vector<uint64_t> full = entries_of(t.walk(va));

    struct Case {
        uint64_t va;
        int fault_level;
    };
    for (const Case c : {Case{va_of(1, 2, 3, 5), 1}, Case{va_of(1, 2, 4, 4), 2}, Case{va_of(1, 3, 3, 4), 3},
                         Case{va_of(2, 2, 3, 4), 4}, Case{va_of(257, 2, 3, 4), 4}}) {
        INFO("va 0x" << std::hex << c.va);
        const Translation tr = t.walk(c.va);
        CHECK_FALSE(tr.present);
        CHECK(tr.fault_level == c.fault_level);
        CHECK(tr.leaf_level == 0);
        // Entries above the fault are the real ones; the faulting one and below are 0.
        for (int level = 4; level >= 1; --level) {
            const int i = kLevels - level;
            CHECK(tr.entries[i] == (level > c.fault_level ? full[static_cast<size_t>(i)] : 0));
        }
    }

    // A non-present entry is reported raw, junk and all.
    const uint64_t junk = make_entry(0x5000, kWritable);
    t.mem.poke(t.table_at(va, 1), 5, junk);
    const Translation tr = t.walk(va_of(1, 2, 3, 5));
    CHECK_FALSE(tr.present);
    CHECK(tr.fault_level == 1);
    CHECK(tr.entries[3] == junk);
}

TEST_CASE("unmap clears exactly the leaf, at any level") {
    Tree t;
    SECTION("4K") {
        const uint64_t va = va_of(0, 0, 1, 7), leaf = make_entry(0x9000, kPresent | kWritable);
        REQUIRE(t.map(va, 0x9000, kWritable) == Status::Ok);
        t.mem.writes.clear();
        REQUIRE(t.unmap(va + 0x10) == Status::Ok);
        CHECK(t.mem.writes == std::vector<Write>{{T3, 7, leaf, 0}});
        CHECK(t.walk(va).fault_level == 1);
        CHECK(t.unmap(va) == Status::NotMapped);
        CHECK(t.mem.writes.size() == 1);
        // Tables stay, so mapping again only writes the leaf.
        REQUIRE(t.map(va, 0xa000, kWritable) == Status::Ok);
        CHECK(t.mem.writes.size() == 2);
        CHECK(t.mem.table_count() == 4);
    }
    SECTION("2M, from a va inside the page") {
        const uint64_t va = 0xffff830000200000;
        REQUIRE(t.map(va, 0x400000, kWritable, PageSize::k2M) == Status::Ok);
        const uint64_t leaf = t.mem.writes.back().new_value;
        t.mem.writes.clear();
        REQUIRE(t.unmap(va + 0x12345) == Status::Ok);
        CHECK(t.mem.writes == std::vector<Write>{{T2, 1, leaf, 0}});
        CHECK(t.walk(va).fault_level == 2);
    }
    SECTION("1G") {
        const uint64_t va = 0x80000000;
        REQUIRE(t.map(va, 0x40000000, kWritable, PageSize::k1G) == Status::Ok);
        const uint64_t leaf = t.mem.writes.back().new_value;
        t.mem.writes.clear();
        REQUIRE(t.unmap(va + 0x3fffffff) == Status::Ok);
        CHECK(t.mem.writes == std::vector<Write>{{T1, 2, leaf, 0}});
        CHECK(t.walk(va).fault_level == 3);
    }
    SECTION("nothing there") {
        CHECK(t.unmap(0x1000) == Status::NotMapped);
        REQUIRE(t.map(0x1000, 0x2000, kWritable) == Status::Ok);
        t.mem.writes.clear();
        CHECK(t.unmap(0x2000) == Status::NotMapped);
        CHECK(t.unmap(va_of(0, 0, 1, 0)) == Status::NotMapped);
        CHECK(t.unmap(0x0000800000000000) == Status::NonCanonical);
        CHECK(t.mem.writes.empty());
        CHECK(t.walk(0x1000).present);
    }
}

TEST_CASE("map refuses conflicts and bad arguments without writing anything") {
    Tree t;
    auto expect_refused = [&](Status expected, uint64_t va, uint64_t pa, PageSize size) {
        const size_t writes = t.mem.writes.size(), tables = t.mem.table_count();
        CHECK(t.map(va, pa, kWritable, size) == expected);
        CHECK(t.mem.writes.size() == writes);
        CHECK(t.mem.table_count() == tables);
    };

    SECTION("AlreadyMapped") {
        REQUIRE(t.map(0x201000, 0x5000, kWritable) == Status::Ok);
        expect_refused(Status::AlreadyMapped, 0x201000, 0x6000, PageSize::k4K);
        CHECK(t.walk(0x201000).pa == 0x5000);
        // A table of smaller pages is in the way of a huge leaf as well.
        expect_refused(Status::AlreadyMapped, 0x200000, 0x400000, PageSize::k2M);
        expect_refused(Status::AlreadyMapped, 0, 0x40000000, PageSize::k1G);
    }
    SECTION("HugeInTheWay") {
        REQUIRE(t.map(0x200000, 0x400000, kWritable, PageSize::k2M) == Status::Ok);
        expect_refused(Status::HugeInTheWay, 0x201000, 0x5000, PageSize::k4K);
        REQUIRE(t.map(0xffff830040000000, 0x40000000, kWritable, PageSize::k1G) == Status::Ok);
        expect_refused(Status::HugeInTheWay, 0xffff830040200000, 0x400000, PageSize::k2M);
        expect_refused(Status::HugeInTheWay, 0xffff83007ffff000, 0x5000, PageSize::k4K);
    }
    SECTION("NonCanonical") {
        expect_refused(Status::NonCanonical, 0x0000800000000000, 0x5000, PageSize::k4K);
        expect_refused(Status::NonCanonical, 0xffff7ffffffff000, 0x5000, PageSize::k4K);
        expect_refused(Status::NonCanonical, 0x0001000000000000, 0, PageSize::k1G);
        CHECK(t.unmap(0x8000000000000000) == Status::NonCanonical);
    }
    SECTION("Misaligned") {
        expect_refused(Status::Misaligned, 0x1800, 0x5000, PageSize::k4K);
        expect_refused(Status::Misaligned, 0x1000, 0x5800, PageSize::k4K);
        expect_refused(Status::Misaligned, 0x201000, 0x400000, PageSize::k2M);
        expect_refused(Status::Misaligned, 0x200000, 0x401000, PageSize::k2M);
        expect_refused(Status::Misaligned, 0x40200000, 0x40000000, PageSize::k1G);
        expect_refused(Status::Misaligned, 0x40000000, 0x40200000, PageSize::k1G);
        expect_refused(Status::Misaligned, 0x1000, 1ull << 52, PageSize::k4K);  // beyond the PA field
    }
}

TEST_CASE("map reports NoMemory when the allocator runs dry and can resume later") {
    Tree t(3);  // root + L3 + L2, no room for the L1 table
    const uint64_t va = va_of(4, 5, 6, 7);
    CHECK(t.map(va, 0x5000, kWritable) == Status::NoMemory);
    CHECK(t.mem.writes == std::vector<Write>{
                              {t.root, 4, 0, make_entry(T1, kTable)},
                              {T1, 5, 0, make_entry(T2, kTable)},
                          });
    CHECK(t.walk(va).fault_level == 2);
    CHECK(t.map_range(va, 0x5000, 0x2000, true) == Status::NoMemory);

    t.mem.budget = 1;
    t.mem.writes.clear();
    REQUIRE(t.map(va, 0x5000, kWritable) == Status::Ok);
    CHECK(t.mem.writes == std::vector<Write>{
                              {T2, 6, 0, make_entry(T3, kTable)},
                              {T3, 7, 0, make_entry(0x5000, kPresent | kWritable)},
                          });
    CHECK(t.mem.alloc_table() == 0);
    CHECK(t.map(va_of(4, 5, 7, 0), 0x6000, kWritable) == Status::NoMemory);
    CHECK(t.map(va_of(4, 5, 7, 0), 0x200000, kWritable, PageSize::k2M) == Status::Ok);  // no table needed
}

TEST_CASE("map_range uses 2M leaves exactly where va and pa are both 2M aligned") {
    Tree t;
    const uint64_t rw = kPresent | kWritable, huge = rw | kHuge;
    auto small_pages = [](uint64_t pa, uint64_t count) {
        std::vector<uint64_t> leaves;
        for (uint64_t i = 0; i < count; ++i)
            leaves.push_back(make_entry(pa + i * 0x1000, kPresent | kWritable));
        return leaves;
    };

    SECTION("aligned: 2M leaves, then a 4K tail") {
        REQUIRE(t.map_range(0x200000, 0x40000000, 0x401000, true) == Status::Ok);
        CHECK(t.mem.leaf_writes() == std::vector<uint64_t>{make_entry(0x40000000, huge), make_entry(0x40200000, huge),
                                                           make_entry(0x40400000, rw)});
        CHECK(t.walk(0x200000).leaf_level == 2);
        CHECK(t.walk(0x3fffff).pa == 0x401fffff);
        CHECK(t.walk(0x600000).leaf_level == 1);
        CHECK(t.walk(0x601000).fault_level == 1);
    }
    SECTION("2M not allowed") {
        REQUIRE(t.map_range(0x200000, 0x40000000, 0x401000, false) == Status::Ok);
        CHECK(t.mem.leaf_writes() == small_pages(0x40000000, 0x401));
    }
    SECTION("pa only 4K aligned") {
        REQUIRE(t.map_range(0x200000, 0x40001000, 0x401000, true) == Status::Ok);
        CHECK(t.mem.leaf_writes() == small_pages(0x40001000, 0x401));
    }
    SECTION("va only 4K aligned") {
        REQUIRE(t.map_range(0x201000, 0x40000000, 0x400000, true) == Status::Ok);
        CHECK(t.mem.leaf_writes() == small_pages(0x40000000, 0x400));
    }
    SECTION("4K head up to the first 2M boundary") {
        REQUIRE(t.map_range(0xffff8300001ff000, 0x401ff000, 0x202000, true) == Status::Ok);
        CHECK(t.mem.leaf_writes() == std::vector<uint64_t>{make_entry(0x401ff000, rw), make_entry(0x40200000, huge),
                                                           make_entry(0x40400000, rw)});
        CHECK(t.walk(0xffff830000200000).leaf_level == 2);
    }
    SECTION("less than 2M left") {
        REQUIRE(t.map_range(0x200000, 0x40000000, 0x1ff000, true) == Status::Ok);
        CHECK(t.mem.leaf_writes() == small_pages(0x40000000, 0x1ff));
    }
    SECTION("table_flags reach the intermediate tables") {
        const uint64_t user_tables = kPresent | kWritable | kUser;
        REQUIRE(pt::map_range(t.mem, t.mem, t.root, 0x1000, 0x2000, 0x1000, kUser, true, user_tables) == Status::Ok);
        CHECK(t.mem.writes.front() == Write{t.root, 0, 0, make_entry(T1, user_tables)});
        CHECK(t.walk(0x1000).flags == (kPresent | kUser));
        // Tables are always present and never huge, whatever the caller passes.
        REQUIRE(t.map(va_of(1, 0, 0, 0), 0x2000, kUser, PageSize::k4K, kWritable | kHuge) == Status::Ok);
        CHECK(t.mem.writes[4] == Write{t.root, 1, 0, make_entry(FakeMemory::nth_table(4), kPresent | kWritable)});
    }
    SECTION("refusals") {
        CHECK(t.map_range(0x1800, 0x2000, 0x1000, true) == Status::Misaligned);
        CHECK(t.map_range(0x1000, 0x2800, 0x1000, true) == Status::Misaligned);
        CHECK(t.map_range(0x1000, 0x2000, 0x1800, true) == Status::Misaligned);
        CHECK(t.map_range(0x00007fffffe00000, 0, 0x400000, true) == Status::NonCanonical);  // crosses the hole
        CHECK(t.map_range(0x0000800000000000, 0, 0x1000, true) == Status::NonCanonical);
        CHECK(t.map_range(0xffffffffffe00000, 0, 0x400000, true) == Status::NonCanonical);  // wraps
        CHECK(t.map_range(0x1000, 0, 0xffff800000000000, true) == Status::NonCanonical);    // ends canonical
        Tree small(4);  // without the wrap check this would map until NoMemory
        CHECK(small.map_range(0x2000, 0, 0xfffffffffffff000, true) == Status::NonCanonical);
        CHECK(t.map_range(0x1000, 0x2000, 0, true) == Status::Ok);
        CHECK(t.mem.writes.empty());
        // A conflict stops the range after what was already mapped.
        REQUIRE(t.map(0x401000, 0x5000, kWritable) == Status::Ok);
        CHECK(t.map_range(0x200000, 0x40000000, 0x400000, true) == Status::AlreadyMapped);
        CHECK(t.walk(0x200000).leaf_level == 2);
    }
}

TEST_CASE("for_each_leaf visits exactly the present leaves with canonical VAs") {
    Tree t;
    const uint64_t rw = kPresent | kWritable, huge = rw | kHuge;
    REQUIRE(t.map(0xffffffff80000000, 0x7000, kWritable) == Status::Ok);
    REQUIRE(t.map(0xffff830000000000, 0x400000, kWritable, PageSize::k2M) == Status::Ok);
    REQUIRE(t.map(0xffff82d040000000, 0x8000, kWritable) == Status::Ok);
    REQUIRE(t.map(0xffff800000000000, 0x9000, kWritable) == Status::Ok);
    REQUIRE(t.map(0x00007fffffe00000, 0x600000, kWritable, PageSize::k2M) == Status::Ok);
    REQUIRE(t.map(0x40000000, 0x80000000, kWritable, PageSize::k1G) == Status::Ok);
    REQUIRE(t.map(0x1000, 0xa000, kWritable) == Status::Ok);
    REQUIRE(t.map(0x2000, 0xb000, kWritable) == Status::Ok);
    REQUIRE(t.unmap(0x2000) == Status::Ok);
    // Not present, so not a leaf, even with other bits set.
    t.mem.poke(t.table_at(0x1000, 1), 3, make_entry(0xc000, kWritable));
    t.mem.writes.clear();

    const std::vector<Visit> all{
        {0x1000, make_entry(0xa000, rw), 1},
        {0x40000000, make_entry(0x80000000, huge), 3},
        {0x00007fffffe00000, make_entry(0x600000, huge), 2},
        {0xffff800000000000, make_entry(0x9000, rw), 1},
        {0xffff82d040000000, make_entry(0x8000, rw), 1},
        {0xffff830000000000, make_entry(0x400000, huge), 2},
        {0xffffffff80000000, make_entry(0x7000, rw), 1},
    };
    CHECK(t.leaves() == all);
    CHECK(t.leaves(256, 271) == std::vector<Visit>(all.begin() + 3, all.end() - 1));
    CHECK(t.leaves(0, 0) == std::vector<Visit>(all.begin(), all.begin() + 2));
    CHECK(t.leaves(511, 511) == std::vector<Visit>{all.back()});
    CHECK(t.leaves(263, 510).empty());
    CHECK(t.leaves(300, 299).empty());
    CHECK(t.leaves(300, 4096) == std::vector<Visit>{all.back()});  // clamped to slot 511

    std::vector<Visit> plain;
    for_each_leaf(t.mem, t.root, [&](uint64_t va, uint64_t e, int level) { plain.push_back({va, e, level}); });
    CHECK(plain == all);
    CHECK(t.mem.writes.empty());

    // Each visit agrees with a walk of the same va.
    for (const Visit& v : all) {
        const Translation tr = t.walk(v.va);
        CHECK(tr.present);
        CHECK(tr.leaf_level == v.level);
        CHECK(tr.entries[kLevels - v.level] == v.entry);
    }
}

TEST_CASE("status_name names every status distinctly") {
    std::set<std::string> names;
    for (Status s : {Status::Ok, Status::NoMemory, Status::AlreadyMapped, Status::NotMapped, Status::HugeInTheWay,
                     Status::Misaligned, Status::NonCanonical})
        names.insert(status_name(s));
    CHECK(names.size() == 7);
    CHECK(std::string(status_name(Status::HugeInTheWay)) == "HugeInTheWay");
    CHECK(std::string(status_name(Status::Ok)) == "Ok");
    STATIC_REQUIRE(leaf_level(PageSize::k4K) == 1 && leaf_level(PageSize::k2M) == 2 && leaf_level(PageSize::k1G) == 3);
}

// ---- TLB model (pagetables/tlb_model.hpp) ----

namespace {
constexpr uint64_t kVa = 0x400000, kA = 0x10000000, kB = 0x20000000;
constexpr uint64_t kRw = kWritable;

void remap(Tree& t, uint64_t va, uint64_t pa, uint64_t flags = kRw) {
    REQUIRE(t.unmap(va) == Status::Ok);
    REQUIRE(t.map(va, pa, flags) == Status::Ok);
}
}  // namespace

TEST_CASE("TLB model: a changed mapping stays stale until INVLPG", "[pagetables][tlb]") {
    Tree t;
    REQUIRE(t.map(kVa, kA, kRw) == Status::Ok);
    TlbModel<> tlb;
    tlb.write_cr3(t.root, 0, false);
    CHECK(tlb.access(t.mem, kVa + 0x10).pa == kA + 0x10);
    CHECK_FALSE(tlb.check(t.mem).found);

    remap(t, kVa, kB);
    CHECK(tlb.access(t.mem, kVa).pa == kA);  // the hardware keeps using the cached translation
    const auto stale = tlb.check(t.mem);
    REQUIRE(stale.found);
    CHECK(stale.va_page == kVa);
    CHECK(stale.cached_pa == kA);
    CHECK(stale.now_pa == kB);

    tlb.invlpg(kVa);
    CHECK_FALSE(tlb.check(t.mem).found);
    CHECK(tlb.access(t.mem, kVa).pa == kB);
}

TEST_CASE("TLB model: unmapping and permission changes are stale too", "[pagetables][tlb]") {
    Tree t;
    REQUIRE(t.map(kVa, kA, kRw) == Status::Ok);
    TlbModel<> tlb;
    tlb.write_cr3(t.root, 0, false);
    (void)tlb.access(t.mem, kVa);
    remap(t, kVa, kA, 0);  // read-only now
    CHECK(tlb.check(t.mem).found);
    tlb.invlpg(kVa);
    (void)tlb.access(t.mem, kVa);
    REQUIRE(t.unmap(kVa) == Status::Ok);
    const auto stale = tlb.check(t.mem);
    REQUIRE(stale.found);
    CHECK_FALSE(stale.now_present);
}

TEST_CASE("TLB model: CR3 writes flush the PCID unless no-flush; globals survive", "[pagetables][tlb]") {
    Tree t;
    REQUIRE(t.map(kVa, kA, kRw) == Status::Ok);
    REQUIRE(t.map(kVa + 0x1000, kA + 0x1000, kRw | kGlobal) == Status::Ok);
    TlbModel<> tlb;
    tlb.set_pge(true);
    tlb.write_cr3(t.root, 0, false);
    (void)tlb.access(t.mem, kVa);
    (void)tlb.access(t.mem, kVa + 0x1000);
    CHECK(tlb.size() == 2);

    tlb.write_cr3(t.root, 0, true);  // no-flush: both stay
    CHECK(tlb.size() == 2);
    tlb.write_cr3(t.root, 0, false);  // flush: the global one stays
    CHECK(tlb.size() == 1);
    remap(t, kVa + 0x1000, kB, kRw | kGlobal);
    CHECK(tlb.check(t.mem).found);  // a CR3 write alone does not cure a stale global
    tlb.set_pge(false);             // toggling PGE flushes globals
    CHECK(tlb.size() == 0);
    CHECK_FALSE(tlb.check(t.mem).found);
    CHECK(tlb.cr3_writes() == 3);
}

TEST_CASE("TLB model: without PGE the G bit is ignored", "[pagetables][tlb]") {
    Tree t;
    REQUIRE(t.map(kVa, kA, kRw | kGlobal) == Status::Ok);
    TlbModel<> tlb;
    tlb.write_cr3(t.root, 0, false);
    (void)tlb.access(t.mem, kVa);
    tlb.write_cr3(t.root, 0, false);
    CHECK(tlb.size() == 0);
}

TEST_CASE("TLB model: PCIDs tag entries; INVPCID types", "[pagetables][tlb]") {
    Tree t;
    REQUIRE(t.map(kVa, kA, kRw) == Status::Ok);
    REQUIRE(t.map(kVa + 0x1000, kA + 0x1000, kRw | kGlobal) == Status::Ok);
    TlbModel<> tlb;
    tlb.set_pge(true);
    tlb.write_cr3(t.root, 1, false);
    (void)tlb.access(t.mem, kVa);
    (void)tlb.access(t.mem, kVa + 0x1000);
    tlb.write_cr3(t.root, 2, true);
    (void)tlb.access(t.mem, kVa);  // PCID 1's entry is not usable under PCID 2: a second entry
    CHECK(tlb.size() == 3);

    remap(t, kVa, kB);
    CHECK(tlb.check(t.mem).found);  // PCID 2's entry
    tlb.invpcid_address(2, kVa);
    CHECK_FALSE(tlb.check(t.mem).found);  // PCID 1's stale entry is not usable now
    tlb.write_cr3(t.root, 1, true);
    CHECK(tlb.check(t.mem).found);  // ...but it is once PCID 1 is back
    tlb.invpcid_context(1);
    CHECK_FALSE(tlb.check(t.mem).found);
    CHECK(tlb.size() == 1);  // only the global one is left
    tlb.invpcid_all_but_globals();
    CHECK(tlb.size() == 1);
    tlb.invpcid_all_with_globals();
    CHECK(tlb.size() == 0);
}

TEST_CASE("TLB model: evicts when full, never loses correctness", "[pagetables][tlb]") {
    Tree t;
    for (uint64_t i = 0; i < 8; ++i)
        REQUIRE(t.map(kVa + i * 0x1000, kA + i * 0x1000, kRw) == Status::Ok);
    TlbModel<4> tlb;
    tlb.write_cr3(t.root, 0, false);
    for (uint64_t i = 0; i < 8; ++i)
        CHECK(tlb.access(t.mem, kVa + i * 0x1000).pa == kA + i * 0x1000);
    CHECK(tlb.size() == 4);
    CHECK_FALSE(tlb.check(t.mem).found);
}
