// Xen's flat selectors (xen-x86_64.h): the guest kernel runs with
// CS = FLAT_KERNEL_CS64 (0xe033) and SS = FLAT_KERNEL_SS64 (0xe02b), and
// may load the flat data selector 0xe02b into %ds/%es itself.
#include "../lib/console.hpp"
#include "host_quirks.hpp"
#include "subtest.hpp"

Outcome test_segments() {
    uint16_t want_cs = FLAT_KERNEL_CS64, want_ss = FLAT_KERNEL_SS64;
    const bool host_selectors = host_quirks::ring3_uses_host_selectors();
    if (host_selectors) {
        print("conformance:   host quirk: ring 3 reads the host's selectors\n");
        want_cs = 0x33;
        want_ss = 0x2b;
    }
    REQUIRE(setup().cs_at_entry == want_cs, "cs at entry %#x, expected %#x", setup().cs_at_entry, want_cs);
    REQUIRE(setup().ss_at_entry == want_ss, "ss at entry %#x, expected %#x", setup().ss_at_entry, want_ss);
    REQUIRE(cpu::read_cs() == want_cs, "cs now %#x", cpu::read_cs());
    REQUIRE(cpu::read_ss() == want_ss, "ss now %#x", cpu::read_ss());

    const uint16_t ds = cpu::read_ds(), es = cpu::read_es();
    cpu::write_ds(FLAT_RING3_DS32);
    cpu::write_es(FLAT_RING3_DS32);
    const uint16_t loaded_ds = cpu::read_ds(), loaded_es = cpu::read_es();
    cpu::write_ds(ds);
    cpu::write_es(es);
    // Under the quirk the load must not fault, but what reads back is the host's.
    REQUIRE(host_selectors || (loaded_ds == FLAT_RING3_DS32 && loaded_es == FLAT_RING3_DS32),
            "loaded %#x into ds/es, read back ds %#x es %#x", FLAT_RING3_DS32, loaded_ds, loaded_es);
    return passed();
}
