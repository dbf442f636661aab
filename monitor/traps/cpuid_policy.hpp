// What CPUID shows a PV guest: the hardware's answer less what a kernel in
// ring 3 under pvvmm cannot use, after Xen's PV policy. Hidden:
// - paging features PV page tables refuse or the monitor owns: PSE, PSE36,
//   PGE, 1 GiB pages, PCID, INVPCID, LA57 (Linux would build a direct map
//   of superpages, or use instructions that fault in ring 3);
// - ring-0 only features: SMEP, SMAP (clac/stac), UMIP, PKU/OSPKE,
//   FSGSBASE (rd/wrfsbase), VMX, SVM, SMX, MONITOR/MWAIT(X), x2APIC, the
//   TSC deadline timer, DS, ACPI/TM/PBE, PDCM, Intel PT;
// - machine checks (MCE, MCA): Xen gives a PV guest a virtual MCA (vMCE
//   MSRs); pvvmm has none, so the guest must not look for one;
// - XSAVE and what depends on it (AVX...): Xen emulates xsetbv, pvvmm
//   does not yet, so Linux stays with FXSAVE (a documented deviation);
// - speculation-control MSRs (IBRS/IBPB, STIBP, SSBD, L1D_FLUSH,
//   ARCH_CAPABILITIES), which pvvmm does not virtualise: a guest must not
//   believe it set them.
// The hypervisor bit is set.
#pragma once

#include <stdint.h>

#include "monitor/arch/x86_64/cpu.hpp"

namespace monitor {

void apply_pv_cpuid_policy(uint32_t leaf, uint32_t subleaf, cpu::CpuidResult& c);

}  // namespace monitor
