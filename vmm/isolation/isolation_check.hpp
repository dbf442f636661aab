// XPTI isolation check: walks every vCPU's restricted roots (the L4s the
// guest runs on with XPTI on) and reports each mapping the guest could use
// to reach monitor memory it must not see. The allowed set is
// layout::restricted_ranges(); this file only enforces it. See
// isolation_check.cpp for the rules.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pagetables/memory.hpp"

namespace pvvmm::isolation {

// What to walk and what the guest owns.
struct Scope {
    uint64_t roots_gpa = 0;  // BootInfo::xpti_roots_gpa (layout::xpti_root_gpa)
    uint32_t nr_vcpus = 0;
    uint64_t memory_size = 0;    // guest-physical bytes: a table beyond is a violation, never read
    uint64_t ram_first_mfn = 0;  // the domain's RAM, all guest slots may map (besides shared_info)
    uint64_t ram_nr_pages = 0;
    // Per vCPU, before its roots are walked: 0, or the one root to walk
    // because the others await a drop the vCPU makes before it runs guest
    // code again (an L4 release left to it while asleep; CpuInfo says so).
    std::function<uint64_t(uint32_t vcpu)> only_root;
};

struct Violation {
    uint32_t vcpu = 0;
    uint32_t root = 0;   // 0 .. kXptiRootsPerVcpu-1
    uint64_t va = 0;     // leaf (or table entry) virtual address
    uint64_t pa = 0;     // what it maps (or the bad table's address)
    uint64_t flags = 0;  // effective: W and U only if set at every level, NX if set at any
    std::string reason;  // one line
};

struct Report {
    uint64_t roots = 0;            // non-empty roots walked
    uint64_t leaves = 0;           // leaf mappings (an aliased guest subtree is walked once, counted per reference)
    uint64_t violation_count = 0;  // all found, even past the recorded ones
    std::vector<Violation> violations;  // the first kMaxRecordedViolations
};

inline constexpr size_t kMaxRecordedViolations = 256;

// Entry `index` of the 4K table at guest-physical `table_pa`. Only asked for
// tables that lie inside Scope::memory_size.
using ReadEntry = std::function<uint64_t(uint64_t table_pa, unsigned index)>;

[[nodiscard]] Report check_restricted_roots(const ReadEntry& read, const Scope& scope);

template <pt::TableMemory M>
[[nodiscard]] Report check_restricted_roots(M& mem, const Scope& scope) {
    return check_restricted_roots(
        ReadEntry{[&mem](uint64_t table, unsigned index) -> uint64_t { return mem.read(table, index); }}, scope);
}

// "vCPU 0 root 0: va 0x... -> pa 0x... flags 0x...: <reason>"
[[nodiscard]] std::string format_violation(const Violation& v);

}  // namespace pvvmm::isolation
