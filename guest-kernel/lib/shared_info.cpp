#include "shared_info.hpp"

#include "hypercall.hpp"
#include "page_table.hpp"
#include "physmap.hpp"

extern "C" char shared_info_window[];  // reserved_pages.S

namespace xen_shared {
namespace {

volatile shared_info* mapped = nullptr;

}  // namespace

long map(const start_info& info) {
    uint64_t address = physmap::address_of(shared_info_window);
    uint64_t entry = (info.shared_info & pt::frame_mask) | pt::kernel_rw;
    long rc = hv::update_va_mapping(address, entry, UVMF_INVLPG | UVMF_LOCAL);
    if (rc == 0)
        mapped = reinterpret_cast<volatile shared_info*>(address);
    return rc;
}

volatile shared_info* page() { return mapped; }

volatile vcpu_info* vcpu0() { return mapped != nullptr ? &mapped->vcpu_info[0] : nullptr; }

}  // namespace xen_shared
