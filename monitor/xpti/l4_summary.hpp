// Which guest slots of each guest L4 are in use, kept while the PV MMU
// validates and updates L4s (it touches those entries anyway), so that
// slot-copy can refresh a restricted root without reading 496 entries.
#pragma once

#include <stdint.h>

#include "pagetables/xpti.hpp"

namespace monitor::xpti {

// A new L4 (validated with `in_use`); no summary when the table is full.
void summary_create(uint64_t l4_mfn, const pt::xpti::SlotMask& in_use);
void summary_update(uint64_t l4_mfn, unsigned slot, bool present);
void summary_drop(uint64_t l4_mfn);
// nullptr when unknown: the caller copies every slot.
[[nodiscard]] const pt::xpti::SlotMask* summary_find(uint64_t l4_mfn);

}  // namespace monitor::xpti
