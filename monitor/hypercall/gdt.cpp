// set_gdt: the guest's own GDT entries below Xen's reserved ones. Every
// descriptor is checked (only DPL-3 code/data segments, no system
// descriptors or gates), then copied into this CPU's GDT; the frames are
// typed as descriptor pages so the guest cannot map them writable.
#include <stdint.h>
#include <xen/xen.h>

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/hypercall/descriptor_check.hpp"
#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/mm/pv_mmu.hpp"
#include "monitor/state.hpp"

namespace monitor {

namespace {

constexpr uint64_t kEntriesPerFrame = 512;
constexpr uint64_t kMaxFrames = FIRST_RESERVED_GDT_PAGE;

}  // namespace

int64_t hc_set_gdt(GuestRegs&, HypercallArgs a) {
    Vcpu& v = current();
    const uint64_t entries = a.a2();
    if (entries > FIRST_RESERVED_GDT_ENTRY)
        return -EINVAL;
    const uint64_t nr = (entries + kEntriesPerFrame - 1) / kEntriesPerFrame;
    uint64_t frames[kMaxFrames];
    if (nr && !GuestPtr<uint64_t>(a.a1()).read_bytes(frames, nr * sizeof(uint64_t)))
        return -EFAULT;
    for (uint64_t i = 0; i < nr; ++i) {
        if (!is_domain_mfn(frames[i]))
            return -EINVAL;
        const auto* d = frame_ptr<const uint64_t>(frames[i]);
        const uint64_t n = (i + 1 < nr) ? kEntriesPerFrame : entries - i * kEntriesPerFrame;
        for (uint64_t e = 0; e < n; ++e)
            if (!guest_descriptor_ok(d[e]))
                return -EINVAL;
    }
    uint64_t taken = 0;
    for (; taken < nr; ++taken)
        if (mm::get_page_type(frames[taken], mm::FrameType::SegDesc) < 0)
            break;
    if (taken < nr) {
        for (uint64_t i = 0; i < taken; ++i)
            mm::put_page_type(frames[i]);
        return -EINVAL;
    }
    for (uint64_t i = 0; i < v.gdt_nr_frames; ++i)
        mm::put_page_type(v.gdt_frames[i]);

    auto* gdt = reinterpret_cast<uint64_t*>(layout::percpu_virt(v.id) + layout::percpu::kGdtOffset);
    for (uint64_t e = 0; e < FIRST_RESERVED_GDT_ENTRY; ++e) {
        const uint64_t src =
            e < entries ? frame_ptr<const uint64_t>(frames[e / kEntriesPerFrame])[e % kEntriesPerFrame] : 0;
        if (gdt[e] != src)
            gdt[e] = src;
        if (e >= entries && e >= v.gdt_ents)
            break;  // the rest is already zero
    }
    for (uint64_t i = 0; i < nr; ++i)
        v.gdt_frames[i] = frames[i];
    v.gdt_nr_frames = nr;
    v.gdt_ents = entries;
    return 0;
}

// update_descriptor(maddr, desc): the one way to change a descriptor page.
// The frame must be the guest's and not a page table; if it is part of a
// loaded GDT, this vCPU's copy is updated too.
int64_t hc_update_descriptor(GuestRegs&, HypercallArgs a) {
    const uint64_t maddr = a.a1(), desc = a.a2();
    const uint64_t mfn = maddr >> layout::kPageShift;
    if ((maddr & 7) != 0 || !is_domain_mfn(mfn))
        return -EINVAL;
    const auto& f = mm::frame(mfn);
    if (f.type_count > 0 && f.type != mm::FrameType::SegDesc)
        return -EINVAL;  // a page table, or similar
    if (!guest_descriptor_ok(desc))
        return -EINVAL;
    const unsigned index = static_cast<unsigned>((maddr & (layout::kPageSize - 1)) / 8);
    frame_ptr<uint64_t>(mfn)[index] = desc;
    const Vcpu& v = current();
    update_ldt_copy(mfn, index, desc);
    for (uint64_t i = 0; i < v.gdt_nr_frames; ++i) {
        const uint64_t entry = i * kEntriesPerFrame + index;
        if (v.gdt_frames[i] == mfn && entry < v.gdt_ents)
            reinterpret_cast<uint64_t*>(layout::percpu_virt(v.id) + layout::percpu::kGdtOffset)[entry] = desc;
    }
    return 0;
}

}  // namespace monitor
