#include "monitor/traps/priv_op.hpp"

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/mm/address_space.hpp"
#include "monitor/state.hpp"
#include "monitor/traps/emulate.hpp"
#include "pagetables/entry.hpp"

namespace monitor {

namespace {

constexpr uint64_t kCr0Ts = 1u << 3;
// Xen's PV_CR4_GUEST_MASK (TSD, DE, OSXSAVE; FSGSBASE too, but CPUID hides
// it here) and PV_CR4_GUEST_VISIBLE_MASK (PAE, MCE, OSFXSR, OSXMMEXCPT).
constexpr uint64_t kCr4GuestControlled = (1u << 2) | (1u << 3) | (1u << 18);
constexpr uint64_t kCr4GuestVisible = (1u << 5) | (1u << 6) | (1u << 9) | (1u << 10);

constexpr uint32_t kMsrApicBase = 0x1b;
constexpr uint32_t kMsrMiscEnable = 0x1a0;
constexpr uint32_t kMsrPat = 0x277;
constexpr uint64_t kApicBaseValue = 0xfee00000 | (1u << 11);  // default base, enabled
constexpr uint64_t kApicBaseBsp = 1u << 8;
constexpr uint64_t kXenPat = 0x0000050100070406;  // Xen's XEN_MSR_PAT: WB, WT, UC-, UC, WC, WP
constexpr uint64_t kEferSvme = 1u << 12;
// MISC_ENABLE as Xen shows it: no perfmon or MONITOR, BTS/PEBS unavailable.
constexpr uint64_t kMiscEnableHidden = (1u << 7) | (1u << 18);
constexpr uint64_t kMiscEnableForced = (1u << 11) | (1u << 12) | (1ull << 23);

constexpr uint16_t kPciConfigAddress = 0xcf8;

// The decoded instruction: legacy prefixes and REX, then the opcode bytes.
struct Insn {
    uint8_t bytes[15];
    unsigned at = 0;  // first opcode byte
    bool operand_size = false;
    uint8_t rex = 0;
};

bool decode_prefixes(const GuestRegs& r, Insn& i) {
    if (!fetch_insn(r, i.bytes, 8))
        return false;
    for (; i.at < 4; ++i.at) {
        const uint8_t b = i.bytes[i.at];
        if (b == 0x66)
            i.operand_size = true;
        else if (b != 0xf2 && b != 0xf3)
            break;
    }
    if ((i.bytes[i.at] & 0xf0) == 0x40)
        i.rex = i.bytes[i.at++];
    return true;
}

// Xen's iopl_ok: the guest kernel counts as ring 1, user mode as ring 3.
bool iopl_allows(const Vcpu& v) { return v.iopl >= (v.kernel_mode ? 1 : 3); }

uint32_t port_read(uint16_t port, unsigned bytes) {
    if (port == kPciConfigAddress && bytes == 4)
        return domain().pci_cf8;
    return bytes == 4 ? 0xffffffffu : (1u << (bytes * 8)) - 1;
}

void port_write(uint16_t port, unsigned bytes, uint32_t value) {
    if (port == kPciConfigAddress && bytes == 4)
        domain().pci_cf8 = value;
}

// in/out with an immediate or %dx port. Returns the length, 0 if not one.
unsigned emulate_port_io(GuestRegs& r, const Insn& i) {
    const uint8_t op = i.bytes[i.at];
    const bool imm = (op & 0xfc) == 0xe4, dx = (op & 0xfc) == 0xec;
    if (!imm && !dx)
        return 0;
    const unsigned bytes = (op & 1) == 0 ? 1 : i.operand_size ? 2 : 4;
    const uint16_t port = imm ? i.bytes[i.at + 1] : static_cast<uint16_t>(r.rdx);
    if (op & 2) {
        port_write(port, bytes, static_cast<uint32_t>(r.rax));
    } else {
        const uint64_t mask = bytes == 4 ? 0xffffffffull : (1ull << (bytes * 8)) - 1;
        const uint64_t value = port_read(port, bytes);
        r.rax = bytes == 4 ? value : (r.rax & ~mask) | value;  // a 32-bit result zero-extends
    }
    return i.at + (imm ? 2 : 1);
}

bool read_cr(Vcpu& v, unsigned cr, uint64_t& value) {
    switch (cr) {
    case 0: value = (cpu::read_cr0() & ~kCr0Ts) | (v.cr0_ts ? kCr0Ts : 0); return true;
    case 2: value = vcpu_info(v).arch.cr2; return true;
    case 3: value = active_l4_mfn(v) << layout::kPageShift; return true;
    case 4: value = v.cr4; return true;
    default: return false;
    }
}

bool write_cr(GuestRegs& r, Vcpu& v, unsigned cr, uint64_t value) {
    switch (cr) {
    case 0:
        if ((value ^ cpu::read_cr0()) & ~kCr0Ts)
            return false;  // Xen: "Attempt to change unmodifiable CR0 flags"
        v.cr0_ts = value & kCr0Ts;
        return true;
    case 2: vcpu_info(v).arch.cr2 = value; return true;
    case 3: return set_base(v, value >> layout::kPageShift, false) == 0;
    case 4: v.cr4 = guest_cr4_view(value); return true;
    default: (void)r; return false;
    }
}

// 0f 20 / 0f 22: mov from / to a control register (the ModRM mod bits are
// ignored, as the CPU does).
unsigned emulate_mov_cr(GuestRegs& r, Vcpu& v, const Insn& i) {
    const uint8_t modrm = i.bytes[i.at + 2];
    const unsigned cr = ((modrm >> 3) & 7) | ((i.rex & 4) << 1);
    uint64_t* reg = gpr(r, (modrm & 7) | ((i.rex & 1) << 3));
    if (i.bytes[i.at + 1] == 0x20) {
        uint64_t value;
        if (!read_cr(v, cr, value))
            return 0;
        *reg = value;
    } else if (!write_cr(r, v, cr, *reg)) {
        return 0;
    }
    return i.at + 3;
}

bool read_msr(const Vcpu& v, uint32_t msr, uint64_t& value) {
    switch (msr) {
    case cpu::kMsrFsBase: value = v.fs_base; return true;
    case cpu::kMsrGsBase: value = v.gs_base_kernel; return true;
    case cpu::kMsrKernelGsBase: value = v.gs_base_user; return true;
    case kMsrApicBase: value = kApicBaseValue | (v.id == 0 ? kApicBaseBsp : 0); return true;
    case cpu::kMsrEfer: value = cpu::rdmsr(cpu::kMsrEfer) & ~kEferSvme; return true;
    case kMsrPat: value = kXenPat; return true;
    case kMsrMiscEnable: value = kMiscEnableForced; return true;
    default:
        // Xen fakes 0 for a guest that could not handle the #GP yet.
        value = 0;
        return v.traps[13].address == 0;
    }
}

bool write_msr(Vcpu& v, uint32_t msr, uint64_t value) {
    switch (msr) {
    case cpu::kMsrFsBase:
    case cpu::kMsrGsBase:
    case cpu::kMsrKernelGsBase:
        if (!pt::is_canonical(value))
            return false;
        if (msr == cpu::kMsrFsBase)
            v.fs_base = value;
        else if (msr == cpu::kMsrGsBase)
            v.gs_base_kernel = value;
        else
            v.gs_base_user = value;
        if (msr != cpu::kMsrKernelGsBase)
            cpu::wrmsr(msr, value);
        return true;
    case cpu::kMsrEfer: return value == (cpu::rdmsr(cpu::kMsrEfer) & ~kEferSvme);  // Linux writes back what it read
    case kMsrMiscEnable: return value == kMiscEnableForced;
    default: return false;
    }
}

unsigned emulate_msr(GuestRegs& r, Vcpu& v, const Insn& i) {
    const uint32_t msr = static_cast<uint32_t>(r.rcx);
    if (i.bytes[i.at + 1] == 0x30) {
        if (!write_msr(v, msr, (r.rdx << 32) | (r.rax & 0xffffffff)))
            return 0;
    } else {
        uint64_t value;
        if (!read_msr(v, msr, value))
            return 0;
        r.rax = value & 0xffffffff;
        r.rdx = value >> 32;
    }
    return i.at + 2;
}

}  // namespace

uint64_t guest_cr4_view(uint64_t requested) {
    return (cpu::read_cr4() & kCr4GuestVisible) | (requested & kCr4GuestControlled);
}

bool emulate_privileged(GuestRegs& r) {
    Vcpu& v = current();
    Insn i;
    if (!decode_prefixes(r, i))
        return false;
    const uint8_t op = i.bytes[i.at];
    unsigned len = 0;
    if (op == 0xfa || op == 0xfb) {  // cli / sti: allowed, and no effect
        len = iopl_allows(v) ? i.at + 1 : 0;
    } else if ((op & 0xfc) == 0xe4 || (op & 0xfc) == 0xec) {
        len = iopl_allows(v) ? emulate_port_io(r, i) : 0;
    } else if (op == 0x0f && v.kernel_mode) {
        switch (i.bytes[i.at + 1]) {
        case 0x06: v.cr0_ts = false, len = i.at + 2; break;  // clts
        case 0x09: len = i.at + 2; break;                    // wbinvd: ignored, as Xen does for a domU
        case 0x20:
        case 0x22: len = emulate_mov_cr(r, v, i); break;
        case 0x30:
        case 0x32: len = emulate_msr(r, v, i); break;
        case 0xa2:  // cpuid, where it faults
            guest_cpuid(r);
            len = i.at + 2;
            break;
        default: break;
        }
    }
    if (len == 0)
        return false;
    r.rip += len;
    v.counters->emulated_privileged++;
    return true;
}

}  // namespace monitor
