// What set_gdt and MMUEXT_SET_LDT share: which descriptors a PV guest may
// use (code and data segments, their DPL raised to 3; no system
// descriptors or call gates; not-present ones are harmless), taking the guest frames of a
// table (checked, typed as descriptor pages so that only update_descriptor
// changes them, all or none), releasing them, and keeping the monitor's
// copy current when update_descriptor writes one of them.
#pragma once

#include <stdint.h>

#include "monitor/state.hpp"

namespace monitor {

inline constexpr uint64_t kDescriptorsPerFrame = 512;

// Xen's check_descriptor for a 64-bit PV guest, whose kernel runs in ring
// 3: not-present descriptors and type-0 system descriptors are harmless;
// code and data segments are accepted with their DPL raised to 3 (Linux's
// GDT holds DPL-0 kernel segments); every other system descriptor is
// refused. Call gates too, which Xen accepts and emulates on use: pvvmm
// does not emulate them (no 64-bit guest it runs uses one). Returns false
// if refused, else `d` as the table must hold it.
inline bool fixup_guest_descriptor(uint64_t& d) {
    constexpr uint64_t kPresent = 1ull << 47, kCodeOrData = 1ull << 44, kDplMask = 3ull << 45;
    if (!(d & kPresent))
        return true;
    if (d & kCodeOrData) {
        d |= kDplMask;
        return true;
    }
    return ((d >> 40) & 0xf) == 0;
}

// Checks every descriptor of every frame (all 512, as Xen validates a
// descriptor page), fixes up their DPL in place and takes the frames' type
// references; 0, or -EINVAL with nothing taken or changed.
[[nodiscard]] int64_t take_descriptor_frames(const uint64_t* frames, uint64_t entries);

// Drops `table`'s frames, then makes it hold `frames` (already taken).
void replace_descriptor_frames(DescriptorTable& table, const uint64_t* frames, uint64_t entries);

// Descriptor `index` of frame `mfn` became `desc`: update `copy` if that
// frame is part of `table`.
void update_descriptor_copy(const DescriptorTable& table, uint64_t* copy, uint64_t mfn, unsigned index, uint64_t desc);

// v's GDT becomes `frames` (set_gdt, VCPUOP_initialise): checked, typed,
// copied below Xen's reserved entries of v's CPU; 0 or a Xen errno.
[[nodiscard]] int64_t install_guest_gdt(Vcpu& v, const uint64_t* frames, uint64_t entries);

}  // namespace monitor
