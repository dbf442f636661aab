#include "monitor/hypercall/descriptor_table.hpp"

#include "monitor/lib/xen_errno.hpp"
#include "monitor/mm/pv_mmu.hpp"

namespace monitor {

namespace {
uint64_t frames_for(uint64_t entries) { return (entries + kDescriptorsPerFrame - 1) / kDescriptorsPerFrame; }
}  // namespace

int64_t take_descriptor_frames(const uint64_t* frames, uint64_t entries) {
    const uint64_t nr = frames_for(entries);
    for (uint64_t i = 0; i < nr; ++i) {
        if (!is_domain_mfn(frames[i]))
            return -EINVAL;
        const auto* d = frame_ptr<const uint64_t>(frames[i]);
        for (uint64_t e = 0; e < kDescriptorsPerFrame; ++e)
            if (uint64_t fixed = d[e]; !fixup_guest_descriptor(fixed))
                return -EINVAL;
    }
    for (uint64_t taken = 0; taken < nr; ++taken) {
        if (mm::get_page_type(frames[taken], mm::FrameType::SegDesc) < 0) {
            for (uint64_t i = 0; i < taken; ++i)
                mm::put_page_type(frames[i]);
            return -EINVAL;
        }
    }
    for (uint64_t i = 0; i < nr; ++i) {
        auto* d = frame_ptr<uint64_t>(frames[i]);
        for (uint64_t e = 0; e < kDescriptorsPerFrame; ++e)
            (void)fixup_guest_descriptor(d[e]);  // all checked above
    }
    return 0;
}

void replace_descriptor_frames(DescriptorTable& table, const uint64_t* frames, uint64_t entries) {
    for (uint64_t i = 0; i < table.nr_frames; ++i)
        mm::put_page_type(table.frames[i]);
    table.nr_frames = frames_for(entries);
    for (uint64_t i = 0; i < table.nr_frames; ++i)
        table.frames[i] = frames[i];
    table.entries = entries;
}

void update_descriptor_copy(const DescriptorTable& table, uint64_t* copy, uint64_t mfn, unsigned index, uint64_t desc) {
    for (uint64_t i = 0; i < table.nr_frames; ++i) {
        const uint64_t entry = i * kDescriptorsPerFrame + index;
        if (table.frames[i] == mfn && entry < table.entries)
            copy[entry] = desc;
    }
}

}  // namespace monitor
