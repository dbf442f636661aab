#include "user_space.hpp"

#include "../lib/console.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/page_table.hpp"
#include "../lib/physmap.hpp"

extern "C" char fuzz_table_staging[];

namespace fuzz {

namespace {

constexpr uint64_t kUserRo = pt::present | pt::user | pt::accessed;
constexpr uint64_t kUserRw = kUserRo | pt::writable | pt::dirty;
constexpr uint64_t kTable = pt::present | pt::writable | pt::user | pt::accessed;

// Writes one table into an unmapped frame through the staging page, then
// puts the staging page's own frame back, leaving the table unmapped.
bool write_table(uint64_t mfn, unsigned index, uint64_t entry, unsigned index2 = 512, uint64_t entry2 = 0) {
    const uint64_t staging = physmap::address_of(fuzz_table_staging);
    if (hv::update_va_mapping(staging, pt::entry(mfn, pt::kernel_rw), UVMF_INVLPG) != 0)
        return false;
    auto* t = reinterpret_cast<volatile uint64_t*>(staging);
    for (unsigned i = 0; i < 512; ++i)
        t[i] = 0;
    t[index] = entry;
    if (index2 < 512)
        t[index2] = entry2;
    return hv::update_va_mapping(staging, pt::entry(physmap::virt_to_mfn(staging), pt::kernel_rw), UVMF_INVLPG) == 0;
}

}  // namespace

uint64_t build_user_space(const uint64_t (&mfn)[4], uint64_t code_mfn, uint64_t stack_mfn) {
    const unsigned l1_code = (kUserCodeVa >> 12) & 511, l1_stack = (kUserStackVa >> 12) & 511;
    const bool written =
        write_table(mfn[3], l1_code, pt::entry(code_mfn, kUserRo), l1_stack, pt::entry(stack_mfn, kUserRw)) &&
        write_table(mfn[2], (kUserCodeVa >> 21) & 511, pt::entry(mfn[3], kTable)) &&
        write_table(mfn[1], (kUserCodeVa >> 30) & 511, pt::entry(mfn[2], kTable)) &&
        write_table(mfn[0], (kUserCodeVa >> 39) & 511, pt::entry(mfn[1], kTable));
    if (!written) {
        print("fuzz: writing the user page tables failed\n");
        return 0;
    }
    mmuext_op_t op{};
    op.cmd = MMUEXT_PIN_L4_TABLE;
    op.arg1.mfn = mfn[0];
    unsigned done = 0;
    if (long rc = hv::mmuext_op(&op, 1, &done, DOMID_SELF); rc != 0) {
        print("fuzz: pinning the user L4 returned %ld\n", rc);
        return 0;
    }
    return mfn[0];
}

}  // namespace fuzz
