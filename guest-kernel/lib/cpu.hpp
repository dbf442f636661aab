// Unprivileged CPU state a PV guest kernel can read or load itself, and
// CPUID through Xen's forced-emulation prefix.
#pragma once

#include <stdint.h>

namespace cpu {

inline uint16_t read_cs() {
    uint16_t v;
    asm volatile("mov %%cs, %0" : "=r"(v));
    return v;
}
inline uint16_t read_ss() {
    uint16_t v;
    asm volatile("mov %%ss, %0" : "=r"(v));
    return v;
}
inline uint16_t read_ds() {
    uint16_t v;
    asm volatile("mov %%ds, %0" : "=r"(v));
    return v;
}
inline uint16_t read_es() {
    uint16_t v;
    asm volatile("mov %%es, %0" : "=r"(v));
    return v;
}
inline void write_ds(uint16_t v) { asm volatile("mov %0, %%ds" : : "r"(v) : "memory"); }
inline void write_es(uint16_t v) { asm volatile("mov %0, %%es" : : "r"(v) : "memory"); }

struct CpuidResult {
    uint32_t eax, ebx, ecx, edx;
};

// `ud2; .ascii "xen"; cpuid` (Linux: XEN_EMULATE_PREFIX): Xen's #UD handler
// recognises the prefix and returns the CPUID view it gives PV guests,
// including the hypervisor leaves at 0x40000000, instead of the raw CPU's.
inline CpuidResult forced_emulation_cpuid(uint32_t leaf, uint32_t subleaf = 0) {
    CpuidResult r;
    asm volatile(".byte 0x0f, 0x0b, 0x78, 0x65, 0x6e\n\tcpuid"
                 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                 : "a"(leaf), "c"(subleaf)
                 : "memory");
    return r;
}

}  // namespace cpu
