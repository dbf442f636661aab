#include "monitor/traps/pt_write.hpp"

#include "monitor/smp/domain_lock.hpp"

#include "monitor/mm/address_space.hpp"
#include "monitor/mm/frame_table.hpp"
#include "monitor/mm/pv_mmu.hpp"
#include "monitor/state.hpp"
#include "monitor/traps/emulate.hpp"
#include "monitor/traps/insn_decode.hpp"
#include "pagetables/entry.hpp"

namespace monitor {

namespace {

constexpr uint64_t kCf = 1u << 0, kPf = 1u << 2, kAf = 1u << 4, kZf = 1u << 6, kSf = 1u << 7, kOf = 1u << 11;
constexpr uint64_t kArithFlags = kCf | kPf | kAf | kZf | kSf | kOf;

// What the instructions that write page-table entries do to memory.
enum class Op : uint8_t { Mov, Xchg, Cmpxchg, Add, Or, And, Sub, Xor, Bts, Btr, Btc };

struct Decoded {
    Op op;
    unsigned width;   // operand bytes: 1, 2, 4 or 8
    unsigned length;  // instruction bytes
    unsigned reg;     // the register operand (ModRM reg with REX.R)
    bool immediate;   // the source is `imm`, not `reg`
    uint64_t imm;
};

uint64_t width_mask(unsigned width) { return width == 8 ? ~0ull : (1ull << (width * 8)) - 1; }

int64_t sign_extend(uint64_t value, unsigned bytes) {
    const unsigned shift = 64 - bytes * 8;
    return static_cast<int64_t>(value << shift) >> shift;
}

uint64_t read_immediate(const uint8_t* at, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; ++i)
        v |= static_cast<uint64_t>(at[i]) << (8 * i);
    return v;
}

// The group-1 ALU operations that write their destination (cmp does not).
bool alu_op(unsigned sub, Op& op) {
    constexpr Op kOps[8] = {Op::Add, Op::Or, Op::Mov, Op::Mov, Op::And, Op::Sub, Op::Xor, Op::Mov};
    if (sub == 2 || sub == 3 || sub == 7)
        return false;  // adc, sbb, cmp: Linux does not write PTEs with them
    op = kOps[sub];
    return true;
}

// Decodes what Linux uses on PTEs: mov, xchg, cmpxchg, add/or/and/sub/xor
// (register or immediate source) and bts/btr/btc, with lock, operand-size,
// segment and REX prefixes. The memory operand is the fault address, so
// only the instruction's length is taken from its ModRM.
bool decode(const uint8_t* b, unsigned available, Decoded& d) {
    unsigned at = 0;
    bool operand_size = false;
    for (; at < 4; ++at) {
        const uint8_t p = b[at];
        if (p == 0x66)
            operand_size = true;
        else if (p != 0xf0 && p != 0x2e && p != 0x36 && p != 0x3e && p != 0x26 && p != 0x64 && p != 0x65)
            break;
    }
    uint8_t rex = 0;
    if ((b[at] & 0xf0) == 0x40)
        rex = b[at++];
    const unsigned wide = (rex & 8) ? 8 : operand_size ? 2 : 4;
    uint8_t op = b[at++];
    bool two_byte = false;
    if (op == 0x0f) {
        two_byte = true;
        op = b[at++];
    }
    if (at + 1 > available)
        return false;
    const ModRm m = decode_modrm(&b[at]);
    if (!m.memory)
        return false;
    d.reg = m.reg | ((rex & 4) << 1);
    unsigned imm_bytes = 0;
    d.immediate = false;
    if (!two_byte) {
        if (op <= 0x31 && (op & 6) == 0) {  // 00/01 add .. 30/31 xor, register to memory
            if (!alu_op(op >> 3, d.op))
                return false;
            d.width = (op & 1) ? wide : 1;
        } else if (op == 0x80 || op == 0x81 || op == 0x83) {
            if (!alu_op(m.reg, d.op))
                return false;
            d.width = op == 0x80 ? 1 : wide;
            imm_bytes = op == 0x81 ? (wide == 2 ? 2 : 4) : 1;
            d.immediate = true;
        } else if (op == 0x88 || op == 0x89) {
            d.op = Op::Mov;
            d.width = op == 0x88 ? 1 : wide;
        } else if ((op == 0xc6 || op == 0xc7) && m.reg == 0) {
            d.op = Op::Mov;
            d.width = op == 0xc6 ? 1 : wide;
            imm_bytes = op == 0xc6 ? 1 : (wide == 2 ? 2 : 4);
            d.immediate = true;
        } else if (op == 0x86 || op == 0x87) {
            d.op = Op::Xchg;
            d.width = op == 0x86 ? 1 : wide;
        } else {
            return false;
        }
    } else if (op == 0xb0 || op == 0xb1) {
        d.op = Op::Cmpxchg;
        d.width = op == 0xb0 ? 1 : wide;
    } else if (op == 0xab || op == 0xb3 || op == 0xbb) {
        d.op = op == 0xab ? Op::Bts : op == 0xb3 ? Op::Btr : Op::Btc;
        d.width = wide;
    } else if (op == 0xba && m.reg >= 5) {
        d.op = m.reg == 5 ? Op::Bts : m.reg == 6 ? Op::Btr : Op::Btc;
        d.width = wide;
        imm_bytes = 1;
        d.immediate = true;
    } else {
        return false;
    }
    d.length = at + m.length + imm_bytes;
    if (d.length > available)
        return false;
    if (d.immediate) {
        const uint64_t raw = read_immediate(&b[at + m.length], imm_bytes);
        // Bit offsets are unsigned; other immediates sign-extend to the operand.
        d.imm = (d.op == Op::Bts || d.op == Op::Btr || d.op == Op::Btc)
                    ? raw
                    : static_cast<uint64_t>(sign_extend(raw, imm_bytes));
    }
    return true;
}

// ZF, SF and PF of a result; CF, OF and AF clear (the logic operations).
uint64_t result_flags(uint64_t result, unsigned width) {
    result &= width_mask(width);
    uint64_t f = 0;
    if (result == 0)
        f |= kZf;
    if ((result >> (width * 8 - 1)) & 1)
        f |= kSf;
    if ((__builtin_popcountll(result & 0xff) & 1) == 0)
        f |= kPf;
    return f;
}

uint64_t add_sub_flags(uint64_t a, uint64_t b, uint64_t result, unsigned width, bool subtract) {
    const uint64_t mask = width_mask(width);
    a &= mask;
    b &= mask;
    result &= mask;
    uint64_t f = result_flags(result, width);
    if (subtract ? a < b : result < a)
        f |= kCf;
    const uint64_t overflow = subtract ? (a ^ b) & (a ^ result) : ~(a ^ b) & (a ^ result);
    if ((overflow >> (width * 8 - 1)) & 1)
        f |= kOf;
    if ((a ^ b ^ result) & 0x10)
        f |= kAf;
    return f;
}

// A register write of `width` bytes: 4 zero-extends, 1 and 2 merge. Byte
// registers 4-7 without REX would be ah..bh; Linux never writes PTEs so.
void write_register(GuestRegs& r, unsigned index, uint64_t value, unsigned width) {
    uint64_t* reg = gpr(r, index);
    if (width >= 4)
        *reg = value & width_mask(width);
    else
        *reg = (*reg & ~width_mask(width)) | (value & width_mask(width));
}

struct Result {
    uint64_t value;  // the new memory operand
    uint64_t flags;  // arithmetic flags (kArithFlags bits)
    bool writes;     // false: memory keeps its value (a failed cmpxchg)
};

Result compute(GuestRegs& r, const Decoded& d, uint64_t old) {
    const uint64_t mask = width_mask(d.width);
    const uint64_t src = (d.immediate ? d.imm : *gpr(r, d.reg)) & mask;
    const uint64_t keep_flags = r.rflags & kArithFlags;
    switch (d.op) {
    case Op::Mov: return {src, keep_flags, true};
    case Op::Xchg: write_register(r, d.reg, old, d.width); return {src, keep_flags, true};
    case Op::Cmpxchg: {
        const uint64_t acc = r.rax & mask;
        const uint64_t flags = add_sub_flags(acc, old, acc - old, d.width, true);
        if (acc == old)
            return {src, flags, true};
        write_register(r, 0, old, d.width);
        return {old, flags, false};
    }
    case Op::Add: return {old + src, add_sub_flags(old, src, old + src, d.width, false), true};
    case Op::Sub: return {old - src, add_sub_flags(old, src, old - src, d.width, true), true};
    case Op::Or: return {old | src, result_flags(old | src, d.width), true};
    case Op::And: return {old & src, result_flags(old & src, d.width), true};
    case Op::Xor: return {old ^ src, result_flags(old ^ src, d.width), true};
    case Op::Bts:
    case Op::Btr:
    case Op::Btc: {
        // The CPU addressed the word holding the bit (cr2); within it the
        // offset counts modulo the operand width.
        const uint64_t bit = 1ull << (src & (d.width * 8 - 1));
        const uint64_t flags = (keep_flags & ~kCf) | ((old & bit) ? kCf : 0);
        const uint64_t value = d.op == Op::Bts ? old | bit : d.op == Op::Btr ? old & ~bit : old ^ bit;
        return {value, flags, true};
    }
    }
    return {old, keep_flags, false};
}

// Up to 15 instruction bytes, fewer where the next page is not mapped.
unsigned fetch(const GuestRegs& r, uint8_t* bytes) {
    if (fetch_insn(r, bytes, 15))
        return 15;
    const unsigned to_page_end = static_cast<unsigned>(0x1000 - (r.rip & 0xfff));
    return to_page_end < 15 && fetch_insn(r, bytes, to_page_end) ? to_page_end : 0;
}

}  // namespace

bool emulate_page_table_write(GuestRegs& r, uint64_t cr2) {
    if (!domain().writable_pagetables)
        return false;
    Vcpu& v = current();
    // The read-modify-write of the entry is atomic with respect to other
    // vCPUs' page-table updates (a guest `lock xchg` stays one).
    smp::DomainLock lock(v);
    const uint64_t l1_mfn = mm::find_l1(active_l4_mfn(v), cr2);
    if (l1_mfn == 0)
        return false;
    const uint64_t pte = frame_ptr<uint64_t>(l1_mfn)[pt::table_index(cr2, 1)];
    if ((pte & (pt::kPresent | pt::kWritable)) != pt::kPresent)
        return false;  // only read-only mappings (Xen: "We are only looking for read-only mappings")
    const uint64_t target = (pte & pt::kAddrMask) >> layout::kPageShift;
    if (!is_domain_mfn(target))
        return false;
    const auto& f = mm::frame(target);
    if (f.type != mm::FrameType::L1 || f.type_count == 0)
        return false;  // Xen's ptwr emulates L1 writes only

    uint8_t bytes[15];
    const unsigned available = fetch(r, bytes);
    Decoded d{};
    if (available == 0 || !decode(bytes, available, d))
        return false;
    const unsigned offset = static_cast<unsigned>(cr2 & 7);
    if (offset + d.width > 8)
        return false;  // Xen allows naturally aligned stores within one entry
    const unsigned index = static_cast<unsigned>((cr2 & 0xfff) >> 3);
    const unsigned shift = offset * 8;
    const uint64_t mask = width_mask(d.width);
    const GuestRegs before = r;
    Result res;
    // Another vCPU's hardware may set the entry's accessed/dirty bits while
    // this computes: then read it again (an xchg must return them).
    for (int rc = mm::kEntryChanged; rc == mm::kEntryChanged;) {
        r = before;
        const uint64_t entry = frame_ptr<uint64_t>(target)[index];
        res = compute(r, d, (entry >> shift) & mask);
        if (!res.writes)
            break;
        const uint64_t updated = (entry & ~(mask << shift)) | ((res.value & mask) << shift);
        rc = mm::update_entry_if(target, index, entry, updated);
        if (rc < 0) {
            r = before;  // refused: the guest sees its fault, registers untouched
            return false;
        }
        if (rc == mm::kEntryChanged)
            v.counters->emulated_pt_write_retries++;
    }
    r.rflags = (r.rflags & ~kArithFlags) | res.flags;
    r.rip += d.length;
    v.counters->emulated_pt_writes++;
    return true;
}

}  // namespace monitor
