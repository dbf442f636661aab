// What Debian's stock kernel needs in its first second, each with Xen's
// behaviour (../shared/docs/linux-pv.md has the order it hit them):
// XENVER_get_features bits; MMU_PT_UPDATE_PRESERVE_AD; control-register
// reads and writes; mmu_update on a frame that is not a page table (Linux
// writes the PTEs of an mm it has not pinned yet that way); writes through
// the read-only mapping of an L1 table (VMASST_TYPE_writable_pagetables,
// which Linux's ptep_get_and_clear and clear_bit rely on); the virtual IOPL that makes cli/sti (no effect) and
// port I/O (no devices: all ones; the 0xcf8 latch) legal; the MSRs Linux
// reads; the PV CPUID policy; SEGBASE_GS_USER_SEL with a GDT selector.
#include <stdint.h>
#include <xen/features.h>
#include <xen/memory.h>
#include <xen/physdev.h>

#include "../lib/fault_probe.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/physmap.hpp"
#include "../lib/shared_info.hpp"
#include "fault_checks.hpp"
#include "mmu_helpers.hpp"
#include "subtest.hpp"

extern "C" char gdt_page[], new_l4[];

namespace {

constexpr uint32_t kMsrApicBase = 0x1b, kMsrPat = 0x277, kMsrEfer = 0xc0000080, kMsrShadowGsBase = 0xc0000102;

uint64_t read_cr0() {
    uint64_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
uint64_t read_cr4() {
    uint64_t v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
void write_cr0_probe(uint64_t v) { asm volatile("1: mov %0, %%cr0\n2:\n\t" PROBE_FIXUP_ENTRY("1b", "2b")::"r"(v)); }
void write_cr4(uint64_t v) { asm volatile("mov %0, %%cr4" ::"r"(v)); }
void cli_probe() { asm volatile("1: cli\n2:\n\t" PROBE_FIXUP_ENTRY("1b", "2b")::: "memory"); }
void sti() { asm volatile("sti" ::: "memory"); }
uint8_t inb(uint16_t port) {
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
uint16_t inw(uint16_t port) {
    uint16_t v;
    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
uint32_t inl(uint16_t port) {
    uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
void outl(uint32_t v, uint16_t port) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}
void wrmsr_probe(uint32_t msr, uint64_t v) {
    asm volatile("1: wrmsr\n2:\n\t" PROBE_FIXUP_ENTRY("1b", "2b")::"c"(msr), "a"(static_cast<uint32_t>(v)),
                 "d"(static_cast<uint32_t>(v >> 32))
                 : "memory");
}
long set_iopl(unsigned iopl) {
    physdev_set_iopl_t op{};
    op.iopl = iopl;
    return hv::call<__HYPERVISOR_physdev_op>(PHYSDEVOP_set_iopl, physmap::address_of(&op));
}

Outcome features() {
    xen_feature_info_t f{};
    f.submap_idx = 0;
    long rc = hv::xen_version(XENVER_get_features, &f);
    REQUIRE(rc == 0, "XENVER_get_features(0) returned %ld", rc);
    static constexpr unsigned kRequired[] = {XENFEAT_mmu_pt_update_preserve_ad, XENFEAT_gnttab_map_avail_bits,
                                             XENFEAT_highmem_assist};
    for (unsigned bit : kRequired)
        REQUIRE(f.submap & (1u << bit), "feature %u missing from submap %#x (Linux panics without it)", bit, f.submap);
    f.submap_idx = 1;
    rc = hv::xen_version(XENVER_get_features, &f);
    REQUIRE(rc < 0, "XENVER_get_features(1) returned %ld, Xen has no submap 1", rc);
    return passed();
}

// The CPU sets accessed and dirty in the window's L1 entry; a PRESERVE_AD
// update without them keeps them, a normal one does not.
Outcome preserve_ad() {
    const uint64_t window = mmu::address(window_b);
    pt::L1Slot slot{};
    const char* why = "";
    REQUIRE(pt::find_l1_slot(window, slot, &why), "walking the page tables for %#lx: %s", window, why);
    const uint64_t original = *slot.entry;
    mmu::word(window) = 0x5a5a;  // sets A and D
    constexpr uint64_t kAd = pt::accessed | pt::dirty;
    REQUIRE((*slot.entry & kAd) == kAd, "the CPU did not set A and D in %#lx", *slot.entry);
    mmu_update_t request{};
    request.ptr = slot.machine_address | MMU_PT_UPDATE_PRESERVE_AD;
    request.val = original & ~kAd;
    unsigned done = 0;
    long rc = hv::mmu_update(&request, 1, &done, DOMID_SELF);
    const uint64_t preserved = *slot.entry;
    REQUIRE(rc == 0 && done == 1, "MMU_PT_UPDATE_PRESERVE_AD returned %ld, %u done", rc, done);
    REQUIRE((preserved & kAd) == kAd, "PRESERVE_AD lost A/D: %#lx", preserved);
    rc = mmu::write_pte(slot.machine_address, original & ~kAd, &done);
    const uint64_t plain = *slot.entry;
    REQUIRE(rc == 0 && (plain & kAd) == 0, "a normal update returned %ld and left %#lx", rc, plain);
    REQUIRE(mmu::mmuext(MMUEXT_INVLPG_LOCAL, window) == 0, "INVLPG");
    return passed();
}

// Xen's do_mmu_update on a frame of no page-table type takes it as a
// writable page and stores the value as it is (no validation, no flags
// added): Linux's set_pte on an mm not yet pinned (exec's new mm) does
// that. A frame typed otherwise (a descriptor table in use) is refused.
// Refusing the plain frame left Linux's exec faulting on the same PTE
// forever, each retry allocating a new page (linux-pv.md's OOM panic).
Outcome update_ordinary_frame() {
    const uint64_t va = mmu::address(scratch_page), mfn = physmap::virt_to_mfn(va);
    constexpr unsigned kIndex = 3;
    constexpr uint64_t kValue = 0x0000000123456063;  // a PTE's look, without _PAGE_USER
    mmu::word(va + kIndex * 8) = 0;
    unsigned done = 0;
    long rc = mmu::write_pte((mfn << 12) + kIndex * 8, kValue, &done);
    const uint64_t stored = mmu::word(va + kIndex * 8);
    REQUIRE(rc == 0 && done == 1, "mmu_update on an ordinary frame returned %ld, %u done (Xen writes it)", rc, done);
    REQUIRE(stored == kValue, "mmu_update on an ordinary frame stored %#lx, not %#lx as given", stored, kValue);

    const uint64_t gdt_va = mmu::address(gdt_page), gdt_mfn = physmap::virt_to_mfn(gdt_va);
    auto* gdt = reinterpret_cast<uint64_t*>(gdt_page);
    for (unsigned i = 0; i < 512; ++i)
        gdt[i] = 0;
    REQUIRE(mmu::map_page(gdt_va, pt::entry(gdt_mfn, pt::kernel_ro)) == 0, "GDT page read-only");
    unsigned long frames[1] = {gdt_mfn};
    const long set = hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 7);
    done = 0;
    rc = mmu::write_pte((gdt_mfn << 12) + 5 * 8, 0x00cffb000000ffff, &done);
    const uint64_t entry = gdt[5];
    hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 0);
    REQUIRE(mmu::restore_window(gdt_page) == 0, "GDT page writable again");
    REQUIRE(set == 0, "set_gdt returned %ld", set);
    REQUIRE(rc < 0 && done == 0 && entry == 0, "mmu_update into the GDT in use returned %ld (%u done), entry %#lx", rc,
            done, entry);
    return passed();
}

long writable_pagetables(unsigned cmd) {
    return hv::call<__HYPERVISOR_vm_assist>(cmd, VMASST_TYPE_writable_pagetables);
}

// The instructions Linux writes PTEs with, on the window's L1 entry
// through the table's read-only mapping: each is performed as a validated
// update, with the instruction's register and flag results.
Outcome page_table_writes() {
    const uint64_t window = mmu::address(window_b);
    pt::L1Slot slot{};
    const char* why = "";
    REQUIRE(pt::find_l1_slot(window, slot, &why), "walking the page tables for %#lx: %s", window, why);
    auto* entry = const_cast<volatile uint64_t*>(slot.entry);
    const uint64_t original = *entry;
    const uint64_t spare = pt::entry(physmap::virt_to_mfn(mmu::address(window_a)), pt::kernel_rw);

    traps::Fault f =
        traps::catch_fault(traps::page_fault, [&] { probe::write_u64(reinterpret_cast<uint64_t>(entry), 0); });
    REQUIRE(f.taken && *entry == original, "a write to an L1 table without the assist did not fault");
    REQUIRE(writable_pagetables(VMASST_CMD_enable) == 0, "vm_assist(enable, writable_pagetables) refused");

    *entry = spare;  // mov
    const uint64_t after_mov = *entry;
    uint64_t old = 0;
    asm volatile("xchg %0, (%1)" : "=r"(old) : "r"(entry), "0"(original) : "memory");
    const uint64_t after_xchg = *entry;
    uint64_t expected = original + 1;  // a cmpxchg that fails: rax gets the entry, ZF clear
    bool swapped = true;
    asm volatile("lock cmpxchg %3, (%2)" : "+a"(expected), "=@ccz"(swapped) : "r"(entry), "r"(spare) : "memory");
    REQUIRE(!swapped && expected == original, "failed cmpxchg: ZF %d, rax %#lx (entry %#lx)", swapped, expected,
            original);
    asm volatile("lock cmpxchg %3, (%2)" : "+a"(expected), "=@ccz"(swapped) : "r"(entry), "r"(spare) : "memory");
    const uint64_t after_cmpxchg = *entry;
    asm volatile("lock andb %1, (%0)" ::"r"(entry), "i"(static_cast<uint8_t>(~pt::writable))
                 : "memory");  // clear_bit(RW)
    const uint64_t after_and = *entry;
    bool was_accessed = false;
    asm volatile("lock btrq $5, (%1)" : "=@ccc"(was_accessed) : "r"(entry) : "memory");  // test_and_clear_young
    const uint64_t after_btr = *entry;
    // A writable mapping of a page table (the L1 itself) is refused: the
    // guest gets its page fault and the entry stays.
    const uint64_t self_rw = pt::entry(slot.l1_mfn, pt::kernel_rw);
    f = traps::catch_fault(traps::page_fault, [&] { probe::write_u64(reinterpret_cast<uint64_t>(entry), self_rw); });
    const uint64_t after_refused = *entry;
    unsigned done = 0;
    const long restored = mmu::write_pte(slot.machine_address, original, &done);
    REQUIRE(mmu::mmuext(MMUEXT_INVLPG_LOCAL, window) == 0, "INVLPG");
    REQUIRE(writable_pagetables(VMASST_CMD_disable) == 0, "vm_assist(disable, writable_pagetables) refused");

    REQUIRE(pt::mfn_of(after_mov) == pt::mfn_of(spare), "mov stored %#lx, not %#lx", after_mov, spare);
    REQUIRE(old == after_mov && after_xchg == original, "xchg returned %#lx (%#lx) and left %#lx", old, after_mov,
            after_xchg);
    REQUIRE(swapped && pt::mfn_of(after_cmpxchg) == pt::mfn_of(spare), "cmpxchg: ZF %d, entry %#lx", swapped,
            after_cmpxchg);
    REQUIRE(!(after_and & pt::writable) && pt::mfn_of(after_and) == pt::mfn_of(spare), "lock and left %#lx", after_and);
    REQUIRE(was_accessed == ((after_and & pt::accessed) != 0) && !(after_btr & pt::accessed),
            "btr: CF %d for %#lx, left %#lx", was_accessed, after_and, after_btr);
    REQUIRE(f.taken && after_refused == after_btr, "a writable mapping of the L1 itself was written (%#lx)",
            after_refused);
    REQUIRE(restored == 0, "restoring the window's entry returned %ld", restored);
    return passed();
}

// Linux's switch away from the boot page tables: the L4 in use is unpinned
// (the base pointer keeps it), the base pointer moves on, and the old L4's
// tables become plain pages the guest reuses. XPTI must forget every
// restricted root copied from that L4. Here the released L4 had a slot
// pointing to an L3 that the guest then turns into a 1 GiB mapping of
// physical 0 (the monitor's memory); the same frame pinned again as an L4
// without that slot must not bring the old slot back through a cached
// restricted root (as it did when the L4 was released before the switch).
Outcome released_base_pointer() {
    constexpr unsigned kSlot = 200;
    constexpr uint64_t kSlotVa = static_cast<uint64_t>(kSlot) << 39;
    const auto* current = reinterpret_cast<const uint64_t*>(setup().info->pt_base);
    REQUIRE(current[kSlot] == 0, "L4 slot %u is in use (%#lx)", kSlot, current[kSlot]);
    auto* l4 = reinterpret_cast<uint64_t*>(new_l4);
    auto* l3 = reinterpret_cast<uint64_t*>(window_a);
    for (unsigned i = 0; i < 512; ++i) {
        l4[i] = (i >= 256 && i < 272) ? 0 : current[i];  // Xen's slots are the hypervisor's
        l3[i] = 0;
    }
    const uint64_t old_mfn = physmap::virt_to_mfn(setup().info->pt_base);
    const uint64_t l4_mfn = physmap::virt_to_mfn(mmu::address(new_l4));
    const uint64_t l3_mfn = physmap::virt_to_mfn(mmu::address(window_a));
    l4[kSlot] = pt::entry(l3_mfn, pt::kernel_rw);
    REQUIRE(mmu::map_page(mmu::address(window_a), pt::entry(l3_mfn, pt::kernel_ro)) == 0, "L3 read-only");
    REQUIRE(mmu::map_page(mmu::address(new_l4), pt::entry(l4_mfn, pt::kernel_ro)) == 0, "L4 read-only");
    REQUIRE(mmu::mmuext_mfn(MMUEXT_PIN_L4_TABLE, l4_mfn) == 0, "pinning the new L4");
    REQUIRE(mmu::mmuext_mfn(MMUEXT_NEW_BASEPTR, l4_mfn) == 0, "NEW_BASEPTR(new L4)");
    uint64_t through_slot = 0;  // an empty L3: a fault (and XPTI copied the slot into its root)
    traps::Fault empty =
        traps::catch_fault(traps::page_fault, [&] { through_slot = probe::read_u64(kSlotVa, 0x5107); });
    REQUIRE(mmu::mmuext_mfn(MMUEXT_UNPIN_TABLE, l4_mfn) == 0, "unpinning the L4 in use");
    REQUIRE(mmu::mmuext_mfn(MMUEXT_NEW_BASEPTR, old_mfn) == 0, "NEW_BASEPTR(old L4)");  // the new one is released

    // Both frames are plain pages now: mmu_update writes them as given.
    unsigned done = 0;
    constexpr uint64_t kGigabyteAtZero = pt::present | pt::writable | pt::user | (1u << 7);
    REQUIRE(mmu::write_pte(l3_mfn << 12, kGigabyteAtZero, &done) == 0, "writing the released L3");
    REQUIRE(mmu::write_pte((l4_mfn << 12) + kSlot * 8, 0, &done) == 0, "clearing the slot of the released L4");
    REQUIRE(mmu::mmuext_mfn(MMUEXT_PIN_L4_TABLE, l4_mfn) == 0, "pinning the frame again as an L4");
    REQUIRE(mmu::mmuext_mfn(MMUEXT_NEW_BASEPTR, l4_mfn) == 0, "NEW_BASEPTR(the frame again)");
    uint64_t leaked = 0;
    traps::Fault f = traps::catch_fault(traps::page_fault, [&] { leaked = probe::read_u64(kSlotVa, 0x5107); });
    REQUIRE(mmu::mmuext_mfn(MMUEXT_NEW_BASEPTR, old_mfn) == 0, "NEW_BASEPTR(old L4) again");
    REQUIRE(mmu::mmuext_mfn(MMUEXT_UNPIN_TABLE, l4_mfn) == 0, "unpinning the frame");
    REQUIRE(mmu::write_pte(l3_mfn << 12, 0, &done) == 0, "clearing the L3 page");
    REQUIRE(mmu::restore_window(new_l4) == 0 && mmu::restore_window(window_a) == 0, "pages writable again");
    REQUIRE(empty.taken && through_slot == 0x5107, "the empty L3 of slot %u read %#lx", kSlot, through_slot);
    REQUIRE(f.taken && leaked == 0x5107,
            "physical 0 (monitor memory) readable at %#lx through a restricted root kept from the released L4: "
            "read %#lx",
            kSlotVa, leaked);
    return passed();
}

// XENMEM_memory_map: the one RAM entry libxl gives every PV domU.
Outcome memory_map() {
    struct [[gnu::packed]] E820Entry {
        uint64_t addr, size;
        uint32_t type;
    } entries[4] = {};
    xen_memory_map_t map{};
    map.nr_entries = 4;
    set_xen_guest_handle(map.buffer, entries);
    long rc = hv::memory_op(XENMEM_memory_map, &map);
    const uint64_t ram = physmap::nr_pages() << 12;
    REQUIRE(rc == 0 && map.nr_entries == 1, "XENMEM_memory_map returned %ld with %u entries", rc, map.nr_entries);
    REQUIRE(entries[0].addr == 0 && entries[0].size == ram && entries[0].type == 1,
            "the map's entry is %#lx+%#lx type %u, not RAM 0+%#lx", entries[0].addr, entries[0].size, entries[0].type,
            ram);
    map.nr_entries = 0;
    rc = hv::memory_op(XENMEM_memory_map, &map);
    REQUIRE(rc == 0 && map.nr_entries == 0, "XENMEM_memory_map with no room returned %ld, %u entries", rc,
            map.nr_entries);
    return passed();
}

Outcome control_registers() {
    const uint64_t cr0 = read_cr0();
    REQUIRE((cr0 & 0x80000001) == 0x80000001, "CR0 %#lx lacks PG and PE", cr0);
    REQUIRE(hv::call<__HYPERVISOR_fpu_taskswitch>(1) == 0, "fpu_taskswitch(1)");
    REQUIRE(read_cr0() & 8, "CR0.TS clear after fpu_taskswitch(1): %#lx", read_cr0());
    asm volatile("clts");
    REQUIRE(!(read_cr0() & 8), "CR0.TS set after clts: %#lx", read_cr0());
    traps::Fault f = traps::catch_fault(traps::general_protection, [&] { write_cr0_probe(cr0 & ~(1ull << 16)); });
    REQUIRE(f.taken, "clearing CR0.WP did not fault (Xen lets only TS change)");
    f = traps::catch_fault(traps::general_protection, [&] { write_cr0_probe(cr0 | 8); });
    REQUIRE(!f.taken && (read_cr0() & 8), "setting CR0.TS by mov faulted or did not stick (%#lx)", read_cr0());
    write_cr0_probe(cr0);

    // CR4: Xen's visible bits of the real one; PGE, PCIDE, SMEP never.
    const uint64_t cr4 = read_cr4();
    REQUIRE((cr4 & ((1u << 7) | (1u << 17) | (1u << 20))) == 0, "CR4 %#lx shows PGE, PCIDE or SMEP", cr4);
    REQUIRE(cr4 & (1u << 5), "CR4 %#lx lacks PAE", cr4);
    write_cr4(cr4 | (1u << 2) | (1u << 7));  // TSD is the guest's, PGE is not
    const uint64_t after = read_cr4();
    write_cr4(cr4);
    REQUIRE((after & (1u << 2)) && !(after & (1u << 7)), "CR4 %#lx after setting TSD and PGE", after);
    return passed();
}

Outcome iopl() {
    traps::Fault f = traps::catch_fault(traps::general_protection, [] { cli_probe(); });
    REQUIRE(f.taken, "cli without IOPL did not fault");
    REQUIRE(set_iopl(4) < 0, "PHYSDEVOP_set_iopl(4) accepted");
    REQUIRE(set_iopl(1) == 0, "PHYSDEVOP_set_iopl(1) failed");
    const uint8_t mask_before = xen_shared::vcpu0()->evtchn_upcall_mask;
    f = traps::catch_fault(traps::general_protection, [] { cli_probe(); });
    const uint8_t mask = xen_shared::vcpu0()->evtchn_upcall_mask;
    sti();
    const bool ones = inb(0x80) == 0xff && inw(0x80) == 0xffff && inl(0x71) == 0xffffffff;
    outl(0x80001234, 0xcf8);
    const uint32_t latch = inl(0xcf8);
    outl(0, 0xcf8);
    REQUIRE(set_iopl(0) == 0, "PHYSDEVOP_set_iopl(0) failed");
    REQUIRE(!f.taken, "cli with IOPL 1 faulted");
    REQUIRE(mask == mask_before, "cli changed the event mask (Xen's cli has no effect)");
    REQUIRE(ones, "port reads without a device did not give all ones");
    REQUIRE(latch == 0x80001234, "0xcf8 read back %#x", latch);
    return passed();
}

Outcome msrs() {
    REQUIRE(rdmsr(kMsrApicBase) == 0xfee00900, "APIC_BASE %#lx, Xen shows 0xfee00900 to vCPU 0", rdmsr(kMsrApicBase));
    REQUIRE(rdmsr(kMsrPat) == 0x0000050100070406, "PAT %#lx is not Xen's", rdmsr(kMsrPat));
    const uint64_t efer = rdmsr(kMsrEfer);
    REQUIRE((efer & 0x500) == 0x500 && !(efer & (1u << 12)), "EFER %#lx: LME/LMA missing or SVME shown", efer);
    traps::Fault f = traps::catch_fault(traps::general_protection, [&] { wrmsr_probe(kMsrEfer, efer); });
    REQUIRE(!f.taken, "writing EFER back unchanged faulted");
    f = traps::catch_fault(traps::general_protection, [&] { wrmsr_probe(kMsrEfer, efer ^ 1); });
    REQUIRE(f.taken, "changing EFER.SCE did not fault");
    return passed();
}

Outcome cpuid_policy() {
    const cpu::CpuidResult l1 = cpu::forced_emulation_cpuid(1);
    REQUIRE(l1.ecx & (1u << 31), "leaf 1 ecx %#x lacks the hypervisor bit", l1.ecx);
    REQUIRE((l1.ecx & ((1u << 5) | (1u << 17) | (1u << 21) | (1u << 26))) == 0,
            "leaf 1 ecx %#x shows VMX, PCID, x2APIC or XSAVE", l1.ecx);
    REQUIRE((l1.edx & ((1u << 3) | (1u << 7) | (1u << 13) | (1u << 14))) == 0,
            "leaf 1 edx %#x shows PSE, MCE, PGE or MCA", l1.edx);
    const cpu::CpuidResult l7 = cpu::forced_emulation_cpuid(7);
    REQUIRE((l7.ebx & ((1u << 0) | (1u << 7) | (1u << 10) | (1u << 20))) == 0,
            "leaf 7 ebx %#x shows FSGSBASE, SMEP, INVPCID or SMAP", l7.ebx);
    REQUIRE((l7.ecx & ((1u << 2) | (1u << 3))) == 0, "leaf 7 ecx %#x shows UMIP or PKU", l7.ecx);
    const cpu::CpuidResult e1 = cpu::forced_emulation_cpuid(0x80000001);
    REQUIRE((e1.edx & (1u << 26)) == 0 && (e1.ecx & (1u << 2)) == 0, "leaf 0x80000001 shows 1 GiB pages or SVM");
    return passed();
}

// Linux's xen_load_gs_index: SEGBASE_GS_USER_SEL with its own __USER_DS.
Outcome gs_user_selector() {
    auto* gdt = reinterpret_cast<uint64_t*>(gdt_page);
    const uint64_t gdt_va = mmu::address(gdt_page), mfn = physmap::virt_to_mfn(gdt_va);
    for (unsigned i = 0; i < 512; ++i)
        gdt[i] = 0;
    gdt[5] = 0x00cff3000000ffff;  // flat data, DPL 3, base 0: Linux's __USER_DS (0x2b)
    gdt[6] = 0x12cff3345678ffff;  // data, base 0x12345678
    REQUIRE(mmu::map_page(gdt_va, pt::entry(mfn, pt::kernel_ro)) == 0, "GDT page read-only");
    unsigned long frames[1] = {mfn};
    long rc = hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 7);
    const long user_ds = hv::call<__HYPERVISOR_set_segment_base>(SEGBASE_GS_USER_SEL, 0x2b);
    const uint64_t base_ds = rdmsr(kMsrShadowGsBase);
    const long other = hv::call<__HYPERVISOR_set_segment_base>(SEGBASE_GS_USER_SEL, 0x33);
    const uint64_t base_other = rdmsr(kMsrShadowGsBase);
    const long beyond = hv::call<__HYPERVISOR_set_segment_base>(SEGBASE_GS_USER_SEL, 0x43);
    const uint64_t base_beyond = rdmsr(kMsrShadowGsBase);
    hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 0);
    REQUIRE(mmu::restore_window(gdt_page) == 0, "GDT page writable again");
    REQUIRE(rc == 0, "set_gdt returned %ld", rc);
    REQUIRE(user_ds == 0 && base_ds == 0, "GS_USER_SEL(0x2b) returned %ld, base %#lx", user_ds, base_ds);
    REQUIRE(other == 0 && base_other == 0x12345678, "GS_USER_SEL(0x33) returned %ld, base %#lx (0x12345678)", other,
            base_other);
    REQUIRE(beyond == 0 && base_beyond == 0, "GS_USER_SEL past the GDT returned %ld, base %#lx (Xen loads null)",
            beyond, base_beyond);
    return passed();
}

}  // namespace

Outcome test_linux_abi() {
    static constexpr Outcome (*kParts[])() = {features,
                                              preserve_ad,
                                              update_ordinary_frame,
                                              page_table_writes,
                                              released_base_pointer,
                                              memory_map,
                                              control_registers,
                                              iopl,
                                              msrs,
                                              cpuid_policy,
                                              gs_user_selector};
    for (Outcome (*part)() : kParts)
        if (Outcome o = part(); o.kind != Outcome::Kind::ok)
            return o;
    return passed();
}
