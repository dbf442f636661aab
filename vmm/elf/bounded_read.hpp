// Bounds-checked access to an untrusted byte buffer. Every offset and size
// in a guest ELF comes from the file itself, so each read goes through
// these helpers: none of them can overflow or read outside the buffer.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <type_traits>

namespace pvvmm::elf::detail {

// True when [offset, offset + size) lies inside a buffer of `total` bytes.
// Written as two comparisons so that no sum can wrap.
constexpr bool range_fits(uint64_t offset, uint64_t size, uint64_t total) {
    return offset <= total && size <= total - offset;
}

// True when a + b does not fit in 64 bits.
constexpr bool sum_wraps(uint64_t a, uint64_t b) { return b > std::numeric_limits<uint64_t>::max() - a; }

// Rounds up to the 4-byte alignment of ELF note fields. Takes the 32-bit
// sizes of a note header, so the 64-bit result cannot wrap.
constexpr uint64_t note_align(uint32_t size) { return (uint64_t{size} + 3) & ~uint64_t{3}; }

// Copies a T out of `bytes` at `offset` (memcpy: the file gives no
// alignment guarantee), or nothing when it would not fit.
template <typename T>
std::optional<T> read_struct(std::span<const uint8_t> bytes, uint64_t offset) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!range_fits(offset, sizeof(T), bytes.size()))
        return std::nullopt;
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

}  // namespace pvvmm::elf::detail
