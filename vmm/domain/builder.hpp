// The domain builder (Xen's libxenguest, host side): loads the guest
// image, writes the p2m, start_info, M2P and shared_info, and builds the
// initial page tables that the monitor then validates and pins.
#pragma once

#include "guest-abi/boot_info.hpp"
#include "vmm/domain/domain_layout.hpp"
#include "vmm/elf/guest_image.hpp"
#include "vmm/memory.hpp"
#include "vmm/result.hpp"

namespace pvvmm::domain {

// Machine frame of guest pfn: offset by the domain's first frame, so that a
// guest mixing up pfns and mfns breaks at once.
[[nodiscard]] constexpr uint64_t pfn_to_mfn(uint64_t first_mfn, uint64_t pfn) { return first_mfn + pfn; }

[[nodiscard]] Result<abi::DomainInfo> build_domain(const GuestMemory& mem, const elf::GuestImage& image,
                                                   const DomainConfig& config, const DomainLayout& layout);

}  // namespace pvvmm::domain
