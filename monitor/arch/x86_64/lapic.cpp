#include "monitor/arch/x86_64/lapic.hpp"

#include "monitor/arch/x86_64/cpu.hpp"

namespace monitor::lapic {

namespace {

constexpr uint32_t kMsrApicBase = 0x1b;
constexpr uint64_t kApicBaseEnable = 1u << 11, kApicBaseX2apic = 1u << 10;
constexpr uint32_t kMsrSvr = 0x80f;  // spurious-interrupt vector register
constexpr uint64_t kSvrEnable = 1u << 8;
constexpr uint32_t kMsrEoi = 0x80b;
constexpr uint32_t kMsrIcr = 0x830;
constexpr uint32_t kMsrLvtTimer = 0x832;
constexpr uint64_t kLvtTscDeadline = 2u << 17;
constexpr uint32_t kMsrTscDeadline = 0x6e0;

}  // namespace

bool init() {
    const auto leaf1 = cpu::cpuid(1);
    const bool x2apic = (leaf1.ecx >> 21) & 1, tsc_deadline = (leaf1.ecx >> 24) & 1;
    if (!x2apic || !tsc_deadline)
        return false;
    cpu::wrmsr(kMsrApicBase, cpu::rdmsr(kMsrApicBase) | kApicBaseEnable | kApicBaseX2apic);
    cpu::wrmsr(kMsrSvr, kSvrEnable | kVectorSpurious);
    cpu::wrmsr(kMsrLvtTimer, kLvtTscDeadline | kVectorTimer);
    cpu::wrmsr(kMsrTscDeadline, 0);
    return true;
}

void eoi() { cpu::wrmsr(kMsrEoi, 0); }

void arm_deadline(uint64_t tsc) { cpu::wrmsr(kMsrTscDeadline, tsc); }

// Fixed delivery, physical destination: x2APIC takes the APIC id in 63:32.
void send_ipi(uint32_t apic_id, unsigned vector) { cpu::wrmsr(kMsrIcr, (uint64_t{apic_id} << 32) | vector); }

}  // namespace monitor::lapic
