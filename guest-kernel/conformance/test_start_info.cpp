// start_info as Xen's domain builder fills it for a 64-bit PV domU
// (xen.h struct start_info), and the start-of-day event mask.
#include "../lib/fault_probe.hpp"
#include "../lib/physmap.hpp"
#include "../lib/string.hpp"
#include "subtest.hpp"

extern "C" char __image_end[];

namespace {

// A frame the domain owns: the M2P maps it back to a pfn whose p2m entry
// is the same frame.
bool owned_frame(uint64_t mfn) {
    uint64_t pfn = physmap::mfn_to_pfn(mfn);
    return pfn < physmap::nr_pages() && physmap::pfn_to_mfn(pfn) == mfn;
}

}  // namespace

Outcome test_start_info() {
    const start_info& info = *setup().info;
    const uint64_t image_end = physmap::address_of(__image_end);

    REQUIRE(strncmp(info.magic, "xen-3.0-x86_64", sizeof info.magic) == 0,
            "magic \"%.*s\", expected \"xen-3.0-x86_64\"", static_cast<int>(sizeof info.magic), info.magic);
    REQUIRE(info.nr_pages > 0, "nr_pages is 0");
    REQUIRE((info.flags & SIF_INITDOMAIN) == 0, "SIF_INITDOMAIN set for a domU (flags %#x)", info.flags);
    REQUIRE((info.shared_info & 0xfff) == 0, "shared_info machine address %#lx not page aligned", info.shared_info);

    // The p2m list sits in the initial mapping after the image; read it
    // whole (an unmapped page ends the test with an unexpected #PF).
    REQUIRE(info.mfn_list >= image_end, "mfn_list %#lx overlaps the image (ends %#lx)", info.mfn_list, image_end);
    REQUIRE(info.mfn_list % 8 == 0, "mfn_list %#lx misaligned", info.mfn_list);
    uint64_t identity = 0;
    for (uint64_t pfn = 0; pfn < info.nr_pages; ++pfn) {
        uint64_t mfn = physmap::pfn_to_mfn(pfn);
        REQUIRE(mfn != physmap::invalid_frame, "p2m[%#lx] is INVALID_P2M_ENTRY", pfn);
        if (mfn == pfn)
            ++identity;
    }
    // pvvmm gives mfn != pfn on purpose so confusions show up; on Xen an
    // identity entry would be a (harmless) coincidence, an identity p2m a bug.
    REQUIRE(identity == 0, "%lu p2m entries map pfn == mfn", identity);

    REQUIRE(info.pt_base % physmap::page_size == 0, "pt_base %#lx not page aligned", info.pt_base);
    REQUIRE(info.pt_base >= image_end, "pt_base %#lx inside the image", info.pt_base);
    REQUIRE(info.nr_pt_frames >= 4, "nr_pt_frames %lu < 4 (one table per level)", info.nr_pt_frames);
    REQUIRE(physmap::virt_to_pfn(info.pt_base) < info.nr_pages, "pt_base beyond nr_pages");

    uint64_t start_info_address = physmap::address_of(&info);
    REQUIRE(start_info_address % physmap::page_size == 0 && start_info_address >= image_end,
            "start_info at %#lx: not a page of its own after the image", start_info_address);

    REQUIRE(owned_frame(info.store_mfn), "xenstore mfn %#lx is not one of ours", info.store_mfn);
    REQUIRE(owned_frame(info.console.domU.mfn), "console mfn %#lx is not one of ours", info.console.domU.mfn);

    // Guests start with event upcalls masked (checked before set_trap_table).
    REQUIRE(setup().upcall_mask_at_entry == 1, "vcpu_info[0].evtchn_upcall_mask was %u at entry",
            setup().upcall_mask_at_entry);
    return passed();
}
