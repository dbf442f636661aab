// Which segment descriptors a PV guest may put in its GDT or LDT: only
// DPL-3 code and data segments (no system descriptors, no call gates);
// not-present ones are harmless.
#pragma once

#include <stdint.h>

namespace monitor {

inline bool guest_descriptor_ok(uint64_t d) {
    if (!(d & (1ull << 47)))
        return true;
    const unsigned dpl = (d >> 45) & 3;
    const bool code_or_data = d & (1ull << 44);
    return code_or_data && dpl == 3;
}

}  // namespace monitor
