#include "monitor/arch/x86_64/descriptors.hpp"

#include "guest-abi/layout.hpp"
#include "monitor/arch/x86_64/asm_offsets.hpp"
#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/arch/x86_64/regs.hpp"

// Per entry path: the 32 exception stubs, then one per interrupt_vectors[].
extern "C" const uint64_t idt_stubs_plain[36], idt_stubs_flag[36], idt_stubs_sign[36];
extern "C" void entry_plain(), entry_flag(), entry_sign(), exit_plain(), exit_flag(), exit_sign();
// Where enter_frame (the first entry into the guest) jumps: this path's exit.

namespace monitor {

namespace {

struct IdtGate {
    uint16_t offset_low, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_high, reserved;
};
static_assert(sizeof(IdtGate) == 16);

alignas(4096) IdtGate measurement_idt[32];

IdtGate* cpu_idt(uint32_t cpu) {
    return reinterpret_cast<IdtGate*>(layout::percpu_virt(cpu) + layout::percpu::kIdtOffset);
}
static_assert(256 * sizeof(IdtGate) == layout::kPageSize);

const uint64_t* stubs_for(EntryPath path) {
    return path == EntryPath::Flag ? idt_stubs_flag : path == EntryPath::Sign ? idt_stubs_sign : idt_stubs_plain;
}
uint64_t entry_for(EntryPath path) {
    return reinterpret_cast<uint64_t>(path == EntryPath::Flag   ? &entry_flag
                                      : path == EntryPath::Sign ? &entry_sign
                                                                : &entry_plain);
}
uint64_t exit_for(EntryPath path) {
    return reinterpret_cast<uint64_t>(path == EntryPath::Flag   ? &exit_flag
                                      : path == EntryPath::Sign ? &exit_sign
                                                                : &exit_plain);
}

struct Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
} __attribute__((packed));
static_assert(sizeof(Tss) == 104);

constexpr unsigned kIstNmi = 1, kIstDf = 2, kIstMc = 3;

// Xen's reserved GDT entries, as offsets from FIRST_RESERVED_GDT_BYTE.
constexpr uint64_t kCode64Dpl0 = 0x00af9b000000ffff;
constexpr uint64_t kDataDpl0 = 0x00cf93000000ffff;
constexpr uint64_t kCode32Dpl3 = 0x00cffb000000ffff;
constexpr uint64_t kDataDpl3 = 0x00cff3000000ffff;
constexpr uint64_t kCode64Dpl3 = 0x00affb000000ffff;

void set_gate(IdtGate* table, unsigned vec, uint64_t handler, unsigned dpl, unsigned ist) {
    auto& g = table[vec];
    g.offset_low = static_cast<uint16_t>(handler);
    g.selector = MONITOR_CS;
    g.ist = static_cast<uint8_t>(ist);
    g.type_attr = static_cast<uint8_t>(0x8e | (dpl << 5));  // present 64-bit interrupt gate
    g.offset_mid = static_cast<uint16_t>(handler >> 16);
    g.offset_high = static_cast<uint32_t>(handler >> 32);
    g.reserved = 0;
}

// Byte emitter for the syscall stub: RIP-relative displacements depend on
// where the stub runs, so each CPU's copy is generated for its address.
struct Emitter {
    uint8_t* out;
    uint64_t va;  // address the next byte will run at
    void b(uint8_t x) {
        *out++ = x;
        ++va;
    }
    void d32(uint32_t x) {
        for (int i = 0; i < 4; ++i)
            b(static_cast<uint8_t>(x >> (8 * i)));
    }
    void q64(uint64_t x) {
        for (int i = 0; i < 8; ++i)
            b(static_cast<uint8_t>(x >> (8 * i)));
    }
    // Emits opcode bytes then a disp32 relative to the end of the instruction.
    void riprel(uint64_t target, uint32_t trailing_bytes = 0) {
        d32(static_cast<uint32_t>(target - (va + 4 + trailing_bytes)));
    }
};

// On a real-x86 KVM, syscall enters ring 0 here with the guest's rsp: park
// it, switch to this CPU's frame, and build the same frame an exception
// would have produced. (On hosts where syscall stays in ring 3 this page is
// supervisor-only, so the CPL3 fetch faults instead; see traps/.)
// One stub per entry MSR: LSTAR's frames say CS 0xe033, CSTAR's (a syscall
// from 32-bit user code) 0xe023, which picks the guest's syscall32 callback.
void write_syscall_stub(uint32_t cpu, EntryPath path, uint64_t offset, uint16_t cs) {
    const uint64_t base = layout::percpu_virt(cpu);
    const uint64_t scratch = base + PERCPU_CPUINFO_OFFSET + CPUINFO_SCRATCH_RSP;
    const uint64_t frame_top = base + PERCPU_CPUINFO_OFFSET + REGS_SIZE;
    Emitter e{reinterpret_cast<uint8_t*>(layout::direct_map(layout::percpu_gpa(cpu) + PERCPU_STUB_OFFSET + offset)),
              base + PERCPU_STUB_OFFSET + offset};
    e.b(0x48), e.b(0x89), e.b(0x25), e.riprel(scratch);    // mov %rsp, scratch(%rip)
    e.b(0x48), e.b(0x8d), e.b(0x25), e.riprel(frame_top);  // lea frame_top(%rip), %rsp
    e.b(0x68), e.d32(GUEST_SS);                            // push $ss
    e.b(0xff), e.b(0x35), e.riprel(scratch);               // push scratch(%rip)  (rsp)
    e.b(0x41), e.b(0x53);                                  // push %r11           (rflags)
    e.b(0x68), e.d32(cs);                                  // push $cs
    e.b(0x51);                                             // push %rcx           (rip)
    e.b(0x6a), e.b(0x00);                                  // push $0             (error code)
    e.b(0x68), e.d32(VECTOR_SYSCALL);                      // push $VECTOR_SYSCALL
    e.b(0x48), e.b(0xb9), e.q64(entry_for(path));          // movabs $entry, %rcx
    e.b(0xff), e.b(0xe1);                                  // jmp *%rcx
}

unsigned normal_dpl(unsigned v) { return (v == 3 || v == 4) ? 3 : 0; }  // int3 / into from the guest
unsigned normal_ist(unsigned v) { return v == 2 ? kIstNmi : v == 8 ? kIstDf : v == 18 ? kIstMc : 0; }

void set_normal_gate(IdtGate* table, const uint64_t* stubs, unsigned v) {
    set_gate(table, v, stubs[v], normal_dpl(v), normal_ist(v));
}

// DPL 0: a guest's `int $0xf0` is a #GP (Xen's semantics for an unregistered
// soft interrupt), never a fake interrupt.
constexpr unsigned interrupt_vectors[] = {VECTOR_LAPIC_TIMER, VECTOR_HOST_KICK, VECTOR_IPI, VECTOR_SPURIOUS};

void set_interrupt_gates(IdtGate* table, const uint64_t* stubs) {
    for (unsigned i = 0; i < 4; ++i)
        set_gate(table, interrupt_vectors[i], stubs[32 + i], 0, 0);
}

}  // namespace

void load_measurement_idt(unsigned vector, uint64_t handler) {
    for (unsigned v = 0; v < 32; ++v)
        set_normal_gate(measurement_idt, idt_stubs_plain, v);
    set_gate(measurement_idt, vector, handler, 3, 0);
    cpu::lidt({sizeof(measurement_idt) - 1, reinterpret_cast<uint64_t>(measurement_idt)});
}

void load_cpu_idt() {
    cpu::lidt(
        {256 * sizeof(IdtGate) - 1, reinterpret_cast<uint64_t>(cpu_idt(static_cast<uint32_t>(this_cpu()->cpu_id)))});
}

void use_entry_path(uint32_t cpu, EntryPath path) {
    // Each CPU has its own IDT, so the restricted root maps only its own.
    for (unsigned v = 0; v < 32; ++v)
        set_normal_gate(cpu_idt(cpu), stubs_for(path), v);
    set_interrupt_gates(cpu_idt(cpu), stubs_for(path));
    write_syscall_stub(cpu, path, 0, GUEST_CS64);
    write_syscall_stub(cpu, path, layout::percpu::kCstarStubOffset, layout::selector::kGuestCs32);
    // Per CPU: a global here let a late secondary vCPU's set-up switch vCPU 0's
    // first exit to the plain path under XPTI (CR3 0 at the next entry).
    cpu_info_of(cpu)->exit_path = exit_for(path);
}

void setup_cpu_descriptors(uint32_t cpu) {
    namespace pc = layout::percpu;
    const uint64_t base = layout::percpu_virt(cpu);

    auto* gdt = reinterpret_cast<uint64_t*>(base + pc::kGdtReservedOffset);
    gdt[1] = kCode64Dpl0;  // 0xe008
    gdt[2] = kDataDpl0;    // 0xe010
    gdt[4] = kCode32Dpl3;  // 0xe023 FLAT_RING3_CS32
    gdt[5] = kDataDpl3;    // 0xe02b FLAT_RING3_DS32/SS
    gdt[6] = kCode64Dpl3;  // 0xe033 FLAT_RING3_CS64
    const uint64_t tss_va = base + pc::kTssOffset;
    gdt[8] = 0x67 | ((tss_va & 0xffffff) << 16) | (0x8bull << 40) | (((tss_va >> 24) & 0xff) << 56);  // busy TSS
    gdt[9] = tss_va >> 32;

    auto* tss = reinterpret_cast<Tss*>(tss_va);
    tss->rsp[0] = base + PERCPU_CPUINFO_OFFSET + REGS_SIZE;
    tss->ist[kIstNmi - 1] = base + pc::kIstNmiOffset + 0x1000;
    tss->ist[kIstDf - 1] = base + pc::kIstDfOffset + 0x1000;
    tss->ist[kIstMc - 1] = base + pc::kIstMcOffset + 0x1000;
    tss->iomap_base = sizeof(Tss);

    use_entry_path(cpu, EntryPath::Plain);
    load_cpu_idt();
    cpu::wrmsr(cpu::kMsrStar,
               (static_cast<uint64_t>(layout::selector::kGuestCs32) << 48) | (static_cast<uint64_t>(MONITOR_CS) << 32));
    cpu::wrmsr(cpu::kMsrLstar, base + PERCPU_STUB_OFFSET);
    cpu::wrmsr(cpu::kMsrCstar, base + PERCPU_STUB_OFFSET + layout::percpu::kCstarStubOffset);
    cpu::wrmsr(cpu::kMsrSfmask,
               cpu::kRflagsTf | cpu::kRflagsIf | cpu::kRflagsDf | cpu::kRflagsAc | cpu::kRflagsNt | cpu::kRflagsIopl);
}

}  // namespace monitor
