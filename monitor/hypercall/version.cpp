// xen_version: every query sub-op, answering as Xen 4.17 would.
#include <stdint.h>
#include <xen/features.h>
#include <xen/version.h>
#include <xen/xen.h>
#include "monitor/lib/xen_errno.hpp"

#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"

namespace monitor {

namespace {
constexpr int kMajor = 4, kMinor = 17;

template <typename T>
int64_t put_string(uint64_t va, const char* s) {
    T out{};
    for (unsigned i = 0; s[i] && i + 1 < sizeof(out); ++i)
        out[i] = s[i];
    return GuestPtr<T>(va).write(out) ? 0 : -EFAULT;
}

// Sub-ops that fill structures: kept out of line so that the frame they
// need is not set up for XENVER_version, the guests' null hypercall.
[[gnu::noinline]] int64_t xen_version_query(HypercallArgs a) {
    switch (a.a1()) {
    case XENVER_extraversion: return put_string<xen_extraversion_t>(a.a2(), ".0-pvvmm");
    case XENVER_compile_info: {
        xen_compile_info_t info{};
        const char* fields[] = {"pvvmm", "pvvmm", "pvvmm.invalid", "2026"};
        char* dst[] = {info.compiler, info.compile_by, info.compile_domain, info.compile_date};
        const unsigned caps[] = {sizeof(info.compiler), sizeof(info.compile_by), sizeof(info.compile_domain),
                                 sizeof(info.compile_date)};
        for (unsigned f = 0; f < 4; ++f)
            for (unsigned i = 0; fields[f][i] && i + 1 < caps[f]; ++i)
                dst[f][i] = fields[f][i];
        return GuestPtr<xen_compile_info_t>(a.a2()).write(info) ? 0 : -EFAULT;
    }
    case XENVER_capabilities: return put_string<xen_capabilities_info_t>(a.a2(), "xen-3.0-x86_64");
    case XENVER_changeset: return put_string<xen_changeset_info_t>(a.a2(), "pvvmm");
    case XENVER_platform_parameters: {
        xen_platform_parameters_t p{};
        p.virt_start = HYPERVISOR_VIRT_START;
        return GuestPtr<xen_platform_parameters_t>(a.a2()).write(p) ? 0 : -EFAULT;
    }
    case XENVER_get_features: {
        xen_feature_info_t fi;
        if (!GuestPtr<xen_feature_info_t>(a.a2()).read(fi))
            return -EFAULT;
        if (fi.submap_idx != 0)
            return -EINVAL;
        // Xen 4.17's answer to a 64-bit PV domU, less what pvvmm lacks:
        // no XENFEAT_memory_op_vnode_supported (no XENMEM_get_vnumainfo).
        // Linux panics without preserve_ad and gnttab_map_avail_bits; the
        // latter only describes grant mappings, which answer -ENOSYS here.
        fi.submap = (1u << XENFEAT_mmu_pt_update_preserve_ad) | (1u << XENFEAT_highmem_assist) |
                    (1u << XENFEAT_gnttab_map_avail_bits) | (1u << XENFEAT_direct_mapped);
        return GuestPtr<xen_feature_info_t>(a.a2()).write(fi) ? 0 : -EFAULT;
    }
    case XENVER_pagesize: return 4096;
    case XENVER_guest_handle: return put_string<xen_domain_handle_t>(a.a2(), "");
    case XENVER_commandline: return put_string<xen_commandline_t>(a.a2(), "");
    case XENVER_build_id: return -ENODATA;
    default: return unknown_subop("xen_version", a.a1());
    }
}

}  // namespace

int64_t hc_xen_version(GuestRegs&, HypercallArgs a) {
    if (a.a1() == XENVER_version)
        return (kMajor << 16) | kMinor;
    return xen_version_query(a);
}

}  // namespace monitor
