#include "monitor/traps/emulate.hpp"

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/address_space.hpp"
#include "monitor/state.hpp"
#include "monitor/traps/bounce.hpp"
#include "monitor/traps/cpuid_policy.hpp"
#include "monitor/traps/insn_decode.hpp"
#include "pagetables/entry.hpp"

extern "C" uint64_t copy_guest(void* dst, const void* src, uint64_t n);

namespace monitor {

namespace {

constexpr uint32_t kXenCpuidBase = 0x40000000;

}  // namespace

bool fetch_insn(const GuestRegs& r, uint8_t* buf, unsigned n) {
    return copy_guest(buf, reinterpret_cast<const void*>(r.rip), n) == 0;
}

uint64_t* gpr(GuestRegs& r, unsigned index) {
    uint64_t* map[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, &r.rsp, &r.rbp, &r.rsi, &r.rdi,
                         &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
    return map[index & 15];
}

// CPUID as a Xen PV guest sees it: Xen's leaves at 0x40000000, the rest
// from the hardware through the PV policy (cpuid_policy.hpp).
void guest_cpuid(GuestRegs& r) {
    const uint32_t leaf = static_cast<uint32_t>(r.rax);
    cpu::CpuidResult c{};
    if (leaf == kXenCpuidBase) {
        c = {kXenCpuidBase + 2, 0x566e6558, 0x65584d4d, 0x4d4d566e};  // "XenVMMXenVMM"
    } else if (leaf == kXenCpuidBase + 1) {
        c = {(4u << 16) | 17u, 0, 0, 0};  // Xen 4.17 interface
    } else if (leaf == kXenCpuidBase + 2) {
        c = {1, 0x40000000, 0, 0};  // one hypercall page, MSR index
    } else if (leaf == abi::kQuirkCpuidLeaf) {
        c = {domain().quirks, 0x6d767670, 0x7551766d, 0x736b7269};  // "pvvmmQuirks" (little endian)
    } else if (leaf >= kXenCpuidBase && leaf < kXenCpuidBase + 0x10000) {
        c = {0, 0, 0, 0};
    } else {
        c = cpu::cpuid(leaf, static_cast<uint32_t>(r.rcx));
        apply_pv_cpuid_policy(leaf, static_cast<uint32_t>(r.rcx), c);
    }
    r.rax = c.eax;
    r.rbx = c.ebx;
    r.rcx = c.ecx;
    r.rdx = c.edx;
    current().counters->emulated_cpuid++;
}

bool emulate_forced_cpuid(GuestRegs& r) {
    // ud2; .ascii "xen"; cpuid
    static constexpr uint8_t kPrefix[] = {0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2};
    uint8_t insn[sizeof(kPrefix)];
    if (!fetch_insn(r, insn, sizeof(insn)) || __builtin_memcmp(insn, kPrefix, sizeof(kPrefix)) != 0)
        return false;
    guest_cpuid(r);
    r.rip += sizeof(kPrefix);
    return true;
}

void deliver_soft_interrupt(GuestRegs& r, unsigned vector, unsigned insn_len) {
    const auto& t = current().traps[vector];
    if (t.address != 0 && t.dpl == 3) {
        r.rip += insn_len;  // a trap: returns after the instruction
        bounce_to_guest(r, Bounce{t.address, false, 0, t.disables_events});
        return;
    }
    deliver_exception(r, 13, true, (vector << 3) | 2);
}

bool emulate_soft_interrupt_after_ud(GuestRegs& r) {
    if (!has_quirk(abi::kQuirkIntNRaisesUd))
        return false;
    uint8_t insn[2];
    if (!fetch_insn(r, insn, 2) || insn[0] != 0xcd)
        return false;
    current().counters->emulated_int_n++;
    deliver_soft_interrupt(r, insn[1], 2);
    return true;
}

bool emulate_soft_interrupt_after_gp(GuestRegs& r) {
    uint8_t insn[2];
    if (!fetch_insn(r, insn, 2) || insn[0] != 0xcd)
        return false;
    deliver_soft_interrupt(r, insn[1], 2);
    return true;
}

bool emulate_m2p_read(GuestRegs& r, uint64_t cr2) {
    if (!has_quirk(abi::kQuirkSlot256FaultsRing3) || cr2 < layout::kM2pRoVirt || cr2 >= layout::kM2pRoAliasVirt)
        return false;
    // Decode a plain load: [REX] 8B /r (mov r/m, reg) or REX.W A1 moffs64.
    uint8_t insn[16];
    if (!fetch_insn(r, insn, sizeof(insn)) && !fetch_insn(r, insn, 8))
        return false;
    unsigned at = 0, rex = 0;
    if ((insn[0] & 0xf0) == 0x40)
        rex = insn[at++];
    const bool wide = rex & 8;
    const uint64_t offset = cr2 - layout::kM2pRoVirt;
    const uint64_t m2p_end = domain().boot.total_frames * 8;
    if (offset + (wide ? 8 : 4) > ((m2p_end + 0xfff) & ~0xfffull))
        return false;
    uint64_t value = 0;
    __builtin_memcpy(&value, reinterpret_cast<const void*>(layout::kM2pRoVirt + offset), wide ? 8 : 4);
    unsigned len;
    unsigned dest;
    if (insn[at] == 0xa1) {
        dest = 0;
        len = at + 9;
    } else if (insn[at] == 0x8b) {
        const ModRm m = decode_modrm(&insn[at + 1]);
        if (!m.memory)
            return false;
        dest = m.reg | ((rex & 4) << 1);
        len = at + 1 + m.length;
    } else {
        return false;
    }
    *gpr(r, dest) = wide ? value : (value & 0xffffffff);
    r.rip += len;
    current().counters->emulated_m2p_reads++;
    return true;
}

}  // namespace monitor
