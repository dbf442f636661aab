#include "percpu.hpp"

#include "hypercall.hpp"

namespace percpu {

bool installed = false;

long install(Header& header) {
    header.self = &header;
    const long rc = hv::call<__HYPERVISOR_set_segment_base>(SEGBASE_GS_KERNEL, reinterpret_cast<uint64_t>(&header));
    if (rc == 0)
        installed = true;
    return rc;
}

}  // namespace percpu
