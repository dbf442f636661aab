// Per machine frame bookkeeping (Xen's page_info, reduced): the type a
// guest frame is used as, how many references hold that type, how many
// writable mappings exist, and whether the guest pinned it. A frame used
// as a page table is never mapped writable; a type changes only at count 0.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "guest-abi/layout.hpp"
#include "monitor/state.hpp"

namespace monitor::mm {

enum class FrameType : uint8_t { None = 0, L1 = 1, L2 = 2, L3 = 3, L4 = 4, SegDesc = 5 };

struct FrameInfo {
    FrameType type;
    uint8_t pinned;
    uint16_t reserved;
    uint32_t type_count;      // references that hold the type (table links, pins, base pointers, GDT)
    uint32_t writable_count;  // writable L1 mappings
    uint32_t map_count;       // all L1 mappings, read-only or writable
    uint32_t audit_count;     // scratch of the consistency audit (mm/audit.cpp)
    uint32_t l4_summary;      // L4 frames: 1 + index of its slots-in-use mask (xpti/l4_summary), 0 none
    uint32_t reserved2[2];
};
static_assert(sizeof(FrameInfo) == layout::kFrameInfoSize &&
              offsetof(FrameInfo, type) == layout::kFrameInfoTypeOffset &&
              offsetof(FrameInfo, type_count) == layout::kFrameInfoTypeCountOffset);
static_assert((layout::kFrameTableEnd - layout::kFrameTableGpa) / sizeof(FrameInfo) >=
                  (layout::kM2pEnd - layout::kM2pGpa) / 8,
              "frame table covers every M2P frame");

inline FrameInfo& frame(uint64_t mfn) {
    return reinterpret_cast<FrameInfo*>(layout::direct_map(layout::kFrameTableGpa))[mfn];
}

inline FrameType table_type(int level) { return static_cast<FrameType>(level); }

}  // namespace monitor::mm
