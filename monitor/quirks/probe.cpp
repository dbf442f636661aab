#include "monitor/quirks/probe.hpp"

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/arch/x86_64/descriptors.hpp"
#include "monitor/log.hpp"
#include "monitor/state.hpp"

extern "C" [[noreturn]] void enter_frame(monitor::GuestRegs* regs);
extern "C" void bare_iret();

namespace monitor::quirks {

namespace {

enum Step : uint32_t { kSyscall = 0, kIntN = 1, kSlot256 = 2, kSelectors = 3, kBareRoundTrip = 4, kDone = 5 };

// Ring-3 code of each experiment, at 16-byte slots of the probe page.
constexpr uint8_t kSyscallCode[] = {0x0f, 0x05};                                  // syscall
constexpr uint8_t kIntNCode[] = {0xcd, 0x80};                                     // int $0x80
constexpr uint8_t kSlot256Code[] = {0x48, 0xa1, 0, 0, 0, 0, 0, 0x80, 0xff, 0xff,  // movabs 0xffff800000000000, %rax
                                    0x0f, 0x0b};                // ud2: reached only if the read worked
constexpr uint8_t kSelectorsCode[] = {0x8c, 0xc8, 0x0f, 0x0b};  // mov %cs, %eax; ud2
constexpr uint64_t kSlotSize = 16;

// Bare round trip: rdtsc, kBareIterations x int3 (to the iretq-only
// handler), rdtsc, ud2 back to the monitor with both TSC values in registers.
constexpr uint32_t kBareIterations = 32;
constexpr unsigned kBareBatches = 7;
constexpr uint8_t kBareCode[] = {
    0xb9, kBareIterations,
    0,    0,
    0,           // mov $kBareIterations, %ecx
    0x0f, 0x31,  // rdtsc
    0x89, 0xc6,  // mov %eax, %esi
    0x89, 0xd7,  // mov %edx, %edi
    0xcc,        // 1: int3
    0xff, 0xc9,  // dec %ecx
    0x75, 0xfb,  // jnz 1b
    0x0f, 0x31,  // rdtsc
    0x0f, 0x0b,  // ud2
};
constexpr uint64_t kBareOffset = 0x100;
uint64_t bare_samples[kBareBatches];
unsigned bare_done = 0;

uint32_t step = kDone;
void (*continuation)() = nullptr;

[[noreturn]] void run_step(uint32_t s) {
    step = s;
    probe_running = true;
    auto& r = this_cpu()->regs;
    r = GuestRegs{};
    r.rip = layout::kProbeVirt + (s == kBareRoundTrip ? kBareOffset : s * kSlotSize);
    r.cs = GUEST_CS64;
    r.ss = GUEST_SS;
    r.rflags = 0x2;
    enter_frame(&r);
}

void record_bare_round_trip() {
    for (unsigned i = 1; i < kBareBatches; ++i)  // insertion sort: 7 values
        for (unsigned j = i; j > 0 && bare_samples[j - 1] > bare_samples[j]; --j) {
            const uint64_t t = bare_samples[j];
            bare_samples[j] = bare_samples[j - 1];
            bare_samples[j - 1] = t;
        }
    auto& ch = channel();
    ch.bare_round_trip_median = bare_samples[kBareBatches / 2];
    ch.bare_round_trip_min = bare_samples[0];
}

}  // namespace

bool probe_running = false;

void start_probe(void (*boot_continue)()) {
    continuation = boot_continue;
    auto* page = reinterpret_cast<uint8_t*>(layout::direct_map(layout::kProbePageGpa));
    __builtin_memcpy(page + kSyscall * kSlotSize, kSyscallCode, sizeof(kSyscallCode));
    __builtin_memcpy(page + kIntN * kSlotSize, kIntNCode, sizeof(kIntNCode));
    __builtin_memcpy(page + kSlot256 * kSlotSize, kSlot256Code, sizeof(kSlot256Code));
    __builtin_memcpy(page + kSelectors * kSlotSize, kSelectorsCode, sizeof(kSelectorsCode));
    __builtin_memcpy(page + kBareOffset, kBareCode, sizeof(kBareCode));
    run_step(kSyscall);
}

void on_probe_trap(GuestRegs& r) {
    auto& quirks = domain().quirks;
    switch (step) {
    case kSyscall:
        // Real x86: the stub ran in ring 0 and reports VECTOR_SYSCALL.
        // Here: a #PF on the supervisor-only stub, fetched from CPL3.
        if (r.vector == 14 && r.rip == layout::percpu_virt(0) + PERCPU_STUB_OFFSET)
            quirks |= abi::kQuirkSyscallStaysInRing3;
        else if (r.vector != VECTOR_SYSCALL)
            panic_regs(&r, "probe: syscall from ring 3 gave vector %lu", r.vector);
        run_step(kIntN);
    case kIntN:
        if (r.vector == 6)
            quirks |= abi::kQuirkIntNRaisesUd;
        // Real x86: #GP, error (0x80 << 3) | 2 (QEMU's emulated CPUs say 0x80 * 16 + 2).
        else if (!(r.vector == 13 && (r.error_code & 7) == 2))
            panic_regs(&r, "probe: int $0x80 from ring 3 gave vector %lu error %#lx", r.vector, r.error_code);
        run_step(kSlot256);
    case kSlot256:
        if (r.vector == 14 && r.rip == layout::kProbeVirt + kSlot256 * kSlotSize)
            quirks |= abi::kQuirkSlot256FaultsRing3;
        else if (!(r.vector == 6 && r.rip == layout::kProbeVirt + kSlot256 * kSlotSize + 10))
            panic_regs(&r, "probe: ring-3 read of slot 256 gave vector %lu", r.vector);
        run_step(kSelectors);
    case kSelectors:
        if (r.vector != 6)
            panic_regs(&r, "probe: reading %%cs in ring 3 gave vector %lu", r.vector);
        if ((r.rax & 0xffff) != GUEST_CS64)
            quirks |= abi::kQuirkRing3HostSelectors;
        load_measurement_idt(3, reinterpret_cast<uint64_t>(&bare_iret));
        run_step(kBareRoundTrip);
    case kBareRoundTrip: {
        if (r.vector != 6)
            panic_regs(&r, "probe: bare round trip ended with vector %lu", r.vector);
        const uint64_t start = (r.rdi << 32) | (r.rsi & 0xffffffff);
        const uint64_t end = (r.rdx << 32) | (r.rax & 0xffffffff);
        bare_samples[bare_done++] = (end - start) / kBareIterations;
        if (bare_done < kBareBatches)
            run_step(kBareRoundTrip);
        load_cpu_idt();
        record_bare_round_trip();
        step = kDone;
        probe_running = false;
        continuation();
        panic("probe continuation returned");
    }
    default: panic_regs(&r, "probe: trap in unknown step %u", step);
    }
}

const char* describe(uint32_t q) {
    if (q == 0)
        return "none (real-x86 behaviour)";
    static char buf[160];
    buf[0] = 0;
    size_t n = 0;
    auto add = [&](const char* s) {
        while (*s && n + 1 < sizeof(buf))
            buf[n++] = *s++;
        buf[n] = 0;
    };
    if (q & abi::kQuirkSyscallStaysInRing3)
        add("syscall-stays-in-ring3 ");
    if (q & abi::kQuirkIntNRaisesUd)
        add("int-N-raises-#UD(decoded) ");
    if (q & abi::kQuirkSlot256FaultsRing3)
        add("slot-256-faults-in-ring3(M2P reads emulated) ");
    if (q & abi::kQuirkRing3HostSelectors)
        add("ring3-reads-host-selectors(cs 0x33) ");
    return buf;
}

}  // namespace monitor::quirks
