// The xenstore contents a Linux domU finds at boot, as Xen's toolstack
// (libxl) writes them for a guest without devices.
#pragma once

#include "vmm/xenstore/store.hpp"

#include <cstdint>
#include <string_view>

namespace pvvmm::xenstore {

// A store for domain `domid` holding /local/domain/<domid>/ with name,
// domid, memory/target and memory/static-max (KiB), cpu/<n>/availability
// = "online" for each of `vcpus` vCPUs, and the empty directories control/
// (no feature-* flags) and device/ (no devices).
[[nodiscard]] Store domu_store(uint32_t domid, std::string_view name, uint64_t memory_kib, unsigned vcpus);

}  // namespace pvvmm::xenstore
