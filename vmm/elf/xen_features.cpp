#include "vmm/elf/xen_features.hpp"

#include <stdint.h>
#include <xen/features.h>

#include <array>
#include <utility>

namespace pvvmm::elf {

FeatureNames split_features(std::string_view features) {
    FeatureNames names;
    while (!features.empty()) {
        const size_t bar = features.find('|');
        std::string_view entry = features.substr(0, bar);
        features = bar == std::string_view::npos ? std::string_view{} : features.substr(bar + 1);
        const bool required = entry.starts_with('!');
        if (required)
            entry.remove_prefix(1);
        if (entry.empty())
            continue;
        (required ? names.required : names.optional).emplace_back(entry);
    }
    return names;
}

std::optional<unsigned> xen_feature_bit(std::string_view name) {
    static constexpr std::array<std::pair<std::string_view, unsigned>, 18> kFeatures{{
        {"writable_page_tables", XENFEAT_writable_page_tables},
        {"writable_descriptor_tables", XENFEAT_writable_descriptor_tables},
        {"auto_translated_physmap", XENFEAT_auto_translated_physmap},
        {"supervisor_mode_kernel", XENFEAT_supervisor_mode_kernel},
        {"pae_pgdir_above_4gb", XENFEAT_pae_pgdir_above_4gb},
        {"mmu_pt_update_preserve_ad", XENFEAT_mmu_pt_update_preserve_ad},
        {"highmem_assist", XENFEAT_highmem_assist},
        {"gnttab_map_avail_bits", XENFEAT_gnttab_map_avail_bits},
        {"hvm_callback_vector", XENFEAT_hvm_callback_vector},
        {"hvm_safe_pvclock", XENFEAT_hvm_safe_pvclock},
        {"hvm_pirqs", XENFEAT_hvm_pirqs},
        {"dom0", XENFEAT_dom0},
        {"grant_map_identity", 12},  // deprecated; commented out in features.h
        {"memory_op_vnode_supported", XENFEAT_memory_op_vnode_supported},
        {"ARM_SMCCC_supported", XENFEAT_ARM_SMCCC_supported},
        {"linux_rsdp_unrestricted", XENFEAT_linux_rsdp_unrestricted},
        {"not_direct_mapped", XENFEAT_not_direct_mapped},
        {"direct_mapped", XENFEAT_direct_mapped},
    }};
    for (const auto& [feature, bit] : kFeatures)
        if (feature == name)
            return bit;
    return std::nullopt;
}

}  // namespace pvvmm::elf
