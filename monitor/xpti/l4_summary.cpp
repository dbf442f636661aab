#include "monitor/xpti/l4_summary.hpp"

#include "monitor/mm/frame_table.hpp"

namespace monitor::xpti {

namespace {

// Enough for every L4 of a few hundred processes; beyond that slot-copy
// falls back to whole copies for the L4s without a summary.
constexpr uint32_t kSummaries = 512;
pt::xpti::SlotMask summaries[kSummaries];
uint32_t free_list[kSummaries];
uint32_t nr_free = 0;
bool initialised = false;

}  // namespace

void summary_create(uint64_t l4_mfn, const pt::xpti::SlotMask& in_use) {
    if (!initialised) {
        for (uint32_t i = 0; i < kSummaries; ++i)
            free_list[i] = kSummaries - 1 - i;
        nr_free = kSummaries;
        initialised = true;
    }
    auto& f = mm::frame(l4_mfn);
    if (f.l4_summary || nr_free == 0)
        return;
    const uint32_t index = free_list[--nr_free];
    summaries[index] = in_use;
    f.l4_summary = index + 1;
}

void summary_update(uint64_t l4_mfn, unsigned slot, bool present) {
    if (const uint32_t s = mm::frame(l4_mfn).l4_summary) {
        if (present)
            summaries[s - 1].set(slot);
        else
            summaries[s - 1].clear(slot);
    }
}

void summary_drop(uint64_t l4_mfn) {
    auto& f = mm::frame(l4_mfn);
    if (!f.l4_summary)
        return;
    free_list[nr_free++] = f.l4_summary - 1;
    f.l4_summary = 0;
}

const pt::xpti::SlotMask* summary_find(uint64_t l4_mfn) {
    const uint32_t s = mm::frame(l4_mfn).l4_summary;
    return s ? &summaries[s - 1] : nullptr;
}

}  // namespace monitor::xpti
