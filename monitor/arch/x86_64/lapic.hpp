// This CPU's local APIC (KVM's in-kernel LAPIC, the host creates it) in
// x2APIC mode: MSRs only, no MMIO page to map. Three interrupts reach the
// monitor: its timer (TSC-deadline mode), the host's kick (an MSI the host
// sends when it posted work, vmm/vcpu_thread) and other vCPUs' IPIs.
#pragma once

#include <stdint.h>

#include "guest-abi/layout.hpp"
#include "monitor/arch/x86_64/asm_offsets.hpp"

namespace monitor::lapic {

inline constexpr unsigned kVectorTimer = VECTOR_LAPIC_TIMER;
inline constexpr unsigned kVectorHostKick = VECTOR_HOST_KICK;
inline constexpr unsigned kVectorIpi = VECTOR_IPI;
inline constexpr unsigned kVectorSpurious = VECTOR_SPURIOUS;
static_assert(kVectorHostKick == layout::kHostKickVector);

// x2APIC on, software-enabled, timer in TSC-deadline mode (disarmed).
// Returns false when CPUID lacks x2APIC or TSC-deadline (no in-kernel LAPIC).
[[nodiscard]] bool init();
void eoi();
// Timer interrupt when the TSC reaches `tsc`; 0 disarms.
void arm_deadline(uint64_t tsc);
void send_ipi(uint32_t apic_id, unsigned vector);

}  // namespace monitor::lapic
