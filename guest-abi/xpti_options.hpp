// XPTI's optimisations, each switchable (`pvvmm run --xpti-opt`), in the
// order Juergen Gross's 2018 series added them, then pvvmm's own. With none
// of them XPTI is the naive baseline: the guest L4 copied into the
// restricted root on every exit, sign-encoded xen_cr3, global pages kept
// (so full flushes toggle CR4.PGE) and a guest root switch flushing twice.
#pragma once

#include <stdint.h>

namespace abi {

enum XptiOpt : uint32_t {
    kXptiCopyAvoid = 1u << 0,    // copy the guest L4 only when root_pgt_changed
    kXptiFlagByte = 1u << 1,     // use_pv_cr3 flag byte instead of a sign-encoded xen_cr3
    kXptiNoGlobal = 1u << 2,     // CR4.PGE off while XPTI is on: no PGE toggles
    kXptiSingleFlush = 1u << 3,  // a guest root switch flushes once, not twice
    kXptiRootCache = 1u << 4,    // beyond Xen: restricted roots cached per guest L4, kept current by mmu_update
    kXptiSlotCopy = 1u << 5,     // beyond Xen: copy only the L4 slots that changed
};

struct XptiOptName {
    XptiOpt bit;
    const char* name;
};
inline constexpr XptiOptName kXptiOptNames[] = {
    {kXptiCopyAvoid, "copy-avoid"},     {kXptiFlagByte, "flag-byte"},   {kXptiNoGlobal, "no-global"},
    {kXptiSingleFlush, "single-flush"}, {kXptiRootCache, "root-cache"}, {kXptiSlotCopy, "slot-copy"},
};

inline constexpr uint32_t kXptiOptsNaive = 0;
inline constexpr uint32_t kXptiOptsXen = kXptiCopyAvoid | kXptiFlagByte | kXptiNoGlobal | kXptiSingleFlush;
inline constexpr uint32_t kXptiOptsAll = kXptiOptsXen | kXptiRootCache | kXptiSlotCopy;
inline constexpr uint32_t kXptiOptsDefault = kXptiOptsAll;

}  // namespace abi
