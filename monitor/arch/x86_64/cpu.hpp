// Thin wrappers around privileged instructions. Only instructions that this
// machine's KVM can execute in ring 0 appear here (see kvm-host.md).
#pragma once

#include <stdint.h>

namespace monitor::cpu {

inline uint64_t read_cr0() {
    uint64_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
inline uint64_t read_cr2() {
    uint64_t v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
inline uint64_t read_cr3() {
    uint64_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
inline uint64_t read_cr4() {
    uint64_t v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
inline void write_cr3(uint64_t v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
inline void write_cr4(uint64_t v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }
inline void invlpg(uint64_t va) { asm volatile("invlpg (%0)" ::"r"(va) : "memory"); }
// INVPCID kills the VM on hosts without it (kvm_pvm): callers use it only
// when CPUID reports it. Out of line, so the forbidden-instruction check
// can allow it in this one function.
void invpcid(uint64_t type, uint64_t pcid, uint64_t va);

inline constexpr uint64_t kCr4Pge = 1u << 7;
inline constexpr uint64_t kCr4Pcide = 1u << 17;

inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t v) {
    asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(v)), "d"(static_cast<uint32_t>(v >> 32)) : "memory");
}

inline uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

struct CpuidResult {
    uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port) : "memory"); }

// Interrupts are taken only at hlt on this host's emulated ring 0: never spin.
[[noreturn]] inline void halt_forever() {
    for (;;)
        asm volatile("cli; hlt");
}

struct [[gnu::packed]] DescriptorPointer {
    uint16_t limit;
    uint64_t base;
};
inline void lgdt(const DescriptorPointer& p) { asm volatile("lgdt %0" ::"m"(p)); }
inline void lidt(const DescriptorPointer& p) { asm volatile("lidt %0" ::"m"(p)); }

inline constexpr uint32_t kMsrEfer = 0xc0000080;
inline constexpr uint32_t kMsrStar = 0xc0000081;
inline constexpr uint32_t kMsrLstar = 0xc0000082;
inline constexpr uint32_t kMsrCstar = 0xc0000083;
inline constexpr uint32_t kMsrSfmask = 0xc0000084;
inline constexpr uint32_t kMsrFsBase = 0xc0000100;
inline constexpr uint32_t kMsrGsBase = 0xc0000101;
inline constexpr uint32_t kMsrKernelGsBase = 0xc0000102;

inline constexpr uint64_t kRflagsTf = 1u << 8;
inline constexpr uint64_t kRflagsIf = 1u << 9;
inline constexpr uint64_t kRflagsDf = 1u << 10;
inline constexpr uint64_t kRflagsIopl = 3u << 12;
inline constexpr uint64_t kRflagsNt = 1u << 14;
inline constexpr uint64_t kRflagsRf = 1u << 16;
inline constexpr uint64_t kRflagsVm = 1u << 17;
inline constexpr uint64_t kRflagsAc = 1u << 18;

}  // namespace monitor::cpu
