#include "shared_info.hpp"

#include "hypercall.hpp"
#include "page_table.hpp"
#include "physmap.hpp"

extern "C" char shared_info_window[];  // reserved_pages.S

namespace xen_shared {
namespace {

volatile shared_info* mapped = nullptr;
volatile vcpu_info* moved_vcpu0 = nullptr;  // VCPUOP_register_vcpu_info

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

volatile vcpu_info* vcpu0() {
    if (moved_vcpu0 != nullptr)
        return moved_vcpu0;
    return mapped != nullptr ? &mapped->vcpu_info[0] : nullptr;
}

volatile vcpu_info* vcpu(unsigned id) {
    if (id == 0)
        return vcpu0();
    return mapped != nullptr && id < XEN_LEGACY_MAX_VCPUS ? &mapped->vcpu_info[id] : nullptr;
}

void relocate_vcpu0(volatile vcpu_info* moved) { moved_vcpu0 = moved; }

}  // namespace xen_shared
