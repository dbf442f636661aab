// pvvmm reports what its start-up probe found about the host's KVM in a
// CPUID leaf; subtests that depend on native ring-3 behaviour ask here.
#pragma once

#include "../lib/cpu.hpp"

namespace host_quirks {

inline constexpr uint32_t kLeaf = 0x4000ff00;
inline constexpr uint32_t kRing3HostSelectors = 1u << 4;

// On a PVM-style KVM, ring 3 uses the host's selectors (0x33/0x2b),
// whatever the guest's GDT or LDT say.
inline bool ring3_uses_host_selectors() {
    const auto r = cpu::forced_emulation_cpuid(kLeaf);
    return r.ebx == 0x6d767670 && (r.eax & kRing3HostSelectors);
}

}  // namespace host_quirks
