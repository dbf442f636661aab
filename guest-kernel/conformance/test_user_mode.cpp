// Hypercalls for kernel/user mode and base pointers: stack_switch,
// callback_op(syscall), NEW_USER_BASEPTR and a round trip through user
// mode (iret with CS RPL 3, `syscall` bounced to the callback on the
// stack_switch stack); a new L4 pinned and made the base pointer with
// NEW_BASEPTR; set_gdt and update_descriptor with valid and invalid
// descriptors; vm_assist.
#include "../lib/fault_probe.hpp"
#include "../lib/user_mode.hpp"
#include "mmu_helpers.hpp"
#include "subtest.hpp"
#include "user_trip.hpp"

extern "C" char new_l4[], gdt_page[];
extern "C" {
void user_code();
void user_code_after_syscall();
}

namespace {

constexpr uint64_t kUserMarker = 0x5e5c0de;

uint64_t read_cr3() {
    uint64_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

Outcome user_round_trip() {
    const char* failure = user_trip::prepare();
    REQUIRE(failure == nullptr, "%s", failure);
    const uint64_t stack_top = user_trip::kernel_stack_top();

    const uint64_t user_rsp = user_trip::user_stack_pointer();
    const uint64_t rax = user_mode_enter(reinterpret_cast<uint64_t>(user_code), user_rsp);
    const uint64_t* f = user_mode_syscall_frame;
    REQUIRE(rax == kUserMarker, "the syscall callback saw rax %#lx, user mode passed %#lx", rax, kUserMarker);
    REQUIRE(f[2] == reinterpret_cast<uint64_t>(user_code_after_syscall), "bounce frame rip %#lx", f[2]);
    REQUIRE(f[1] == f[2], "bounce frame rcx %#lx, expected the return address %#lx", f[1], f[2]);
    REQUIRE((f[3] & 0xffff) == FLAT_USER_CS64, "bounce frame cs %#lx, expected user cs %#x", f[3], FLAT_USER_CS64);
    REQUIRE(f[4] == user_rsp, "bounce frame rsp %#lx, expected the user stack %#lx", f[4], user_rsp);
    REQUIRE(f[6] < stack_top && f[6] >= stack_top - 4096, "the callback ran on %#lx, not the stack_switch stack", f[6]);
    REQUIRE(user_trip::finish() == 0, "clearing the user base pointer failed");
    return passed();
}

Outcome new_base_pointer() {
    const auto* current = reinterpret_cast<const uint64_t*>(setup().info->pt_base);
    auto* copy = reinterpret_cast<uint64_t*>(new_l4);
    for (unsigned i = 0; i < 512; ++i)
        copy[i] = (i >= 256 && i < 272) ? 0 : current[i];  // Xen's slots are the hypervisor's to fill
    const uint64_t old_mfn = physmap::virt_to_mfn(setup().info->pt_base);
    const uint64_t new_mfn = physmap::virt_to_mfn(mmu::address(new_l4));
    REQUIRE(mmu::map_page(mmu::address(new_l4), pt::entry(new_mfn, pt::kernel_ro)) == 0, "new L4 read-only");
    long rc = mmu::mmuext_mfn(MMUEXT_PIN_L4_TABLE, new_mfn);
    REQUIRE(rc == 0, "pinning the new L4 returned %ld", rc);
    rc = mmu::mmuext_mfn(MMUEXT_NEW_BASEPTR, new_mfn);
    REQUIRE(rc == 0, "NEW_BASEPTR(new L4) returned %ld", rc);
    const uint64_t cr3_new = read_cr3();
    const uint64_t sample = setup().info->nr_pages;  // memory still reads through the new root
    REQUIRE(mmu::mmuext_mfn(MMUEXT_NEW_BASEPTR, old_mfn) == 0, "NEW_BASEPTR(old L4) failed");
    REQUIRE(mmu::mmuext_mfn(MMUEXT_UNPIN_TABLE, new_mfn) == 0, "unpinning the new L4 failed");
    REQUIRE(mmu::restore_window(new_l4) == 0, "new L4 writable again");
    REQUIRE(cr3_new == new_mfn << 12, "cr3 %#lx under the new L4 (mfn %#lx)", cr3_new, new_mfn);
    REQUIRE(sample == setup().info->nr_pages, "start_info read differently under the new L4");
    REQUIRE(read_cr3() == old_mfn << 12, "cr3 %#lx after switching back", read_cr3());
    return passed();
}

Outcome descriptor_table() {
    auto* gdt = reinterpret_cast<uint64_t*>(gdt_page);
    const uint64_t gdt_va = mmu::address(gdt_page), mfn = physmap::virt_to_mfn(gdt_va);
    gdt[0] = 0;
    gdt[1] = 0x00cff3000000ffff;  // flat data, DPL 3
    unsigned long frames[1] = {mfn};
    long rc = hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 2);
    REQUIRE(rc < 0, "set_gdt accepted a GDT frame that is mapped writable (returned %ld)", rc);
    REQUIRE(mmu::map_page(gdt_va, pt::entry(mfn, pt::kernel_ro)) == 0, "GDT page read-only");
    rc = hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 2);
    REQUIRE(rc == 0, "set_gdt of a valid DPL-3 data descriptor returned %ld", rc);
    // update_descriptor is how a loaded GDT changes. As in Xen, a DPL-0
    // segment is accepted with its DPL raised to 3 (the kernel runs in ring 3).
    rc = hv::call<__HYPERVISOR_update_descriptor>((mfn << 12) + 16, 0x00cff3000000ffff);
    REQUIRE(rc == 0, "update_descriptor (DPL-3 data) returned %ld", rc);
    REQUIRE(gdt[2] == 0x00cff3000000ffff, "update_descriptor did not write the descriptor");
    rc = hv::call<__HYPERVISOR_update_descriptor>((mfn << 12) + 16, 0x00af9b000000ffff);
    REQUIRE(rc == 0, "update_descriptor (DPL-0 code) returned %ld", rc);
    REQUIRE(gdt[2] == 0x00affb000000ffff, "update_descriptor wrote %#lx for DPL-0 code, not DPL 3", gdt[2]);
    rc = hv::call<__HYPERVISOR_update_descriptor>((mfn << 12) + 16, 0x0000890000000067);
    REQUIRE(rc < 0, "update_descriptor accepted a TSS descriptor");
    const uint64_t l4_mfn = physmap::virt_to_mfn(setup().info->pt_base);
    rc = hv::call<__HYPERVISOR_update_descriptor>(l4_mfn << 12, 0x00cff3000000ffff);
    REQUIRE(rc < 0, "update_descriptor wrote into the L4 page table");
    rc = hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 0);
    REQUIRE(rc == 0, "set_gdt with no entries returned %ld", rc);
    REQUIRE(mmu::restore_window(gdt_page) == 0, "GDT page writable again");
    gdt[1] = 0x00cf93000000ffff;  // DPL 0: fixed up to DPL 3 in the guest's page, as Xen does
    REQUIRE(mmu::map_page(gdt_va, pt::entry(mfn, pt::kernel_ro)) == 0, "GDT page read-only");
    rc = hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 2);
    const uint64_t fixed = gdt[1];
    hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 0);
    REQUIRE(mmu::restore_window(gdt_page) == 0, "GDT page writable again");
    REQUIRE(rc == 0, "set_gdt of a DPL-0 data descriptor returned %ld", rc);
    REQUIRE(fixed == 0x00cff3000000ffff, "set_gdt left %#lx for DPL-0 data, not DPL 3", fixed);
    gdt[5] = 0x0000890000000067;  // a TSS beyond the entries given: Xen checks the whole frame
    REQUIRE(mmu::map_page(gdt_va, pt::entry(mfn, pt::kernel_ro)) == 0, "GDT page read-only");
    rc = hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 2);
    if (rc == 0)
        hv::call<__HYPERVISOR_set_gdt>(physmap::address_of(frames), 0);
    REQUIRE(mmu::restore_window(gdt_page) == 0, "GDT page writable again");
    gdt[5] = 0;
    REQUIRE(rc < 0, "set_gdt accepted a frame holding a TSS descriptor past its entries");
    return passed();
}

Outcome assists() {
    long rc = hv::call<__HYPERVISOR_vm_assist>(VMASST_CMD_enable, VMASST_TYPE_runstate_update_flag);
    REQUIRE(rc == 0, "vm_assist(enable, runstate_update_flag) returned %ld", rc);
    rc = hv::call<__HYPERVISOR_vm_assist>(VMASST_CMD_enable, 31);
    REQUIRE(rc < 0, "vm_assist accepted unknown type 31");
    return passed();
}

}  // namespace

Outcome test_user_mode() {
    Outcome (*const steps[])() = {user_round_trip, new_base_pointer, descriptor_table, assists};
    for (auto step : steps) {
        Outcome o = step();
        if (o.kind != Outcome::Kind::ok)
            return o;
    }
    return passed();
}
