// A second vCPU (needs --vcpus 2; skipped with one):
//  - bring-up as Xen's VCPUOP_* (public/vcpu.h): is_up, up before
//    initialise, initialise's refusals (non-canonical rip, a kernel or user
//    L4 that cannot be typed as one), -EEXIST the second time, and vCPU 1
//    starting with exactly the registers, selectors, segment bases and
//    virtual IOPL its context named;
//  - event-channel IPIs both ways, each side waiting in SCHEDOP_poll with
//    events masked (Linux's PV spinlocks);
//  - the race Xen's XPTI review was about: vCPU 1 runs on X, an L4 of its
//    own, and faults on A, whose slot in X is empty; vCPU 0 fills the slot
//    with mmu_update and no flush. Under XPTI vCPU 1 runs on a restricted
//    root holding a copy of X's slots, so only the root refresh the writer
//    sends (Xen's FLUSH_ROOT_PGTBL) lets it see A; without it, it faults
//    forever. Kernel mode first: kernel -> kernel needs no root switch, so
//    nothing else recopies the root (a kernel/user toggle does in Xen, and
//    would hide a lost refresh). Then from user mode (X is also vCPU 1's
//    user L4). Then the other direction: remote TLB flushes after vCPU 0
//    remaps B (every remap on a B of its own), and clears A's slot,
//    under vCPU 1's feet;
//  - VCPUOP_down on itself (returns 0 once brought up again) and from
//    vCPU 0 (it runs no more guest code).
// vCPU 1's code: smp_second_vcpu.cpp, smp_entry.S.
#include "../lib/console.hpp"
#include "../lib/events.hpp"
#include "../lib/pvclock.hpp"
#include "../lib/shared_info.hpp"
#include "../lib/string.hpp"
#include "events_support.hpp"
#include "mmu_helpers.hpp"
#include "smp_second_vcpu.hpp"
#include "subtest.hpp"

namespace {

using smp::Command;
using smp::shared;

// L4 slots that the boot L4 leaves empty; their L3, L2 and L1 index is 0.
constexpr unsigned kKernelRaceSlot = 2, kUserRaceSlot = 3;
constexpr uint64_t kKernelRaceA = uint64_t{kKernelRaceSlot} << 39;
constexpr uint64_t kUserRaceA = uint64_t{kUserRaceSlot} << 39;  // the same L3: the same frame as A
// B: a page of its own for each remap (L1 index 1..32), so that a
// translation one flush left stale cannot hide whether the next one works.
// A stale entry outlives the change only while nothing else empties vCPU
// 1's TLB (where a VM exit does, as on an emulated machine, a lost flush
// shows in some of the remaps only), so each way to flush gets several.
constexpr unsigned kRemoteFlushes = 4, kRemapsPerFlush = 8;
constexpr uint64_t race_b(unsigned remap) { return kKernelRaceA + (1 + remap) * 4096; }

constexpr uint64_t kPatternA = 0x5e1f0a0a5e1f0a0a;
constexpr uint64_t kPatternOld = 0x01d0b0b001d0b0b0;
constexpr uint64_t kPatternNew = 0x4e30b0b04e30b0b0;

constexpr uint32_t kFaultBound = 1000;  // faults on A once its slot is installed: "endless"
constexpr unsigned kRoundTrips = 300;
constexpr uint64_t kReadsBeforeChange = 64;  // B (or A) is in vCPU 1's TLB by then
constexpr uint64_t kMs = 1'000'000;

constexpr uint64_t kTable = pt::present | pt::writable | pt::user | pt::accessed;
constexpr uint64_t kData = kTable | pt::dirty;
constexpr uint64_t kRflagsIf = 1u << 9, kRflagsIopl1 = 1u << 12;
constexpr uint64_t kNonCanonical = 1ull << 47;
constexpr unsigned kReservedSlotFirst = 256, kReservedSlotLast = 271;  // the hypervisor's L4 slots

// What the initial context's segment bases point at.
volatile uint64_t fs_target = 0xf5ba5e0ff5ba5e0f;
volatile uint64_t gs_target = 0x65ba5e0f65ba5e0f;
constexpr uint64_t kGsBaseUser = 0x00007f0000001000;

uint64_t vcpu1_only = 1u << 1;  // the vcpumask of the MULTI flushes

// vCPU 1's L4 (X) and the chain its race slots get: L3 -> L2 -> L1 mapping
// A to smp_page_a and each B to smp_page_b_old.
struct Tables {
    uint64_t l4, l3, l2, l1;
};
Tables tables{};

vcpu_guest_context_t context;  // ~5 KiB: not on the stack
uint32_t posted = 0;

uint64_t now() { return pvclock::system_time_ns(); }
uint64_t mfn_of(const char* page) { return physmap::virt_to_mfn(physmap::address_of(page)); }
inline void relax() { asm volatile("pause" ::: "memory"); }
volatile uint64_t& word(char* page) { return *reinterpret_cast<volatile uint64_t*>(page); }

void spin_for(uint64_t ns) {
    const uint64_t until = now() + ns;
    while (now() < until)
        relax();
}

// One MMU_NORMAL_PT_UPDATE of entry `index` of table `mfn`: 0 or why not.
long write_entry(uint64_t mfn, unsigned index, uint64_t value) {
    unsigned done = 0;
    const long rc = mmu::write_pte((mfn << 12) + index * sizeof(uint64_t), value, &done);
    return rc != 0 ? rc : (done == 1 ? 0 : -1);
}

long vcpu_op(int command, void* argument = nullptr) { return hv::vcpu_op(command, 1, argument); }

// The tables, in frames beyond the boot mapping (events_support.cpp uses
// the last four): cleared and written with MMUEXT_CLEAR_PAGE and
// mmu_update while they are no page tables yet, so no mapping of them (and
// no flush a test hook might drop) is needed; then pinned, which validates
// them. X holds every guest slot of the boot L4 but the race slots.
const char* build_tables() {
    const uint64_t pages = physmap::nr_pages();
    tables = Tables{physmap::pfn_to_mfn(pages - 5), physmap::pfn_to_mfn(pages - 6), physmap::pfn_to_mfn(pages - 7),
                    physmap::pfn_to_mfn(pages - 8)};
    const volatile uint64_t* boot = pt::top_level_table();
    const uint64_t boot_mfn = pt::top_level_mfn();
    if ((boot[kKernelRaceSlot] | boot[kUserRaceSlot]) & pt::present)
        return "the boot L4 uses the race slots 2 and 3";
    const uint64_t frames[] = {tables.l4, tables.l3, tables.l2, tables.l1};
    for (const uint64_t mfn : frames)
        if (mmu::mmuext_mfn(MMUEXT_CLEAR_PAGE, mfn) != 0)
            return "MMUEXT_CLEAR_PAGE of a free frame failed";
    for (unsigned remap = 0; remap < kRemoteFlushes * kRemapsPerFlush; ++remap)
        if (write_entry(tables.l1, pt::index(race_b(remap), 1), pt::entry(mfn_of(smp_page_b_old), kData)) != 0)
            return "writing the L1 entries of B failed";
    if (write_entry(tables.l1, pt::index(kKernelRaceA, 1), pt::entry(mfn_of(smp_page_a), kData)) != 0 ||
        write_entry(tables.l2, pt::index(kKernelRaceA, 2), pt::entry(tables.l1, kTable)) != 0 ||
        write_entry(tables.l3, pt::index(kKernelRaceA, 3), pt::entry(tables.l2, kTable)) != 0)
        return "writing the race chain's entries failed";
    for (unsigned slot = 0; slot < pt::entries_per_table; ++slot) {
        const uint64_t e = boot[slot];
        if ((slot >= kReservedSlotFirst && slot <= kReservedSlotLast) || !(e & pt::present) ||
            pt::mfn_of(e) == boot_mfn)
            continue;
        if (write_entry(tables.l4, slot, e) != 0)
            return "copying the boot L4's slots into X failed";
    }
    if (mmu::mmuext_mfn(MMUEXT_PIN_L3_TABLE, tables.l3) != 0)
        return "pinning the race chain's L3 failed";
    if (mmu::mmuext_mfn(MMUEXT_PIN_L4_TABLE, tables.l4) != 0)
        return "pinning X as an L4 failed";
    return nullptr;
}

// Distinct values, to see that each general register arrives as given.
constexpr uint64_t marker(unsigned i) { return 0x5350000000000000 | (uint64_t{i} << 8) | i; }
constexpr const char* kRegisterNames[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
                                          "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

void fill_context(uint64_t kernel_l4, uint64_t user_l4) {
    vcpu_guest_context_t& c = context;
    memset(&c, 0, sizeof c);
    c.flags = VGCF_in_kernel | VGCF_failsafe_disables_events | VGCF_syscall_disables_events;
    cpu_user_regs_t& r = c.user_regs;
    r.rax = marker(0), r.rbx = marker(1), r.rcx = marker(2), r.rdx = marker(3), r.rsi = marker(4);
    r.rdi = marker(5), r.rbp = marker(6), r.r8 = marker(7), r.r9 = marker(8), r.r10 = marker(9);
    r.r11 = marker(10), r.r12 = marker(11), r.r13 = marker(12), r.r14 = marker(13), r.r15 = marker(14);
    r.rip = reinterpret_cast<uint64_t>(smp_second_entry);
    r.rsp = reinterpret_cast<uint64_t>(smp_second_stack_top);
    r.cs = FLAT_KERNEL_CS;
    r.ss = FLAT_KERNEL_SS;
    r.rflags = 0x2 | kRflagsIopl1;  // IF clear: the real flags get it anyway, events follow the mask
    for (unsigned vector = 0; vector < sizeof smp_trap_stubs / sizeof smp_trap_stubs[0]; ++vector) {
        if (smp_trap_stubs[vector] == 0)
            continue;
        trap_info& t = c.trap_ctxt[vector];  // indexed by vector, as Xen's arch_set_info_guest reads it
        t.vector = static_cast<uint8_t>(vector);
        t.flags = static_cast<uint8_t>((vector == 3 || vector == 4 ? 3 : 0) | 4);  // DPL, events masked
        t.cs = FLAT_KERNEL_CS;
        t.address = smp_trap_stubs[vector];
    }
    c.kernel_ss = FLAT_KERNEL_SS;
    c.kernel_sp = reinterpret_cast<uint64_t>(smp_bounce_stack_top);
    c.ctrlreg[3] = xen_pfn_to_cr3(kernel_l4);
    c.ctrlreg[1] = xen_pfn_to_cr3(user_l4);
    c.event_callback_eip = reinterpret_cast<uint64_t>(smp_second_event_entry);
    c.failsafe_callback_eip = reinterpret_cast<uint64_t>(smp_second_failsafe_entry);
    c.syscall_callback_eip = reinterpret_cast<uint64_t>(smp_second_syscall_entry);
    c.fs_base = reinterpret_cast<uint64_t>(&fs_target);
    c.gs_base_kernel = reinterpret_cast<uint64_t>(&gs_target);
    c.gs_base_user = kGsBaseUser;
}

long initialise() { return vcpu_op(VCPUOP_initialise, &context); }

// ---- talking to vCPU 1 ----

template <typename Done>
bool wait_for(Done done, uint64_t timeout_ns) {
    const uint64_t deadline = now() + timeout_ns;
    while (!done()) {
        if (__atomic_load_n(&shared.unexpected, __ATOMIC_ACQUIRE) != 0 || now() > deadline)
            return done();
        relax();
    }
    return true;
}

// Why vCPU 1 did not get somewhere: a trap it did not expect, or nothing.
Outcome stuck(const char* what) {
    if (__atomic_load_n(&shared.unexpected, __ATOMIC_ACQUIRE) != 0)
        return failed("vCPU 1 took an unexpected %s (error %#lx) at rip %#lx cs %#lx, cr2 %#lx, while %s",
                      traps::vector_name(static_cast<unsigned>(shared.unexpected_vector)), shared.unexpected_error,
                      shared.unexpected_rip, shared.unexpected_cs, shared.unexpected_cr2, what);
    return failed("vCPU 1 got stuck while %s", what);
}

void post(Command command, uint64_t argument = 0) {
    shared.signal = 0;
    shared.reads = 0;
    shared.faults = 0;
    shared.faults_after_signal = 0;
    shared.gave_up = 0;
    shared.command = command;
    shared.argument = argument;
    __atomic_store_n(&shared.posted, ++posted, __ATOMIC_RELEASE);
}

bool finished(uint64_t timeout_ns) {
    return wait_for([] { return __atomic_load_n(&shared.finished, __ATOMIC_ACQUIRE) == posted; }, timeout_ns);
}

void signal() { __atomic_store_n(&shared.signal, 1, __ATOMIC_SEQ_CST); }

// ---- the parts ----

Outcome bring_up() {
    long rc = vcpu_op(VCPUOP_is_up);
    REQUIRE(rc == 0, "VCPUOP_is_up(1) returned %ld before bring-up, expected 0", rc);
    rc = vcpu_op(VCPUOP_up);
    REQUIRE(rc == -XEN_EINVAL, "VCPUOP_up(1) before VCPUOP_initialise returned %ld, expected -EINVAL", rc);

    fill_context(tables.l4, tables.l4);
    context.user_regs.rip = kNonCanonical;
    rc = initialise();
    REQUIRE(rc == -XEN_EINVAL, "VCPUOP_initialise with the non-canonical rip %#lx returned %ld, expected -EINVAL",
            kNonCanonical, rc);
    fill_context(tables.l1, 0);
    rc = initialise();
    REQUIRE(rc == -XEN_EINVAL, "VCPUOP_initialise with ctrlreg[3] naming an L1 in use returned %ld, expected -EINVAL",
            rc);
    fill_context(mfn_of(smp_page_a), 0);
    rc = initialise();
    REQUIRE(rc == -XEN_EINVAL,
            "VCPUOP_initialise with ctrlreg[3] naming a frame mapped writable returned %ld, expected -EINVAL", rc);
    fill_context(tables.l4, mfn_of(smp_page_a));
    rc = initialise();
    REQUIRE(rc == -XEN_EINVAL,
            "VCPUOP_initialise with ctrlreg[1] (user L4) naming a frame mapped writable returned %ld, expected -EINVAL",
            rc);
    rc = vcpu_op(VCPUOP_up);
    REQUIRE(rc == -XEN_EINVAL, "VCPUOP_up(1) after refused initialisations returned %ld, expected -EINVAL", rc);

    fill_context(tables.l4, tables.l4);
    rc = initialise();
    REQUIRE(rc == 0, "VCPUOP_initialise(1) returned %ld", rc);
    rc = initialise();
    REQUIRE(rc == -XEN_EEXIST, "VCPUOP_initialise(1) a second time returned %ld, expected -EEXIST", rc);
    REQUIRE(vcpu_op(VCPUOP_is_up) == 0, "vCPU 1 is up after VCPUOP_initialise alone");

    xen_shared::page()->vcpu_info[1].evtchn_upcall_mask = 1;  // vCPU 1 polls, it takes no upcalls
    rc = vcpu_op(VCPUOP_up);
    REQUIRE(rc == 0, "VCPUOP_up(1) returned %ld", rc);
    rc = vcpu_op(VCPUOP_is_up);
    REQUIRE(rc == 1, "VCPUOP_is_up(1) returned %ld after VCPUOP_up, expected 1", rc);
    if (!wait_for([] { return __atomic_load_n(&shared.alive, __ATOMIC_ACQUIRE) != 0; }, 5000 * kMs))
        return stuck("starting at smp_second_entry (nothing within 5 s)");

    const smp::EntryRecord& e = smp::entry_record;
    const uint64_t registers[] = {e.rax, e.rbx, e.rcx, e.rdx, e.rsi, e.rdi, e.rbp, e.r8,
                                  e.r9,  e.r10, e.r11, e.r12, e.r13, e.r14, e.r15};
    for (unsigned i = 0; i < sizeof registers / sizeof registers[0]; ++i)
        REQUIRE(registers[i] == marker(i), "vCPU 1 started with %s = %#lx, its context said %#lx", kRegisterNames[i],
                registers[i], marker(i));
    REQUIRE(e.rsp == context.user_regs.rsp, "vCPU 1 started with rsp %#lx, its context said %#lx", e.rsp,
            context.user_regs.rsp);
    REQUIRE(e.cs == FLAT_KERNEL_CS && e.ss == FLAT_KERNEL_SS,
            "vCPU 1 started with cs %#lx ss %#lx, expected %#x %#x (kernel mode, VGCF_in_kernel)", e.cs, e.ss,
            FLAT_KERNEL_CS, FLAT_KERNEL_SS);
    REQUIRE(e.rflags & kRflagsIf, "vCPU 1's real rflags %#lx lack IF", e.rflags);
    REQUIRE(e.ds == 0 && e.es == 0, "vCPU 1 started with ds %#lx es %#lx, its context said null", e.ds, e.es);
    const smp::StartView& view = shared.start;
    REQUIRE(view.fs_word == fs_target && view.gs_word == gs_target,
            "vCPU 1 read %%fs:0 = %#lx and %%gs:0 = %#lx, expected %#lx and %#lx (fs_base, gs_base_kernel)",
            view.fs_word, view.gs_word, fs_target, gs_target);
    REQUIRE(
        view.fs_base == context.fs_base && view.gs_base == context.gs_base_kernel && view.gs_base_user == kGsBaseUser,
        "vCPU 1's rdmsr of FS_BASE, GS_BASE, KERNEL_GS_BASE gave %#lx %#lx %#lx, expected %#lx %#lx %#lx", view.fs_base,
        view.gs_base, view.gs_base_user, context.fs_base, context.gs_base_kernel, kGsBaseUser);
    REQUIRE(view.port_byte == 0xff, "vCPU 1's inb $0x80 under IOPL 1 read %#lx, expected 0xff", view.port_byte);
    print(
        "conformance:   smp: bring-up: VCPUOP_is_up/up/initialise as Xen; vCPU 1 started with its context's "
        "registers, stack, segment bases and IOPL\n");
    return passed();
}

Outcome inter_processor_events(evs::Scope& scope) {
    long rc = events::bind_ipi(1, &shared.to_second);
    REQUIRE(rc == 0, "EVTCHNOP_bind_ipi(vcpu 1) returned %ld", rc);
    scope.keep(shared.to_second);
    rc = events::bind_ipi(0, &shared.to_first);
    REQUIRE(rc == 0, "EVTCHNOP_bind_ipi(vcpu 0) returned %ld", rc);
    scope.keep(shared.to_first);
    events::mask(shared.to_second);  // polled, never delivered
    events::mask(shared.to_first);

    static uint64_t cycles[kRoundTrips];
    post(Command::ping_pong, kRoundTrips);
    for (uint32_t i = 1; i <= kRoundTrips; ++i) {
        const uint64_t start = __builtin_ia32_rdtsc();
        __atomic_store_n(&shared.ping, i, __ATOMIC_RELEASE);
        rc = events::send(shared.to_second);
        REQUIRE(rc == 0, "EVTCHNOP_send to vCPU 1's port returned %ld", rc);
        const uint64_t deadline = now() + 2000 * kMs;
        while (__atomic_load_n(&shared.pong, __ATOMIC_ACQUIRE) < i) {
            if (now() > deadline || shared.unexpected)
                return stuck("answering IPIs (round trip with no answer within 2 s)");
            evs::poll(&shared.to_first, 1, now() + 100 * kMs);
            events::clear_pending(shared.to_first);
        }
        cycles[i - 1] = __builtin_ia32_rdtsc() - start;
    }
    if (!finished(2000 * kMs))
        return stuck("ending the IPI round trips");
    for (unsigned i = 1; i < kRoundTrips; ++i)  // insertion sort, for the median
        for (unsigned j = i; j > 0 && cycles[j - 1] > cycles[j]; --j) {
            const uint64_t t = cycles[j];
            cycles[j] = cycles[j - 1];
            cycles[j - 1] = t;
        }
    print(
        "conformance:   smp: ipi: %u round trips vCPU 0 -> 1 -> 0 (SCHEDOP_poll, events masked), median %lu TSC "
        "cycles\n",
        kRoundTrips, cycles[kRoundTrips / 2]);
    return passed();
}

// vCPU 1 faults on `address` (slot `slot` of X empty) until vCPU 0 installs
// the slot, without any flush of its own.
Outcome race_install(Command command, uint64_t address, unsigned slot, const char* mode) {
    shared.fault_bound = kFaultBound;
    post(command, address);
    if (!wait_for([] { return shared.faults >= 3 || shared.finished == posted; }, 5000 * kMs))
        return stuck("faulting on A before its slot was installed");
    REQUIRE(shared.finished != posted, "vCPU 1 read A (%#lx, %s) as %#lx while its L4 slot in X was empty", address,
            mode, shared.result);
    const uint32_t before = shared.faults;
    const long rc = write_entry(tables.l4, slot, pt::entry(tables.l3, kTable));
    REQUIRE(rc == 0, "mmu_update of X's L4 slot %u returned %ld", slot, rc);
    signal();
    if (!finished(30000 * kMs))
        return stuck("faulting on A after its slot was installed (neither read nor gave up within 30 s)");
    REQUIRE(!shared.gave_up,
            "vCPU 1 took %u page faults on A (%s) after vCPU 0 installed its L4 entry: endless faults (root refresh "
            "lost?)",
            shared.faults_after_signal, mode);
    REQUIRE(shared.result == kPatternA, "vCPU 1 read %#lx at A (%s) once mapped, expected %#lx", shared.result, mode,
            kPatternA);
    print("conformance:   smp: race: slot installed on vCPU 0 seen by vCPU 1 (%s) after %u faults (%u before)\n", mode,
          shared.faults_after_signal, before);
    return passed();
}

struct RemoteFlush {
    const char* name;
    unsigned command;
    bool multi;  // names vCPU 1 in a vcpumask
};
constexpr RemoteFlush remote_flushes[kRemoteFlushes] = {
    {"MMUEXT_TLB_FLUSH_MULTI(vCPU 1)", MMUEXT_TLB_FLUSH_MULTI, true},
    {"MMUEXT_INVLPG_MULTI(vCPU 1)", MMUEXT_INVLPG_MULTI, true},
    {"MMUEXT_TLB_FLUSH_ALL", MMUEXT_TLB_FLUSH_ALL, false},
    {"MMUEXT_INVLPG_ALL", MMUEXT_INVLPG_ALL, false},
};

long remote_flush(const RemoteFlush& flush, uint64_t address) {
    return flush.multi ? mmu::mmuext_raw(flush.command, address, reinterpret_cast<uint64_t>(&vcpu1_only))
                       : mmu::mmuext(flush.command, address);
}

// Remaps after which vCPU 1 still read the old frame, the first named.
struct StaleReads {
    unsigned count = 0;
    const char* first = "";
};

// vCPU 1 keeps reading B; vCPU 0 maps it to the new frame, flushes with
// `flush`, then says so: vCPU 1's next read must see the new frame.
Outcome remap_under_reader(const RemoteFlush& flush, uint64_t address, StaleReads& stale, uint64_t& reads) {
    post(Command::read_until_flushed, address);
    if (!wait_for([] { return shared.reads >= kReadsBeforeChange; }, 5000 * kMs))
        return stuck("reading B");
    long rc = write_entry(tables.l1, pt::index(address, 1), pt::entry(mfn_of(smp_page_b_new), kData));
    REQUIRE(rc == 0, "mmu_update of B's L1 entry returned %ld", rc);
    rc = remote_flush(flush, address);
    REQUIRE(rc == 0, "%s returned %ld", flush.name, rc);
    signal();
    if (!finished(5000 * kMs))
        return stuck("reading B after the remote flush");
    reads += shared.reads;
    if (shared.result == kPatternOld) {
        if (stale.count++ == 0)
            stale.first = flush.name;
        return passed();
    }
    REQUIRE(shared.result == kPatternNew, "vCPU 1 read %#lx at B after %s, neither frame's pattern", shared.result,
            flush.name);
    return passed();
}

// Every remap of every way to flush; a stale read is counted, so that one
// run shows each flush that went missing.
Outcome remaps_under_reader() {
    StaleReads stale;
    unsigned remap = 0;
    for (const RemoteFlush& flush : remote_flushes) {
        const unsigned stale_before = stale.count;
        uint64_t reads = 0;
        for (unsigned i = 0; i < kRemapsPerFlush; ++i)
            if (Outcome o = remap_under_reader(flush, race_b(remap++), stale, reads); o.kind != Outcome::Kind::ok)
                return o;
        if (stale.count == stale_before)
            print("conformance:   smp: race: old frame not read after remote flush %s (%u remaps, %lu reads)\n",
                  flush.name, kRemapsPerFlush, reads);
    }
    REQUIRE(stale.count == 0,
            "%u of %u remote flushes left vCPU 1 reading B's old frame after they returned; first: %s", stale.count,
            kRemoteFlushes * kRemapsPerFlush, stale.first);
    return passed();
}

// vCPU 1 keeps reading A; vCPU 0 clears A's L4 slot and flushes vCPU 1:
// its next read must fault.
Outcome clear_under_reader() {
    post(Command::read_until_cleared, kKernelRaceA);
    if (!wait_for([] { return shared.reads >= kReadsBeforeChange; }, 5000 * kMs))
        return stuck("reading A");
    REQUIRE(shared.faults == 0, "vCPU 1 faulted on A while its slot was installed");
    long rc = write_entry(tables.l4, kKernelRaceSlot, 0);
    REQUIRE(rc == 0, "mmu_update clearing X's L4 slot %u returned %ld", kKernelRaceSlot, rc);
    rc = remote_flush(remote_flushes[0], 0);
    REQUIRE(rc == 0, "%s returned %ld", remote_flushes[0].name, rc);
    signal();
    if (!finished(5000 * kMs))
        return stuck("reading A after its slot was cleared");
    REQUIRE(shared.result == smp::kReadAbandoned,
            "vCPU 1 still read A (%#lx) after vCPU 0 cleared its L4 slot and flushed with %s", shared.result,
            remote_flushes[0].name);
    print("conformance:   smp: race: cleared slot faults on vCPU 1 after remote flush %s (%lu reads)\n",
          remote_flushes[0].name, shared.reads);
    return passed();
}

// vCPU 1 downs itself: it stays in VCPUOP_down until vCPU 0 brings it up,
// and the call then returns 0.
Outcome down_self() {
    post(Command::down_self);
    if (!wait_for([] { return hv::vcpu_op(VCPUOP_is_up, 1, nullptr) == 0; }, 5000 * kMs))
        return stuck("calling VCPUOP_down on itself (still up after 5 s)");
    spin_for(20 * kMs);
    REQUIRE(shared.finished != posted, "vCPU 1's VCPUOP_down on itself returned (%ld) while it was down",
            static_cast<long>(shared.result));
    const long rc = vcpu_op(VCPUOP_up);
    REQUIRE(rc == 0, "VCPUOP_up(1) after it downed itself returned %ld", rc);
    if (!finished(5000 * kMs))
        return stuck("coming back from VCPUOP_down on itself");
    REQUIRE(shared.result == 0, "VCPUOP_down on itself returned %ld once brought up again, expected 0",
            static_cast<long>(shared.result));
    print("conformance:   smp: VCPUOP_down on itself returned 0 when brought up again\n");
    return passed();
}

// vCPU 0 downs vCPU 1 while it counts: the count stops.
Outcome down_from_vcpu0() {
    post(Command::count_forever);
    if (!wait_for([] { return shared.counter != 0; }, 5000 * kMs))
        return stuck("counting");
    long rc = vcpu_op(VCPUOP_down);
    REQUIRE(rc == 0, "VCPUOP_down(1) returned %ld", rc);
    rc = vcpu_op(VCPUOP_is_up);
    REQUIRE(rc == 0, "VCPUOP_is_up(1) returned %ld after VCPUOP_down(1), expected 0", rc);
    spin_for(50 * kMs);  // it stops on its way back to guest code, soon after the call
    const uint64_t stopped_at = shared.counter;
    spin_for(100 * kMs);
    REQUIRE(shared.counter == stopped_at, "vCPU 1 still ran guest code after VCPUOP_down(1): counter %lu -> %lu",
            stopped_at, shared.counter);
    print("conformance:   smp: VCPUOP_down(1) from vCPU 0 stopped it\n");
    return passed();
}

}  // namespace

Outcome test_smp() {
    const unsigned vcpus = evs::nr_vcpus();
    if (vcpus < 2) {
        print("conformance:   smp: needs 2 vCPUs, this domain has %u\n", vcpus);
        return skipped("needs 2 vCPUs, this domain has %u", vcpus);
    }
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    if (const char* failure = build_tables(); failure != nullptr)
        return failed("setting up vCPU 1's address space: %s", failure);
    word(smp_page_a) = kPatternA;
    word(smp_page_b_old) = kPatternOld;
    word(smp_page_b_new) = kPatternNew;

    Outcome outcome = bring_up();
    if (outcome.kind == Outcome::Kind::ok)
        outcome = inter_processor_events(scope);
    if (outcome.kind == Outcome::Kind::ok)
        outcome = race_install(Command::race_kernel, kKernelRaceA, kKernelRaceSlot, "kernel mode");
    if (outcome.kind == Outcome::Kind::ok)
        outcome = race_install(Command::race_user, kUserRaceA, kUserRaceSlot, "user mode");
    if (outcome.kind == Outcome::Kind::ok)
        outcome = remaps_under_reader();
    if (outcome.kind == Outcome::Kind::ok)
        outcome = clear_under_reader();
    if (outcome.kind == Outcome::Kind::ok)
        outcome = down_self();
    if (outcome.kind == Outcome::Kind::ok)
        outcome = down_from_vcpu0();
    return outcome;
}
