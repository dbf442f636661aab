// x86-64 4-level page-table entries as a PV guest writes them (machine
// frame numbers) and a walk of the live tables.
#pragma once

#include <stdint.h>

namespace pt {

constexpr uint64_t present = 1u << 0;
constexpr uint64_t writable = 1u << 1;
constexpr uint64_t user = 1u << 2;
constexpr uint64_t accessed = 1u << 5;
constexpr uint64_t dirty = 1u << 6;
constexpr uint64_t large_page = 1u << 7;
constexpr uint64_t frame_mask = 0x000ffffffffff000;
constexpr unsigned entries_per_table = 512;

// Kernel mappings as Linux makes them: no _PAGE_USER (Xen adds it for
// 64-bit PV, whose kernel runs in ring 3), accessed/dirty preset.
constexpr uint64_t kernel_rw = present | writable | accessed | dirty;
constexpr uint64_t kernel_ro = present | accessed;

constexpr uint64_t entry(uint64_t mfn, uint64_t flags) { return (mfn << 12) | flags; }
constexpr uint64_t mfn_of(uint64_t entry) { return (entry & frame_mask) >> 12; }

// Index of `address` in the table at `level` (4 = L4 ... 1 = L1).
constexpr unsigned index(uint64_t address, unsigned level) {
    return static_cast<unsigned>((address >> (12 + 9 * (level - 1))) & (entries_per_table - 1));
}

// Where the L1 entry for a virtual address lives.
struct L1Slot {
    uint64_t l1_mfn;
    uint64_t machine_address;        // for MMU_NORMAL_PT_UPDATE
    const volatile uint64_t* entry;  // read-only view through the initial mapping
};

// Walks from start_info.pt_base: each entry names a machine frame, the M2P
// turns it into a pseudo-physical frame, and the initial mapping gives its
// virtual address. Fails (with a reason) on a missing level, a superpage,
// or a table outside the boot page-table frames.
bool find_l1_slot(uint64_t virtual_address, L1Slot& slot, const char** failure);

// The L4 (top-level) table: its virtual address and machine frame.
const volatile uint64_t* top_level_table();
uint64_t top_level_mfn();

}  // namespace pt
