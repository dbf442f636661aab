// One x86-64 page-table entry and the address arithmetic of 4-level paging.
// Levels are numbered like the hardware manual: 4 = L4/PML4 ... 1 = L1/PT.
#pragma once

#include <stdint.h>

namespace pt {

inline constexpr uint64_t kPresent = 1ull << 0;
inline constexpr uint64_t kWritable = 1ull << 1;
inline constexpr uint64_t kUser = 1ull << 2;
inline constexpr uint64_t kWriteThrough = 1ull << 3;
inline constexpr uint64_t kCacheDisable = 1ull << 4;
inline constexpr uint64_t kAccessed = 1ull << 5;
inline constexpr uint64_t kDirty = 1ull << 6;
inline constexpr uint64_t kHuge = 1ull << 7;  // PS at L3/L2; at L1 this bit is PAT
inline constexpr uint64_t kGlobal = 1ull << 8;
inline constexpr uint64_t kNoExecute = 1ull << 63;

// Bits 51:12 hold the physical address; everything else is a flag.
inline constexpr uint64_t kAddrMask = 0x000ffffffffff000;
inline constexpr unsigned kEntries = 512;
inline constexpr int kLevels = 4;

constexpr uint64_t entry_addr(uint64_t e) { return e & kAddrMask; }
constexpr uint64_t entry_flags(uint64_t e) { return e & ~kAddrMask; }
constexpr uint64_t make_entry(uint64_t addr, uint64_t flags) { return (addr & kAddrMask) | (flags & ~kAddrMask); }
constexpr bool is_present(uint64_t e) { return (e & kPresent) != 0; }

// A huge leaf only exists where the PS bit means "page size": L3 (1G), L2 (2M).
constexpr bool is_huge_leaf(uint64_t e, int level) { return (level == 3 || level == 2) && (e & kHuge) != 0; }

// Each level translates 9 VA bits above the 12-bit page offset.
constexpr unsigned level_shift(int level) { return 12u + 9u * static_cast<unsigned>(level - 1); }
constexpr uint64_t level_span(int level) { return 1ull << level_shift(level); }
constexpr unsigned table_index(uint64_t va, int level) {
    return static_cast<unsigned>(va >> level_shift(level)) & (kEntries - 1);
}

// 48-bit VAs: bits 63:48 must repeat bit 47 (arithmetic shift is defined in C++20).
constexpr uint64_t canonicalize(uint64_t va) { return static_cast<uint64_t>(static_cast<int64_t>(va << 16) >> 16); }
constexpr bool is_canonical(uint64_t va) { return canonicalize(va) == va; }

constexpr uint64_t va_of(unsigned l4, unsigned l3, unsigned l2, unsigned l1) {
    return canonicalize(uint64_t{l4} << level_shift(4) | uint64_t{l3} << level_shift(3) |
                        uint64_t{l2} << level_shift(2) | uint64_t{l1} << level_shift(1));
}

static_assert(level_span(1) == 0x1000 && level_span(2) == 0x200000);
static_assert(level_span(3) == 0x40000000 && level_span(4) == 0x8000000000);
static_assert(va_of(256, 0, 0, 0) == 0xffff800000000000);

}  // namespace pt
