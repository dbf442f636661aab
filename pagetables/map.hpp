// Creating and removing translations. Nothing here flushes TLBs or frees
// tables: the caller knows which CPUs to shoot down and which tables it owns.
#pragma once

#include <stdint.h>
#include <concepts>

#include "pagetables/entry.hpp"
#include "pagetables/memory.hpp"

namespace pt {

enum class Status : uint8_t { Ok, NoMemory, AlreadyMapped, NotMapped, HugeInTheWay, Misaligned, NonCanonical };
enum class PageSize : uint8_t { k4K, k2M, k1G };

constexpr const char* status_name(Status s) {
    switch (s) {
    case Status::Ok: return "Ok";
    case Status::NoMemory: return "NoMemory";
    case Status::AlreadyMapped: return "AlreadyMapped";
    case Status::NotMapped: return "NotMapped";
    case Status::HugeInTheWay: return "HugeInTheWay";
    case Status::Misaligned: return "Misaligned";
    case Status::NonCanonical: return "NonCanonical";
    }
    return "Status?";
}

constexpr int leaf_level(PageSize size) { return size == PageSize::k1G ? 3 : size == PageSize::k2M ? 2 : 1; }

// Creates missing intermediate tables (table_flags, always present) and one
// leaf (leaf_flags, always present; kHuge added for 2M/1G). On NoMemory the
// tables created so far stay linked: they are empty, so the tree stays valid.
template <TableMemory M, TableAllocator A>
[[nodiscard]] Status map(M& mem, A& alloc, uint64_t root_pa, uint64_t va, uint64_t pa, uint64_t leaf_flags,
                         PageSize size = PageSize::k4K, uint64_t table_flags = kPresent | kWritable) {
    const int target = leaf_level(size);
    const uint64_t span = level_span(target);
    if (!is_canonical(va))
        return Status::NonCanonical;
    // pa must be span-aligned and fit the entry's address field.
    if ((va & (span - 1)) != 0 || (pa & ~(kAddrMask & ~(span - 1))) != 0)
        return Status::Misaligned;

    uint64_t table = root_pa;
    for (int level = kLevels; level > target; --level) {
        const unsigned index = table_index(va, level);
        const uint64_t e = mem.read(table, index);
        if (is_present(e)) {
            if (is_huge_leaf(e, level))
                return Status::HugeInTheWay;
            table = entry_addr(e);
            continue;
        }
        const uint64_t fresh = alloc.alloc_table();
        if (fresh == 0)
            return Status::NoMemory;
        mem.write(table, index, make_entry(fresh, (table_flags & ~kHuge) | kPresent));
        table = fresh;
    }

    const unsigned index = table_index(va, target);
    // A present entry here is a leaf or, for huge sizes, a table of smaller pages.
    if (is_present(mem.read(table, index)))
        return Status::AlreadyMapped;
    const uint64_t huge = target > 1 ? kHuge : 0;
    mem.write(table, index, make_entry(pa, leaf_flags | huge | kPresent));
    return Status::Ok;
}

// Clears the leaf covering va, whatever its size (a va inside a huge page
// removes the whole huge page).
template <TableMemory M>
[[nodiscard]] Status unmap(M& mem, uint64_t root_pa, uint64_t va) {
    if (!is_canonical(va))
        return Status::NonCanonical;
    uint64_t table = root_pa;
    for (int level = kLevels; level >= 1; --level) {
        const unsigned index = table_index(va, level);
        const uint64_t e = mem.read(table, index);
        if (!is_present(e))
            return Status::NotMapped;
        if (level == 1 || is_huge_leaf(e, level)) {
            mem.write(table, index, 0);
            return Status::Ok;
        }
        table = entry_addr(e);
    }
    return Status::NotMapped;  // unreachable: level 1 always returns
}

// Maps [va, va+size) to [pa, pa+size), preferring 2M leaves wherever va and
// pa are both 2M aligned and a whole 2M chunk remains. Stops at the first
// failure and leaves what it mapped so far in place.
template <TableMemory M, TableAllocator A>
[[nodiscard]] Status map_range(M& mem, A& alloc, uint64_t root_pa, uint64_t va, uint64_t pa, uint64_t size,
                               uint64_t leaf_flags, bool allow_2m, uint64_t table_flags = kPresent | kWritable) {
    constexpr uint64_t k4K = level_span(1), k2M = level_span(2);
    if (((va | pa | size) & (k4K - 1)) != 0)
        return Status::Misaligned;
    if (size == 0)
        return Status::Ok;
    const uint64_t last = va + size - 1;
    // Both ends canonical and in the same half, so the range skips the hole.
    if (last < va || !is_canonical(va) || !is_canonical(last) || (va >> 47) != (last >> 47))
        return Status::NonCanonical;

    for (uint64_t done = 0; done < size;) {
        const uint64_t v = va + done, p = pa + done;
        const bool use_2m = allow_2m && ((v | p) & (k2M - 1)) == 0 && size - done >= k2M;
        const Status s =
            map(mem, alloc, root_pa, v, p, leaf_flags, use_2m ? PageSize::k2M : PageSize::k4K, table_flags);
        if (s != Status::Ok)
            return s;
        done += use_2m ? k2M : k4K;
    }
    return Status::Ok;
}

namespace detail {

template <TableMemory M, typename F>
void visit_leaves(M& mem, uint64_t table, int level, uint64_t va_base, unsigned first, unsigned last, F& visit) {
    for (unsigned index = first; index <= last; ++index) {
        const uint64_t e = mem.read(table, index);
        if (!is_present(e))
            continue;
        const uint64_t va = va_base | uint64_t{index} << level_shift(level);
        if (level == 1 || is_huge_leaf(e, level))
            visit(canonicalize(va), e, level);
        else
            visit_leaves(mem, entry_addr(e), level - 1, va, 0, kEntries - 1, visit);
    }
}

}  // namespace detail

// Calls visit(va, entry, level) for every present leaf in ascending L4 slot
// order, restricted to L4 slots [first_slot, last_slot].
template <TableMemory M, typename F>
requires std::invocable<F&, uint64_t, uint64_t, int>
void for_each_leaf(M& mem, uint64_t root_pa, unsigned first_slot, unsigned last_slot, F&& visit) {
    if (last_slot >= kEntries)
        last_slot = kEntries - 1;
    detail::visit_leaves(mem, root_pa, kLevels, 0, first_slot, last_slot, visit);
}

template <TableMemory M, typename F>
requires std::invocable<F&, uint64_t, uint64_t, int>
void for_each_leaf(M& mem, uint64_t root_pa, F&& visit) { for_each_leaf(mem, root_pa, 0, kEntries - 1, visit); }

}  // namespace pt
