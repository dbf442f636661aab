// What set_gdt and MMUEXT_SET_LDT share: which descriptors a PV guest may
// use (only DPL-3 code and data segments: no system descriptors, no call
// gates; not-present ones are harmless), taking the guest frames of a
// table (checked, typed as descriptor pages so that only update_descriptor
// changes them, all or none), releasing them, and keeping the monitor's
// copy current when update_descriptor writes one of them.
#pragma once

#include <stdint.h>

#include "monitor/state.hpp"

namespace monitor {

inline constexpr uint64_t kDescriptorsPerFrame = 512;

inline bool guest_descriptor_ok(uint64_t d) {
    if (!(d & (1ull << 47)))
        return true;
    const unsigned dpl = (d >> 45) & 3;
    const bool code_or_data = d & (1ull << 44);
    return code_or_data && dpl == 3;
}

// Checks every descriptor of `entries` in `frames` and takes their type
// references; 0, or -EINVAL with nothing taken.
[[nodiscard]] int64_t take_descriptor_frames(const uint64_t* frames, uint64_t entries);

// Drops `table`'s frames, then makes it hold `frames` (already taken).
void replace_descriptor_frames(DescriptorTable& table, const uint64_t* frames, uint64_t entries);

// Descriptor `index` of frame `mfn` became `desc`: update `copy` if that
// frame is part of `table`.
void update_descriptor_copy(const DescriptorTable& table, uint64_t* copy, uint64_t mfn, unsigned index, uint64_t desc);

}  // namespace monitor
