// MMUEXT_SET_LDT: the guest's LDT pages are translated through its current
// page tables, typed as descriptor pages (so the guest can change them only
// with update_descriptor), validated, and copied into this CPU's LDT area;
// the LDT descriptor in the monitor's reserved GDT entries points there.
#include <stdint.h>
#include <xen/xen.h>

#include "monitor/hypercall/descriptor_table.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/mm/address_space.hpp"
#include "monitor/mm/pv_mmu.hpp"
#include "monitor/state.hpp"
#include "pagetables/entry.hpp"

namespace monitor {

namespace {

constexpr uint64_t kMaxEntries = 8192;
static_assert(layout::percpu::kLdtPages == DescriptorTable::kMaxFrames);
static_assert(kMaxEntries == DescriptorTable::kMaxFrames * kDescriptorsPerFrame);
constexpr uint16_t kLdtSelector = 0xe050;  // reserved GDT entries 10-11

// Machine frame behind a guest-virtual page of the current address space, or 0.
uint64_t frame_of(const Vcpu& v, uint64_t va) {
    const uint64_t l1 = mm::find_l1(active_l4_mfn(v), va);
    if (l1 == 0)
        return 0;
    const uint64_t e = frame_ptr<const uint64_t>(l1)[pt::table_index(va, 1)];
    return pt::is_present(e) ? pt::entry_addr(e) >> 12 : 0;
}

void load_ldt(const Vcpu& v, uint64_t entries) {
    auto* gdt = reinterpret_cast<uint64_t*>(layout::percpu_virt(v.id) + layout::percpu::kGdtReservedOffset);
    uint16_t selector = 0;
    if (entries) {
        const uint64_t base = reinterpret_cast<uint64_t>(ldt_copy(v));
        const uint64_t limit = entries * 8 - 1;
        gdt[10] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x82ull << 40) | (((limit >> 16) & 0xf) << 48) |
                  (((base >> 24) & 0xff) << 56);  // present LDT descriptor
        gdt[11] = base >> 32;
        selector = kLdtSelector;
    }
    asm volatile("lldt %0" ::"r"(selector) : "memory");
}

}  // namespace

int64_t set_ldt(uint64_t linear_addr, uint64_t entries) {
    Vcpu& v = current();
    if (entries > kMaxEntries || (linear_addr & (layout::kPageSize - 1)) != 0 || !pt::is_canonical(linear_addr) ||
        (linear_addr >= HYPERVISOR_VIRT_START && linear_addr < HYPERVISOR_VIRT_END))
        return -EINVAL;
    uint64_t frames[DescriptorTable::kMaxFrames];
    for (uint64_t i = 0; i < (entries + kDescriptorsPerFrame - 1) / kDescriptorsPerFrame; ++i) {
        frames[i] = frame_of(v, linear_addr + i * layout::kPageSize);
        if (!is_domain_mfn(frames[i]))
            return -EINVAL;
    }
    if (int64_t rc = take_descriptor_frames(frames, entries); rc < 0)
        return rc;
    replace_descriptor_frames(v.ldt, frames, entries);
    uint64_t* copy = ldt_copy(v);
    for (uint64_t e = 0; e < entries; ++e)
        copy[e] = frame_ptr<const uint64_t>(frames[e / kDescriptorsPerFrame])[e % kDescriptorsPerFrame];
    load_ldt(v, entries);
    return 0;
}

uint64_t* ldt_copy(const Vcpu& v) {
    return reinterpret_cast<uint64_t*>(layout::percpu_virt(v.id) + layout::percpu::kLdtOffset);
}

}  // namespace monitor
