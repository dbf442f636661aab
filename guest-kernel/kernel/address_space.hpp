// A process's page tables, Xen PV style: two pinned L4s. The kernel L4
// (kernel base pointer) holds the kernel's L4 entries (shared L3s, so
// kernel mappings are the same everywhere) and the user half (slots
// 0..255); the user L4 (user base pointer) holds only the user half, so
// user mode cannot reach kernel memory (the monitor forces _PAGE_USER on
// every guest entry, so page protection alone would not stop it). Both L4s
// point to the same L3s: only L4 entries are written twice. Tables below
// are built on demand from frames of the allocator.
#pragma once

#include <stdint.h>

#include "mmu.hpp"

namespace vm {

struct AddressSpace {
    uint64_t l4_pfn = 0;       // kernel base pointer
    uint64_t user_l4_pfn = 0;  // user base pointer
    // The vCPUs that have it loaded now (Linux's mm_cpumask): the ones whose
    // TLB may hold its translations, so every change that needs a flush
    // (munmap, copy-on-write, fork making pages read-only) flushes all of
    // them. A vCPU that loads another L4 leaves the mask: the base-pointer
    // switch flushes its TLB (and every PCID, on an SMP domain).
    uint64_t cpu_mask = 0;
};

// User leaf entries (the monitor forces _PAGE_USER anyway for 64-bit PV).
constexpr uint64_t user_rw = 0x1 | 0x2 | 0x4 | 0x20 | 0x40;
constexpr uint64_t user_ro = 0x1 | 0x4 | 0x20;
// Entries pointing to lower-level tables.
constexpr uint64_t table_link = 0x1 | 0x2 | 0x4 | 0x20;

// Remembers the boot L4 (the kernel's own address space). With
// `shared_user_l4` every process uses its kernel L4 as user base pointer
// too (no kernel/user page-table switch on entries and exits, but user
// mode can then reach kernel memory): a knob for measuring that switch.
void init_kernel_space(uint64_t boot_l4_pfn, bool shared_user_l4);

bool create(AddressSpace& space);
// Frees every user frame and page table; `space` must not be current.
void destroy(AddressSpace& space);

// The L1 entry for `address` (read-only view through the direct map), or
// null when a table on the way is missing.
const volatile uint64_t* find_entry(const AddressSpace& space, uint64_t address);
// Creates missing L3/L2/L1 tables on the way to `address`; false when
// memory is exhausted.
bool ensure_tables(const AddressSpace& space, uint64_t address);

// Writes the L1 entry of `address` (tables must exist), flushing it from
// the TLB of every vCPU that has `space` loaded.
void set_entry(const AddressSpace& space, uint64_t address, uint64_t entry);

// Maps a fresh zeroed frame (demand paging); false when out of memory.
bool populate(const AddressSpace& space, uint64_t address, bool writable);

// Unmaps [start, end), drops the frames, and frees page tables that became
// empty (L1..L3, clearing their L2..L4 entries).
void unmap_range(const AddressSpace& space, uint64_t start, uint64_t end);

// Fork: gives `child` (no address space yet) pinned L4s sharing every
// user page of `parent` read-only, the writable ones becoming copy-on-write
// in both. False when out of memory.
bool copy_on_write_clone(const AddressSpace& parent, AddressSpace& child);

// User pages mapped and page-table frames in use (the kernel L4 and the
// tree below it; fork checks it has that many frames).
struct Usage {
    uint64_t pages, tables;
};
Usage usage(const AddressSpace& space);

// This vCPU's base pointers: `space` (null: the kernel's boot L4). Loading
// the one already loaded costs nothing.
void set_current(AddressSpace* space);
bool is_current(const AddressSpace& space);

}  // namespace vm
