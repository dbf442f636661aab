#include "vmm/isolation/describe.hpp"

#include <fmt/format.h>

#include "guest-abi/layout.hpp"
#include "pagetables/entry.hpp"

namespace pvvmm::isolation {

std::string describe_gpa(uint64_t gpa) {
    using namespace layout;
    if (gpa < kBootInfoGpa)
        return "page 0";
    if (gpa < kChannelGpa)
        return "the BootInfo page";
    if (gpa < kChannelGpa + kMaxVcpus * kChannelSize)
        return fmt::format("vCPU {}'s host channel", (gpa - kChannelGpa) / kChannelSize);
    if (gpa < kSharedInfoGpa)
        return "unused low memory";
    if (gpa < kSharedInfoGpa + kPageSize)
        return "the shared_info page";
    if (gpa >= kProbePageGpa && gpa < kProbePageGpa + kPageSize)
        return "the start-up probe page";
    if (gpa >= kSyscallTrampolineGpa && gpa < kSyscallTrampolineGpa + kPageSize)
        return "the syscall trampoline page";
    if (gpa < kMonitorPtPoolGpa)
        return "unused low memory";
    if (gpa < kMonitorPtPoolEnd)
        return "the monitor's page-table pool";
    if (gpa < kMonitorImageEnd)
        return "the monitor image";
    if (gpa < kPercpuGpa + kMaxVcpus * kPercpuGpaStride)
        return fmt::format("vCPU {}'s per-CPU area", (gpa - kPercpuGpa) / kPercpuGpaStride);
    if (gpa < kM2pGpa)
        return "unused per-CPU memory";
    if (gpa < kM2pEnd)
        return "the M2P";
    if (gpa < kFrameTableEnd)
        return "the frame table";
    return "domain RAM";
}

std::string describe_monitor_va(uint64_t va) {
    using namespace layout;
    const uint64_t image_size = kMonitorImageEnd - kMonitorImageGpa;
    if (va >= kPercpuVirt && va < kPercpuVirt + kMaxVcpus * kPercpuVirtStride) {
        const uint64_t cpu = (va - kPercpuVirt) / kPercpuVirtStride, offset = (va - kPercpuVirt) % kPercpuVirtStride;
        for (const auto& p : percpu::kPieces)
            if (offset >= p.offset && offset < p.offset + p.size)
                return fmt::format("vCPU {}'s {}", cpu, p.what);
        return fmt::format("vCPU {}'s per-CPU area at offset {:#x} (a guard or unused page)", cpu, offset);
    }
    if (va >= kMonitorImageVirt && va < kMonitorImageVirt + image_size)
        return va - kMonitorImageVirt < kEntryTextSize ? "the monitor's entry text"
                                                       : "the monitor image beyond the entry text";
    if (va >= kDirectMapVirt && va < kDirectMapVirt + pt::level_span(4))
        return fmt::format("the direct map (guest-physical {:#x})", va - kDirectMapVirt);
    const unsigned slot = pt::table_index(va, 4);
    if (slot == kProbeSlot)
        return "the start-up probe page's slot";
    if (va >= kM2pRoVirt && va < kM2pRoAliasVirt + pt::level_span(4))
        return "the M2P slots";
    return fmt::format("monitor L4 slot {}", slot);
}

}  // namespace pvvmm::isolation
