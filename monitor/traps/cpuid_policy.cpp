#include "monitor/traps/cpuid_policy.hpp"

namespace monitor {

namespace {

constexpr uint32_t bit(unsigned n) { return 1u << n; }

// Leaf 1.
constexpr uint32_t kHidden1Ecx = bit(3) /* MONITOR */ | bit(4) /* DS-CPL */ | bit(5) /* VMX */ | bit(6) /* SMX */ |
                                 bit(7) /* EST */ | bit(8) /* TM2 */ | bit(15) /* PDCM */ | bit(17) /* PCID */ |
                                 bit(18) /* DCA */ | bit(21) /* x2APIC */ | bit(24) /* TSC deadline */ |
                                 bit(26) /* XSAVE */ | bit(27) /* OSXSAVE */ | bit(28) /* AVX */ | bit(12) /* FMA */ |
                                 bit(29) /* F16C */;
constexpr uint32_t kHypervisor1Ecx = bit(31);
constexpr uint32_t kHidden1Edx = bit(1) /* VME */ | bit(3) /* PSE */ | bit(7) /* MCE */ | bit(14) /* MCA */ |
                                 bit(13) /* PGE */ | bit(17) /* PSE36 */ | bit(21) /* DS */ | bit(22) /* ACPI */ |
                                 bit(29) /* TM */ | bit(31) /* PBE */;
// Leaf 7 subleaf 0.
constexpr uint32_t kHidden7Ebx = bit(0) /* FSGSBASE */ | bit(5) /* AVX2 */ | bit(7) /* SMEP */ | bit(10) /* INVPCID */ |
                                 bit(16) /* AVX512F */ | bit(17) /* AVX512DQ */ | bit(20) /* SMAP */ |
                                 bit(21) /* AVX512IFMA */ | bit(25) /* Intel PT */ | bit(26) /* AVX512PF */ |
                                 bit(27) /* AVX512ER */ | bit(28) /* AVX512CD */ | bit(30) /* AVX512BW */ |
                                 bit(31) /* AVX512VL */;
constexpr uint32_t kHidden7Ecx = bit(1) /* AVX512VBMI */ | bit(2) /* UMIP */ | bit(3) /* PKU */ | bit(4) /* OSPKE */ |
                                 bit(6) /* AVX512VBMI2 */ | bit(9) /* VAES */ | bit(10) /* VPCLMULQDQ */ |
                                 bit(11) /* AVX512VNNI */ | bit(12) /* AVX512BITALG */ | bit(14) /* AVX512VPOPCNT */ |
                                 bit(16) /* LA57 */;
constexpr uint32_t kHidden7Edx = bit(2) /* AVX512_4VNNIW */ | bit(3) /* AVX512_4FMAPS */ | bit(8) /* AVX512_VP2I */ |
                                 bit(26) /* IBRS/IBPB */ | bit(27) /* STIBP */ | bit(28) /* L1D_FLUSH */ |
                                 bit(29) /* ARCH_CAPABILITIES */ | bit(31) /* SSBD */;
// Leaf 0x80000001.
constexpr uint32_t kHiddenExtEcx = bit(2) /* SVM */ | bit(29) /* MONITORX */;
constexpr uint32_t kHiddenExtEdx = bit(26) /* 1 GiB pages */;
// Leaf 0x80000008 ebx: AMD's speculation controls.
constexpr uint32_t kHiddenExt8Ebx =
    bit(12) /* IBPB */ | bit(14) /* IBRS */ | bit(15) /* STIBP */ | bit(24) /* SSBD */ | bit(25) /* VIRT_SSBD */;

}  // namespace

void apply_pv_cpuid_policy(uint32_t leaf, uint32_t subleaf, cpu::CpuidResult& c) {
    switch (leaf) {
    case 1:
        c.ecx = (c.ecx & ~kHidden1Ecx) | kHypervisor1Ecx;
        c.edx &= ~kHidden1Edx;
        break;
    case 5:    // MONITOR/MWAIT
    case 0xd:  // XSAVE state
        c = {0, 0, 0, 0};
        break;
    case 7:
        if (subleaf == 0) {
            c.ebx &= ~kHidden7Ebx;
            c.ecx &= ~kHidden7Ecx;
            c.edx &= ~kHidden7Edx;
        } else {
            c = {0, 0, 0, 0};
        }
        break;
    case 0x80000001:
        c.ecx &= ~kHiddenExtEcx;
        c.edx &= ~kHiddenExtEdx;
        break;
    case 0x80000008: c.ebx &= ~kHiddenExt8Ebx; break;
    default: break;
    }
}

}  // namespace monitor
