// multicall: a batch runs in order, each entry gets its own result, and
// entries that cannot run in a batch (iret, a nested multicall) or are
// unknown fail alone without stopping the rest.
#include "mmu_helpers.hpp"
#include "subtest.hpp"

extern "C" char tlb_decoy[], tlb_window[];

Outcome test_multicall() {
    const uint64_t window = mmu::address(tlb_window);
    const uint64_t decoy_mfn = physmap::virt_to_mfn(mmu::address(tlb_decoy));
    auto* decoy = reinterpret_cast<volatile uint64_t*>(tlb_decoy);
    decoy[0] = 0x3a1c;

    multicall_entry_t calls[6]{};
    calls[0].op = __HYPERVISOR_xen_version;
    calls[0].args[0] = XENVER_version;
    calls[1].op = __HYPERVISOR_update_va_mapping;
    calls[1].args[0] = window;
    calls[1].args[1] = pt::entry(decoy_mfn, pt::kernel_rw);
    calls[1].args[2] = UVMF_INVLPG;
    calls[2].op = __HYPERVISOR_iret;
    calls[3].op = __HYPERVISOR_multicall;
    calls[4].op = 60;  // no such hypercall
    calls[5].op = __HYPERVISOR_xen_version;
    calls[5].args[0] = XENVER_pagesize;
    for (auto& c : calls)
        c.result = 0xbad;
    const long rc = hv::call<__HYPERVISOR_multicall>(physmap::address_of(calls), 6);
    REQUIRE(rc == 0, "multicall returned %ld", rc);

    const long version = hv::xen_version(XENVER_version, nullptr);
    REQUIRE(static_cast<long>(calls[0].result) == version, "entry 0 (xen_version) result %#lx, expected %#lx",
            calls[0].result, version);
    REQUIRE(calls[1].result == 0, "entry 1 (update_va_mapping) result %ld", static_cast<long>(calls[1].result));
    REQUIRE(mmu::word(window) == 0x3a1c, "the batched update_va_mapping did not take effect");
    REQUIRE(static_cast<long>(calls[2].result) < 0, "iret inside a multicall returned %ld",
            static_cast<long>(calls[2].result));
    REQUIRE(static_cast<long>(calls[3].result) < 0, "a nested multicall returned %ld",
            static_cast<long>(calls[3].result));
    REQUIRE(static_cast<long>(calls[4].result) == -XEN_ENOSYS, "unknown hypercall in a batch returned %ld",
            static_cast<long>(calls[4].result));
    REQUIRE(calls[5].result == 4096, "entry 5 (pagesize) result %lu", calls[5].result);
    REQUIRE(mmu::restore_window(tlb_window) == 0, "restoring the window failed");

    REQUIRE(hv::call<__HYPERVISOR_multicall>(8, 1) < 0, "multicall with a wild array pointer succeeded");
    return passed();
}
