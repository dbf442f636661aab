// A minimal user address space for the fuzzer's random user instructions:
// its own L4 -> L3 -> L2 -> L1 mapping only a code page (read-only) and a
// stack page, so nothing user code does can reach the fuzzer's memory.
#pragma once

#include <stdint.h>

namespace fuzz {

inline constexpr uint64_t kUserCodeVa = 0x400000;
inline constexpr uint64_t kUserStackVa = 0x401000;

// Builds and pins the tables from `table_mfns` (four unmapped frames),
// mapping `code_mfn` and `stack_mfn`; returns the L4 mfn, or 0 on failure
// (with the reason printed).
uint64_t build_user_space(const uint64_t (&table_mfns)[4], uint64_t code_mfn, uint64_t stack_mfn);

// The page mapped at kUserCodeVa (main.cpp).
uint8_t* user_code_page();

}  // namespace fuzz
