// Xen's flat selectors (xen-x86_64.h): the guest kernel runs with
// CS = FLAT_KERNEL_CS64 (0xe033) and SS = FLAT_KERNEL_SS64 (0xe02b), and
// may load the flat data selector 0xe02b into %ds/%es itself.
#include "subtest.hpp"

Outcome test_segments() {
    REQUIRE(setup().cs_at_entry == FLAT_KERNEL_CS64, "cs at entry %#x, expected %#x", setup().cs_at_entry,
            FLAT_KERNEL_CS64);
    REQUIRE(setup().ss_at_entry == FLAT_KERNEL_SS64, "ss at entry %#x, expected %#x", setup().ss_at_entry,
            FLAT_KERNEL_SS64);
    REQUIRE(cpu::read_cs() == FLAT_KERNEL_CS64, "cs now %#x", cpu::read_cs());
    REQUIRE(cpu::read_ss() == FLAT_KERNEL_SS64, "ss now %#x", cpu::read_ss());

    const uint16_t ds = cpu::read_ds(), es = cpu::read_es();
    cpu::write_ds(FLAT_RING3_DS32);
    cpu::write_es(FLAT_RING3_DS32);
    const uint16_t loaded_ds = cpu::read_ds(), loaded_es = cpu::read_es();
    cpu::write_ds(ds);
    cpu::write_es(es);
    REQUIRE(loaded_ds == FLAT_RING3_DS32 && loaded_es == FLAT_RING3_DS32,
            "loaded %#x into ds/es, read back ds %#x es %#x", FLAT_RING3_DS32, loaded_ds, loaded_es);
    return passed();
}
