// HYPERVISOR_xen_version sub-commands a domU may use (xen/version.h).
// Xen's default policy lets any guest read these; XENVER_commandline is
// privileged and answers "<denied>" (still rc 0) to a domU.
#include "../lib/console.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/string.hpp"
#include "subtest.hpp"

namespace {

bool terminated(const char* text, size_t size) { return strnlen(text, size) < size; }

}  // namespace

Outcome test_xen_version() {
    long version = hv::xen_version(XENVER_version, nullptr);
    REQUIRE(version >= 0, "XENVER_version returned %ld", version);
    long major = version >> 16, minor = version & 0xffff;
    REQUIRE(major >= 3, "XENVER_version %ld.%ld older than the 3.0 ABI", major, minor);

    xen_extraversion_t extra{};
    long rc = hv::xen_version(XENVER_extraversion, extra);
    REQUIRE(rc >= 0, "XENVER_extraversion returned %ld", rc);
    REQUIRE(terminated(extra, sizeof extra), "extraversion not NUL-terminated");
    print("conformance:   Xen %ld.%ld%s\n", major, minor, extra);

    xen_compile_info_t compile{};
    rc = hv::xen_version(XENVER_compile_info, &compile);
    REQUIRE(rc >= 0, "XENVER_compile_info returned %ld", rc);
    REQUIRE(terminated(compile.compiler, sizeof compile.compiler) &&
                terminated(compile.compile_by, sizeof compile.compile_by) &&
                terminated(compile.compile_domain, sizeof compile.compile_domain) &&
                terminated(compile.compile_date, sizeof compile.compile_date),
            "compile_info strings not NUL-terminated");

    xen_capabilities_info_t capabilities{};
    rc = hv::xen_version(XENVER_capabilities, capabilities);
    REQUIRE(rc >= 0, "XENVER_capabilities returned %ld", rc);
    REQUIRE(contains(capabilities, sizeof capabilities, "xen-3.0-x86_64"), "capabilities \"%.*s\" lack xen-3.0-x86_64",
            static_cast<int>(sizeof capabilities), capabilities);
    print("conformance:   capabilities \"%.*s\"\n", static_cast<int>(sizeof capabilities), capabilities);

    xen_changeset_info_t changeset{};
    rc = hv::xen_version(XENVER_changeset, changeset);
    REQUIRE(rc >= 0, "XENVER_changeset returned %ld", rc);
    REQUIRE(terminated(changeset, sizeof changeset), "changeset not NUL-terminated");

    xen_platform_parameters_t platform{};
    rc = hv::xen_version(XENVER_platform_parameters, &platform);
    REQUIRE(rc >= 0, "XENVER_platform_parameters returned %ld", rc);
    REQUIRE(platform.virt_start == HYPERVISOR_VIRT_START,
            "platform_parameters.virt_start %#lx, expected HYPERVISOR_VIRT_START %#lx", platform.virt_start,
            HYPERVISOR_VIRT_START);

    xen_feature_info_t features{};
    features.submap_idx = 0;
    rc = hv::xen_version(XENVER_get_features, &features);
    REQUIRE(rc >= 0, "XENVER_get_features(0) returned %ld", rc);
    // A PV guest manages its own p2m: the translated-physmap features
    // belong to HVM/PVH guests only.
    REQUIRE((features.submap & (1u << XENFEAT_auto_translated_physmap)) == 0,
            "XENFEAT_auto_translated_physmap reported to a PV guest (submap %#x)", features.submap);
    REQUIRE((features.submap & (1u << XENFEAT_writable_page_tables)) == 0,
            "XENFEAT_writable_page_tables reported to a PV guest (submap %#x)", features.submap);
    REQUIRE((features.submap & (1u << XENFEAT_dom0)) == 0, "XENFEAT_dom0 reported to a domU");
    print("conformance:   features[0] %#x\n", features.submap);

    // The argument must be NULL; the result is the page size.
    long page_size = hv::xen_version(XENVER_pagesize, nullptr);
    REQUIRE(page_size == 4096, "XENVER_pagesize returned %ld", page_size);

    xen_domain_handle_t handle{};
    rc = hv::xen_version(XENVER_guest_handle, handle);
    REQUIRE(rc >= 0, "XENVER_guest_handle returned %ld", rc);

    xen_commandline_t command_line{};
    rc = hv::xen_version(XENVER_commandline, command_line);
    REQUIRE(rc >= 0, "XENVER_commandline returned %ld", rc);
    REQUIRE(terminated(command_line, sizeof command_line), "commandline not NUL-terminated");
    return passed();
}
