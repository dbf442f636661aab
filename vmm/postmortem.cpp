#include "vmm/postmortem.hpp"

#include <fmt/format.h>

#include "guest-abi/layout.hpp"
#include "monitor/arch/x86_64/asm_offsets.hpp"
#include "pagetables/walk.hpp"

namespace pvvmm {
namespace {

struct PerCpuReader {
    const GuestMemory& mem;
    uint64_t base;
    [[nodiscard]] uint64_t word(uint64_t offset) const {
        const auto* p = mem.object<uint64_t>(base + offset);
        return p ? *p : 0;
    }
};

// The frame the CPU pushes at the top of an IST stack (error code, rip, cs,
// rflags, rsp, ss); all zero while that stack was never used.
std::string ist_frame(const PerCpuReader& r, const char* name, uint64_t stack_offset) {
    const uint64_t top = stack_offset + layout::kPageSize;
    const uint64_t ss = r.word(top - 8), rsp = r.word(top - 16), rflags = r.word(top - 24), cs = r.word(top - 32),
                   rip = r.word(top - 40), error = r.word(top - 48);
    if ((ss | rsp | rflags | cs | rip) == 0)
        return fmt::format("; {} stack unused", name);
    return fmt::format("; last {} frame: rip={:#x} cs={:#x} rflags={:#x} rsp={:#x} (error code or below: {:#x})", name,
                       rip, cs, rflags, rsp, error);
}

// Tables as found: an entry may point anywhere, outside memory reads as 0.
struct FoundTables {
    const GuestMemory& mem;
    [[nodiscard]] uint64_t read(uint64_t table_pa, unsigned index) const {
        const auto* e = mem.object<uint64_t>(table_pa + index * 8ull);
        return e ? *e : 0;
    }
    void write(uint64_t, unsigned, uint64_t) const {}
};

// A guest L4 the vCPU may run on must hold the L4 type (4) while it does:
// with none, the guest may have reused the frame as data.
std::string frame_type(const GuestMemory& mem, uint64_t cr3) {
    const uint64_t mfn = (cr3 & pt::kAddrMask) >> layout::kPageShift;
    if (mfn == 0)
        return "";
    const uint64_t info = layout::kFrameTableGpa + mfn * layout::kFrameInfoSize;
    if (info >= layout::kFrameTableEnd)
        return "";
    const auto* type = mem.object<uint8_t>(info + layout::kFrameInfoTypeOffset);
    const auto* count = mem.object<uint32_t>(info + layout::kFrameInfoTypeCountOffset);
    if (!type || !count)
        return "";
    return fmt::format(" (frame type {}, {} type references)", *type, *count);
}

// What delivering an exception needs mapped in the CR3 it happens on: a
// triple fault with every IST stack unused means one of these was not.
std::string unmapped_in(const GuestMemory& mem, uint32_t cpu, const char* name, uint64_t cr3) {
    namespace pc = layout::percpu;
    struct Needed {
        uint64_t offset;
        const char* what;
    };
    static constexpr Needed kNeeded[] = {{pc::kIdtOffset, "IDT"},
                                         {pc::kGdtReservedOffset, "GDT (monitor part)"},
                                         {pc::kTssOffset, "TSS"},
                                         {pc::kStackOffset + pc::kStackSize - 8, "stack top"},
                                         {pc::kIstDfOffset + layout::kPageSize - 8, "#DF stack"}};
    const uint64_t root = cr3 & ~uint64_t{0xfff};
    if (root == 0 || !mem.contains(root, layout::kPageSize))
        return fmt::format("; {} {:#x} is no root", name, cr3);
    FoundTables tables{mem};
    std::string missing;
    for (const auto& n : kNeeded) {
        const uint64_t va = layout::percpu_virt(cpu) + n.offset;
        const auto t = pt::walk(tables, root, va);
        if (!t.present)
            missing += fmt::format(" {} ({:#x}: no level-{} entry)", n.what, va, t.fault_level);
    }
    return missing.empty() ? fmt::format("; {} maps what exception delivery needs", name)
                           : fmt::format("; {} lacks{}", name, missing);
}

// The CPU writes the guest's CS into the frame on every entry (monitor_cr3
// stays 0 with XPTI off): zero means the vCPU never entered the monitor.
bool entered(const PerCpuReader& r) { return r.word(REGS_CS) != 0; }

// The guest frame of the last entry (a hypercall's number and first
// arguments in rax, rdi, rsi, rdx) and the CR3 state beside it.
std::string last_entry(const PerCpuReader& r) {
    if (!entered(r))
        return "no guest entry yet";
    return fmt::format(
        "last guest entry: vector {:#x} error {:#x} rip={:#x} cs={:#x} rsp={:#x} rax={:#x} rdi={:#x} rsi={:#x} "
        "rdx={:#x}; xen_cr3={:#x} pv_cr3={:#x} monitor_cr3={:#x} use_pv_cr3={} last CR3 written={:#x}",
        r.word(REGS_VECTOR), r.word(REGS_ERROR_CODE), r.word(REGS_RIP), r.word(REGS_CS), r.word(REGS_RSP),
        r.word(REGS_RAX), r.word(REGS_RDI), r.word(REGS_RSI), r.word(REGS_RDX), r.word(CPUINFO_XEN_CR3),
        r.word(CPUINFO_PV_CR3), r.word(CPUINFO_MONITOR_CR3), r.word(CPUINFO_USE_PV_CR3) & 0xff,
        r.word(CPUINFO_LAST_CR3_WRITTEN));
}

}  // namespace

std::string describe_monitor_remains(const GuestMemory& mem, uint32_t cpu) {
    const PerCpuReader r{mem, layout::percpu_gpa(cpu) + PERCPU_CPUINFO_OFFSET};
    std::string s = last_entry(r);
    const PerCpuReader area{mem, layout::percpu_gpa(cpu)};
    s += ist_frame(area, "#DF", layout::percpu::kIstDfOffset);
    s += ist_frame(area, "NMI", layout::percpu::kIstNmiOffset);
    // With XPTI off pv_cr3 and monitor_cr3 stay 0: the monitor runs on the
    // guest's L4 itself, the last CR3 written.
    const uint64_t monitor_cr3 = r.word(CPUINFO_MONITOR_CR3);
    if (monitor_cr3 == 0) {
        const uint64_t loaded = r.word(CPUINFO_LAST_CR3_WRITTEN);
        return s + unmapped_in(mem, cpu, "last CR3 written", loaded) + frame_type(mem, loaded);
    }
    s += unmapped_in(mem, cpu, "pv_cr3", r.word(CPUINFO_PV_CR3));
    return s + unmapped_in(mem, cpu, "monitor_cr3", monitor_cr3) + frame_type(mem, monitor_cr3);
}

std::string describe_last_entry(const GuestMemory& mem, uint32_t cpu) {
    return last_entry(PerCpuReader{mem, layout::percpu_gpa(cpu) + PERCPU_CPUINFO_OFFSET});
}

std::string describe_other_vcpus(const GuestMemory& mem, uint32_t cpu) {
    std::string s;
    for (uint32_t other = 0; other < layout::kMaxVcpus; ++other) {
        const PerCpuReader r{mem, layout::percpu_gpa(other) + PERCPU_CPUINFO_OFFSET};
        if (other != cpu && entered(r))
            s += fmt::format("{}vCPU {}: {}", s.empty() ? "" : "\n", other, last_entry(r));
    }
    return s;
}

}  // namespace pvvmm
