#include "address_space.hpp"

#include "../lib/page_table.hpp"
#include "../lib/panic.hpp"
#include "cpus.hpp"
#include "frames.hpp"

// Hypercall economy: a direct-map remap is itself a page-table update, so
// creating tables (remap read-only, then link), unmapping (clear entries,
// unlink emptied tables, remap them writable) and tearing down go out as
// one mmu_update batch each instead of one hypercall per frame; a fork
// builds the child's tables as ordinary memory and lets one PIN_L4_TABLE
// validate them all.

namespace vm {
namespace {

constexpr unsigned user_l4_slots = 256;         // slots 0..255: the lower canonical half
constexpr unsigned first_kernel_l4_slot = 272;  // 256..271 belong to the monitor

uint64_t kernel_l4 = 0;
bool share_user_l4 = false;
AddressSpace* current_space[cpus::max_cpus];  // per vCPU; null: the boot L4

bool has_user_l4(const AddressSpace& space) { return space.user_l4_pfn != space.l4_pfn; }

const volatile uint64_t* table(uint64_t pfn) { return static_cast<const volatile uint64_t*>(frames::pointer(pfn)); }
uint64_t* writable_table(uint64_t pfn) { return static_cast<uint64_t*>(frames::pointer(pfn)); }

uint64_t target_pfn(uint64_t entry) {
    uint64_t pfn = frames::pfn_of_mfn(pt::mfn_of(entry));
    if (pfn == frames::none)
        panic("page-table entry %#lx names a frame that is not ours", entry);
    return pfn;
}

constexpr uint64_t span_of(unsigned level) { return uint64_t{1} << (12 + 9 * (level - 1)); }
constexpr unsigned slots_of(unsigned level) { return level == 4 ? user_l4_slots : pt::entries_per_table; }

// The L1 for `address`; missing tables are created when `batch` is given
// (remapped read-only and linked through it; the caller flushes it before
// walking again). none if absent or out of memory.
uint64_t l1_for(const AddressSpace& space, uint64_t address, mmu::UpdateBatch* batch) {
    // All read-only remaps go before all links: the monitor then flushes
    // the dropped writable mappings once, not once per new table.
    struct Link {
        uint64_t entry_address, value;
    } links[4];
    unsigned link_count = 0;
    uint64_t pfn = space.l4_pfn;
    bool created = false;
    for (unsigned level = 4; level > 1; --level) {
        const unsigned i = pt::index(address, level);
        const uint64_t e = created ? 0 : table(pfn)[i];
        if ((e & pt::present) != 0) {
            pfn = target_pfn(e);
            continue;
        }
        const uint64_t fresh = batch != nullptr ? frames::allocate_zeroed() : frames::none;
        if (fresh == frames::none) {
            pfn = frames::none;  // the tables made so far are still linked (empty, freed with the space)
            break;
        }
        batch->remap(fresh, false);
        const uint64_t value = pt::entry(frames::mfn(fresh), table_link);
        links[link_count++] = Link{mmu::entry_address(pfn, i), value};
        if (level == 4 && has_user_l4(space))
            links[link_count++] = Link{mmu::entry_address(space.user_l4_pfn, i), value};
        pfn = fresh;
        created = true;
    }
    for (unsigned k = 0; k < link_count; ++k)
        batch->add(links[k].entry_address, links[k].value);
    return pfn;
}

// Frames that left the tree: page tables (remapped writable in the same
// batch as their unlinking) and the pages they mapped. Both are freed only
// after the TLB flush: another vCPU running the space may still reach a
// page through its TLB until then, and a freed frame is written at once
// (the free list's link) and soon reused.
struct Unlinked {
    static constexpr unsigned capacity = 64;
    uint64_t tables[capacity];
    unsigned count = 0;
    uint64_t pages[capacity];
    unsigned page_count = 0;
    // The vCPUs whose TLB may hold what was unmapped (the space's mask).
    // Unlinked tables are flushed from this vCPU's paging-structure caches
    // too before they are reused.
    uint64_t flush_vcpus = 0;
};

void free_unlinked(mmu::UpdateBatch& batch, Unlinked& unlinked) {
    for (unsigned i = 0; i < unlinked.count; ++i)
        batch.remap(unlinked.tables[i], true);
    batch.flush();
    uint64_t flush_vcpus = unlinked.flush_vcpus;
    if (unlinked.count != 0)
        flush_vcpus |= cpus::bit(cpus::self());
    mmu::flush_tlb_on(flush_vcpus);
    for (unsigned i = 0; i < unlinked.count; ++i)
        frames::put(unlinked.tables[i]);
    for (unsigned i = 0; i < unlinked.page_count; ++i)
        frames::put(unlinked.pages[i]);
    unlinked.count = 0;
    unlinked.page_count = 0;
}

void note_unlinked(mmu::UpdateBatch& batch, Unlinked& unlinked, uint64_t pfn) {
    if (unlinked.count == Unlinked::capacity)
        free_unlinked(batch, unlinked);
    unlinked.tables[unlinked.count++] = pfn;
}

void note_unmapped_page(mmu::UpdateBatch& batch, Unlinked& unlinked, uint64_t pfn) {
    if (unlinked.page_count == Unlinked::capacity)
        free_unlinked(batch, unlinked);
    unlinked.pages[unlinked.page_count++] = pfn;
}

// Clears the entries of [start, end) below this table. Returns true when
// the table is left without present entries (and may be unlinked), judged
// from what was cleared, since the batch is not applied yet.
bool unmap_in_table(const AddressSpace& space, uint64_t table_pfn, unsigned level, uint64_t base, uint64_t start,
                    uint64_t end, mmu::UpdateBatch& batch, Unlinked& unlinked) {
    unsigned remaining = 0;
    for (unsigned i = 0; i < slots_of(level); ++i) {
        const uint64_t e = table(table_pfn)[i];
        if ((e & pt::present) == 0)
            continue;
        const uint64_t from = base + i * span_of(level), to = from + span_of(level);
        if (to <= start || end <= from) {
            ++remaining;
            continue;
        }
        const uint64_t target = target_pfn(e);
        if (level > 1 && !unmap_in_table(space, target, level - 1, from, start, end, batch, unlinked)) {
            ++remaining;
            continue;
        }
        batch.add(mmu::entry_address(table_pfn, i), 0);
        if (level == 4 && has_user_l4(space))
            batch.add(mmu::entry_address(space.user_l4_pfn, i), 0);
        if (level == 1)
            note_unmapped_page(batch, unlinked, target);
        else
            note_unlinked(batch, unlinked, target);
    }
    return remaining == 0;
}

// After the L4 is unpinned (the monitor dropped the tree's types): frees
// every user frame and collects the table frames.
void free_subtree(uint64_t table_pfn, unsigned level, mmu::UpdateBatch& batch, Unlinked& unlinked) {
    for (unsigned i = 0; i < slots_of(level); ++i) {
        const uint64_t e = table(table_pfn)[i];
        if ((e & pt::present) == 0)
            continue;
        if (level == 1)
            frames::put(target_pfn(e));
        else
            free_subtree(target_pfn(e), level - 1, batch, unlinked);
    }
    note_unlinked(batch, unlinked, table_pfn);
}

// Fork: a copy of the parent's table at `level`, written as ordinary
// memory; once complete, its frame is queued in `new_tables` for the
// read-only remap. Writable leaves become read-only in the parent too.
uint64_t clone_table(uint64_t parent_pfn, unsigned level, mmu::UpdateBatch& parent_updates,
                     mmu::UpdateBatch& new_tables) {
    const uint64_t copy = frames::allocate_zeroed();  // available: checked by the caller
    uint64_t* out = writable_table(copy);
    for (unsigned i = 0; i < slots_of(level); ++i) {
        uint64_t e = table(parent_pfn)[i];
        if ((e & pt::present) == 0)
            continue;
        if (level > 1) {
            const uint64_t below = clone_table(target_pfn(e), level - 1, parent_updates, new_tables);
            out[i] = pt::entry(frames::mfn(below), table_link);
            continue;
        }
        if ((e & pt::writable) != 0) {
            e &= ~pt::writable;
            parent_updates.add(mmu::entry_address(parent_pfn, i), e);
        }
        frames::get(target_pfn(e));
        out[i] = e;
    }
    new_tables.remap(copy, false);  // complete: the batch may apply it any time now
    return copy;
}

void count_subtree(uint64_t table_pfn, unsigned level, Usage& usage) {
    ++usage.tables;
    for (unsigned i = 0; i < slots_of(level); ++i) {
        const uint64_t e = table(table_pfn)[i];
        if ((e & pt::present) == 0)
            continue;
        if (level == 1)
            ++usage.pages;
        else
            count_subtree(target_pfn(e), level - 1, usage);
    }
}

// A new L4 with the kernel's entries, still writable and unpinned.
uint64_t new_l4() {
    const uint64_t pfn = frames::allocate_zeroed();
    if (pfn == frames::none)
        return pfn;
    uint64_t* l4 = writable_table(pfn);
    const volatile uint64_t* kernel = table(kernel_l4);
    for (unsigned i = first_kernel_l4_slot; i < pt::entries_per_table; ++i)
        l4[i] = kernel[i];
    return pfn;
}

}  // namespace

void init_kernel_space(uint64_t boot_l4_pfn, bool shared_user_l4) {
    kernel_l4 = boot_l4_pfn;
    share_user_l4 = shared_user_l4;
}

bool create(AddressSpace& space) {
    const uint64_t pfn = new_l4();
    if (pfn == frames::none)
        return false;
    // The monitor fills its own slots of the user L4.
    const uint64_t user_pfn = share_user_l4 ? pfn : frames::allocate_zeroed();
    if (user_pfn == frames::none) {
        frames::put(pfn);
        return false;
    }
    mmu::UpdateBatch batch;
    batch.remap(pfn, false);
    if (user_pfn != pfn)
        batch.remap(user_pfn, false);
    batch.flush();
    mmu::pin(4, pfn);
    if (user_pfn != pfn)
        mmu::pin(4, user_pfn);
    space.l4_pfn = pfn;
    space.user_l4_pfn = user_pfn;
    return true;
}

void destroy(AddressSpace& space) {
    if (space.cpu_mask != 0)
        panic("destroying an address space loaded on vCPUs %#lx", space.cpu_mask);
    // Unpinning drops the last type reference: the monitor devalidates the
    // tree, so every table frame may be mapped writable again.
    mmu::UpdateBatch batch;
    Unlinked tables;
    if (has_user_l4(space)) {
        mmu::unpin(space.user_l4_pfn);
        note_unlinked(batch, tables, space.user_l4_pfn);
    }
    mmu::unpin(space.l4_pfn);
    free_subtree(space.l4_pfn, 4, batch, tables);
    free_unlinked(batch, tables);
    space.l4_pfn = space.user_l4_pfn = 0;
}

const volatile uint64_t* find_entry(const AddressSpace& space, uint64_t address) {
    const uint64_t l1 = l1_for(space, address, nullptr);
    return l1 == frames::none ? nullptr : &table(l1)[pt::index(address, 1)];
}

bool ensure_tables(const AddressSpace& space, uint64_t address) {
    mmu::UpdateBatch batch;
    return l1_for(space, address, &batch) != frames::none;
}

void set_entry(const AddressSpace& space, uint64_t address, uint64_t entry) {
    if (is_current(space)) {
        mmu::set_current_mapping(address, entry, space.cpu_mask);
        return;
    }
    const uint64_t l1 = l1_for(space, address, nullptr);
    if (l1 == frames::none)
        panic("set_entry(%#lx): no L1", address);
    mmu::write_entry(mmu::entry_address(l1, pt::index(address, 1)), entry);
    mmu::invalidate_page_on(space.cpu_mask, address);
}

bool populate(const AddressSpace& space, uint64_t address, bool writable) {
    const uint64_t pfn = frames::allocate_zeroed();
    if (pfn == frames::none)
        return false;
    // Tables and the leaf in one mmu_update. A not-present entry is never
    // cached, so making it present needs no flush.
    mmu::UpdateBatch batch;
    const uint64_t l1 = l1_for(space, address, &batch);
    if (l1 == frames::none) {
        frames::put(pfn);
        return false;
    }
    batch.add(mmu::entry_address(l1, pt::index(address, 1)), pt::entry(frames::mfn(pfn), writable ? user_rw : user_ro));
    return true;
}

void unmap_range(const AddressSpace& space, uint64_t start, uint64_t end) {
    if (start >= end)
        return;
    mmu::UpdateBatch batch;
    Unlinked tables;
    tables.flush_vcpus = space.cpu_mask;
    unmap_in_table(space, space.l4_pfn, 4, 0, start, end, batch, tables);
    free_unlinked(batch, tables);
}

bool copy_on_write_clone(const AddressSpace& parent, AddressSpace& child) {
    // Checked up front, so the copy below cannot fail half-way.
    if (frames::free_count() < usage(parent).tables + 1)
        return false;
    const uint64_t l4 = new_l4(), user_l4 = share_user_l4 ? l4 : frames::allocate_zeroed();
    mmu::UpdateBatch parent_updates, new_tables;
    uint64_t* out = writable_table(l4);
    uint64_t* user_out = writable_table(user_l4);
    for (unsigned i = 0; i < user_l4_slots; ++i) {
        const uint64_t e = table(parent.l4_pfn)[i];
        if ((e & pt::present) != 0)
            out[i] = user_out[i] =
                pt::entry(frames::mfn(clone_table(target_pfn(e), 3, parent_updates, new_tables)), table_link);
    }
    new_tables.remap(l4, false);
    if (user_l4 != l4)
        new_tables.remap(user_l4, false);
    new_tables.flush();
    mmu::pin(4, l4);  // validates the whole new tree
    if (user_l4 != l4)
        mmu::pin(4, user_l4);
    child.l4_pfn = l4;
    child.user_l4_pfn = user_l4;
    parent_updates.flush();
    mmu::flush_tlb_on(parent.cpu_mask);  // the parent's writable entries became read-only
    return true;
}

Usage usage(const AddressSpace& space) {
    Usage u{};
    count_subtree(space.l4_pfn, 4, u);
    return u;
}

void set_current(AddressSpace* space) {
    const unsigned self = cpus::self();
    AddressSpace* previous = current_space[self];
    if (previous == space)
        return;
    // Out of the old mask only once off its L4 (the switch flushes).
    if (space != nullptr)
        mmu::switch_base(space->l4_pfn, space->user_l4_pfn);
    else
        mmu::switch_base(kernel_l4, frames::none);
    if (previous != nullptr)
        previous->cpu_mask &= ~cpus::bit(self);
    if (space != nullptr)
        space->cpu_mask |= cpus::bit(self);
    current_space[self] = space;
}

bool is_current(const AddressSpace& space) { return current_space[cpus::self()] == &space; }

}  // namespace vm
