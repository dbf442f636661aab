// After the monitor changes a mapping and flushes as the guest asked, the
// guest's next access must see the new frame, in kernel mode and in user
// mode, for global and non-global entries, whichever way the flush was
// requested. Each check has a window of its own that nothing touched
// before, so mapping it to the old frame needs no flush (the test hook that
// drops flushes cannot leave it stale). Both modes read it first, so their
// translations of
// the old frame are in the TLB (under XPTI with PCID: two PCIDs the monitor
// never runs on), and nothing between the hypercall and the second reads
// leaves the VM. A flush the monitor skipped or aimed at the wrong PCID then
// shows as the old frame's marker wherever the TLB keeps entries across the
// monitor's CR3 switches (real x86; scripts/nested for emulated machines).
#include "../lib/format.hpp"
#include "../lib/user_mode.hpp"
#include "mmu_helpers.hpp"
#include "subtest.hpp"
#include "user_trip.hpp"

extern "C" char refresh_windows[], refresh_old[], refresh_new[];
extern "C" void user_read_refresh_window();
extern "C" {
uint64_t refresh_target;  // the window user_read_refresh_window reads
}

namespace {

constexpr uint64_t kOldMarker = 0x01d0f4a3e01d;
constexpr uint64_t kNewMarker = 0x4e3f4a3e4e3f;
constexpr uint64_t kGlobal = 1u << 8;
constexpr uint64_t entry_kinds[] = {0, kGlobal};  // extra L1 flags: non-global, global
constexpr unsigned kWindows = 16;                 // mapping_windows.S: one per method and entry kind

// How the guest changes the window's L1 entry and asks for the flush.
enum class Change {
    VaMappingInvlpg,
    VaMappingFlush,
    VaMappingInvlpgAll,
    InvlpgLocal,
    FlushLocal,
    InvlpgAll,
    FlushAll,
    ReloadBase,
};

struct Method {
    Change change;
    const char* name;
    bool reaches_user_mode = true;  // the ABI promises the flush for user mode too
};

constexpr Method methods[] = {
    {Change::VaMappingInvlpg, "update_va_mapping(UVMF_INVLPG|UVMF_LOCAL)"},
    {Change::VaMappingFlush, "update_va_mapping(UVMF_TLB_FLUSH|UVMF_LOCAL)"},
    {Change::VaMappingInvlpgAll, "update_va_mapping(UVMF_INVLPG|UVMF_ALL)"},
    {Change::InvlpgLocal, "mmu_update + MMUEXT_INVLPG_LOCAL"},
    {Change::FlushLocal, "mmu_update + MMUEXT_TLB_FLUSH_LOCAL"},
    {Change::InvlpgAll, "mmu_update + MMUEXT_INVLPG_ALL"},
    {Change::FlushAll, "mmu_update + MMUEXT_TLB_FLUSH_ALL"},
    // Xen reloads the kernel base pointer (write_ptbase), which flushes it.
    {Change::ReloadBase, "mmu_update + MMUEXT_NEW_BASEPTR(the L4 in use)", false},
};

long change_window(Change change, uint64_t window, uint64_t pte, uint64_t l1_machine_address) {
    switch (change) {
    case Change::VaMappingInvlpg: return hv::update_va_mapping(window, pte, UVMF_INVLPG | UVMF_LOCAL);
    case Change::VaMappingFlush: return hv::update_va_mapping(window, pte, UVMF_TLB_FLUSH | UVMF_LOCAL);
    case Change::VaMappingInvlpgAll: return hv::update_va_mapping(window, pte, UVMF_INVLPG | UVMF_ALL);
    default: break;
    }
    unsigned done = 0;
    if (const long rc = mmu::write_pte(l1_machine_address, pte, &done); rc != 0 || done != 1)
        return rc != 0 ? rc : -1;
    switch (change) {
    case Change::InvlpgLocal: return mmu::mmuext(MMUEXT_INVLPG_LOCAL, window);
    case Change::FlushLocal: return mmu::mmuext(MMUEXT_TLB_FLUSH_LOCAL);
    case Change::InvlpgAll: return mmu::mmuext(MMUEXT_INVLPG_ALL, window);
    case Change::FlushAll: return mmu::mmuext(MMUEXT_TLB_FLUSH_ALL);
    default: return mmu::mmuext_mfn(MMUEXT_NEW_BASEPTR, physmap::virt_to_mfn(setup().info->pt_base));
    }
}

struct Reads {
    uint64_t kernel, user;
};

Reads read_window(uint64_t window) {
    refresh_target = window;
    const uint64_t kernel = mmu::word(window);
    const uint64_t user =
        user_mode_enter(reinterpret_cast<uint64_t>(user_read_refresh_window), user_trip::user_stack_pointer());
    return {kernel, user};
}

// Reads after a change: those that still saw the old frame, the first described.
struct Tally {
    unsigned checks = 0, stale = 0;
    char first[160] = "";

    Outcome check(uint64_t value, const char* method, const char* kind, const char* mode) {
        checks++;
        if (value == kNewMarker)
            return passed();
        REQUIRE(value == kOldMarker, "%s, %s entry: %s mode reads %#lx, neither frame's marker", method, kind, mode,
                value);
        if (stale++ == 0)
            format_to(first, sizeof first, "%s, %s entry: %s mode", method, kind, mode);
        return passed();
    }
};

// One change of the window from the old frame to the new; a read that still
// sees the old frame is counted (and the first one described), so that one
// run shows every way the flush went missing.
Outcome refresh(const Method& method, uint64_t extra_flags, const char* window_page, Tally& tally) {
    const uint64_t window = mmu::address(window_page);
    pt::L1Slot slot{};
    const char* why = "";
    REQUIRE(pt::find_l1_slot(window, slot, &why), "walking to the window's L1 entry: %s", why);
    const uint64_t old_pte = pt::entry(physmap::virt_to_mfn(mmu::address(refresh_old)), pt::kernel_rw | extra_flags);
    const uint64_t new_pte = pt::entry(physmap::virt_to_mfn(mmu::address(refresh_new)), pt::kernel_rw | extra_flags);
    const char* kind = extra_flags & kGlobal ? "global" : "non-global";

    REQUIRE(hv::update_va_mapping(window, old_pte, UVMF_INVLPG | UVMF_LOCAL) == 0, "window -> old frame failed");
    const Reads before = read_window(window);  // primes both modes' translations
    const long rc = change_window(method.change, window, new_pte, slot.machine_address);
    const Reads after = read_window(window);

    REQUIRE(before.kernel == kOldMarker && before.user == kOldMarker,
            "%s, %s entry: before the change kernel read %#lx, user read %#lx, expected %#lx", method.name, kind,
            before.kernel, before.user, kOldMarker);
    REQUIRE(rc == 0, "%s, %s entry: returned %ld", method.name, kind, rc);
    Outcome outcome = tally.check(after.kernel, method.name, kind, "kernel");
    if (outcome.kind == Outcome::Kind::ok && method.reaches_user_mode)
        outcome = tally.check(after.user, method.name, kind, "user");
    return outcome;
}

}  // namespace

Outcome test_tlb_refresh() {
    static_assert(sizeof methods / sizeof methods[0] * sizeof entry_kinds / sizeof entry_kinds[0] == kWindows);
    mmu::word(mmu::address(refresh_old)) = kOldMarker;
    mmu::word(mmu::address(refresh_new)) = kNewMarker;
    const char* failure = user_trip::prepare();
    REQUIRE(failure == nullptr, "%s", failure);

    Outcome outcome = passed();
    Tally tally;
    const char* window = refresh_windows;
    for (const Method& method : methods) {
        for (const uint64_t extra_flags : entry_kinds) {
            if (outcome.kind == Outcome::Kind::ok)
                outcome = refresh(method, extra_flags, window, tally);
            window += 4096;
        }
    }
    bool restored = true;
    for (unsigned k = 0; k < kWindows; ++k)
        restored = mmu::restore_window(refresh_windows + k * 4096) == 0 && restored;
    const bool finished = user_trip::finish() == 0;
    if (outcome.kind != Outcome::Kind::ok)
        return outcome;
    REQUIRE(restored && finished, "restoring the windows or clearing the user base pointer failed");
    REQUIRE(tally.stale == 0, "%u of %u reads still saw the old frame after the flush; first: %s", tally.stale,
            tally.checks, tally.first);
    return passed();
}
