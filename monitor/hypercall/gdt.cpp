// set_gdt: the guest's own GDT entries below Xen's reserved ones. Every
// descriptor is checked and fixed up as Xen does (descriptor_table.hpp),
// then copied into this CPU's GDT; the frames are
// typed as descriptor pages so the guest cannot map them writable.
#include <stdint.h>
#include <xen/xen.h>

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/hypercall/descriptor_table.hpp"
#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/mm/pv_mmu.hpp"
#include "monitor/state.hpp"

namespace monitor {

namespace {

static_assert(FIRST_RESERVED_GDT_PAGE <= DescriptorTable::kMaxFrames);

}  // namespace

uint64_t* gdt_copy(const Vcpu& v) {
    return reinterpret_cast<uint64_t*>(layout::percpu_virt(v.id) + layout::percpu::kGdtOffset);
}

// set_gdt's and VCPUOP_initialise's common part: take and check the frames,
// then make them v's GDT (the copy v's CPU runs on is updated here).
int64_t install_guest_gdt(Vcpu& v, const uint64_t* frames, uint64_t entries) {
    if (entries > FIRST_RESERVED_GDT_ENTRY)
        return -EINVAL;
    if (int64_t rc = take_descriptor_frames(frames, entries); rc < 0)
        return rc;
    const uint64_t old_entries = v.gdt.entries;
    replace_descriptor_frames(v.gdt, frames, entries);

    uint64_t* gdt = gdt_copy(v);
    for (uint64_t e = 0; e < FIRST_RESERVED_GDT_ENTRY; ++e) {
        const uint64_t src =
            e < entries ? frame_ptr<const uint64_t>(frames[e / kDescriptorsPerFrame])[e % kDescriptorsPerFrame] : 0;
        if (gdt[e] != src)
            gdt[e] = src;
        if (e >= entries && e >= old_entries)
            break;  // the rest is already zero
    }
    return 0;
}

int64_t hc_set_gdt(GuestRegs&, HypercallArgs a) {
    const uint64_t entries = a.a2();
    if (entries > FIRST_RESERVED_GDT_ENTRY)
        return -EINVAL;
    const uint64_t nr = (entries + kDescriptorsPerFrame - 1) / kDescriptorsPerFrame;
    uint64_t frames[FIRST_RESERVED_GDT_PAGE];
    if (nr && !GuestPtr<uint64_t>(a.a1()).read_bytes(frames, nr * sizeof(uint64_t)))
        return -EFAULT;
    return install_guest_gdt(current(), frames, entries);
}

// update_descriptor(maddr, desc): the one way to change a descriptor page.
// The frame must be the guest's and not a page table; if it is part of a
// loaded GDT or LDT, the copies of every vCPU that loaded it are updated too.
int64_t hc_update_descriptor(GuestRegs&, HypercallArgs a) {
    const uint64_t maddr = a.a1();
    const uint64_t mfn = maddr >> layout::kPageShift;
    if ((maddr & 7) != 0 || !is_domain_mfn(mfn))
        return -EINVAL;
    const auto& f = mm::frame(mfn);
    if (f.type_count > 0 && f.type != mm::FrameType::SegDesc)
        return -EINVAL;  // a page table, or similar
    uint64_t desc = a.a2();
    if (!fixup_guest_descriptor(desc))
        return -EINVAL;
    const unsigned index = static_cast<unsigned>((maddr & (layout::kPageSize - 1)) / 8);
    frame_ptr<uint64_t>(mfn)[index] = desc;
    for (uint32_t id = 0; id < domain().boot.nr_vcpus; ++id) {  // a frame may be in several vCPUs' tables
        const Vcpu& v = vcpu(id);
        update_descriptor_copy(v.gdt, gdt_copy(v), mfn, index, desc);
        update_descriptor_copy(v.ldt, ldt_copy(v), mfn, index, desc);
    }
    return 0;
}

}  // namespace monitor
