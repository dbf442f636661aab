// The monitor: a freestanding ELF embedded in pvvmm, loaded at its physical
// addresses, with the page tables it boots on built here by the host.
#pragma once

#include <cstdint>
#include <span>

#include "vmm/memory.hpp"
#include "vmm/result.hpp"

namespace pvvmm {

struct MonitorImage {
    uint64_t entry = 0;      // virtual entry point of every vCPU
    uint64_t image_end = 0;  // first virtual byte past the image
    uint64_t l4_gpa = 0;     // root of the monitor's page tables
    uint64_t xpti_roots_gpa = 0;
};

[[nodiscard]] std::span<const uint8_t> embedded_monitor_elf();
[[nodiscard]] std::span<const uint8_t> embedded_demo_guest_elf();

// Loads the monitor ELF and maps: the image, the per-vCPU areas, the direct
// map of all guest-physical memory and the read-only M2P (slots 256, 257).
[[nodiscard]] Result<MonitorImage> load_monitor(const GuestMemory& mem, std::span<const uint8_t> elf_bytes,
                                                uint32_t nr_vcpus);

}  // namespace pvvmm
