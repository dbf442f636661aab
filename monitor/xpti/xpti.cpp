#include "monitor/xpti/xpti.hpp"

#include "guest-abi/xpti_options.hpp"
#include "monitor/arch/x86_64/descriptors.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/address_space.hpp"
#include "monitor/smp/remote.hpp"
#include "monitor/xpti/l4_summary.hpp"

namespace monitor::xpti {

static_assert(pt::xpti::kMonitorSlotFirst == layout::kMonitorSlotFirst &&
              pt::xpti::kMonitorSlotLast == layout::kMonitorSlotLast);

bool cached_roots_have_pcids = false;

namespace {

bool xpti_on = false;  // restricted roots exist: L4 changes concern other vCPUs' roots

}  // namespace

void HwMachine::count(pt::xpti::Event e, uint64_t n) {
    using pt::xpti::Event;
    switch (e) {
    case Event::L4Copy: counters->l4_copies += n; return;
    case Event::SlotsCopied: counters->l4_slots_copied += n; return;
    case Event::RootHit: counters->root_cache_hits += n; return;
    case Event::RootMiss: counters->root_cache_misses += n; return;
    case Event::RootSlotUpdate: counters->root_slot_updates += n; return;
    }
}

// One rep movsq: on emulating hosts each instruction costs about a
// thousand cycles, and the string instruction is the cheapest loop.
void DirectMapRoots::copy_slots(uint64_t dst_pa, uint64_t src_pa, unsigned first, unsigned count) {
    auto* dst = reinterpret_cast<uint64_t*>(layout::direct_map(dst_pa)) + first;
    const auto* src = reinterpret_cast<const uint64_t*>(layout::direct_map(src_pa)) + first;
    uint64_t n = count;
    asm volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(n)::"memory");
}

const pt::xpti::SlotMask* DirectMapRoots::slots_in_use(uint64_t l4_pa) const {
    return summary_find(l4_pa >> layout::kPageShift);
}

namespace {

const char* opt_list(uint32_t opts, char (&buf)[160]) {
    unsigned n = 0;
    for (const auto& o : abi::kXptiOptNames) {
        if (!(opts & o.bit))
            continue;
        for (const char* p = n ? "," : ""; *p && n + 1 < sizeof(buf); ++p)
            buf[n++] = *p;
        for (const char* p = o.name; *p && n + 1 < sizeof(buf); ++p)
            buf[n++] = *p;
    }
    const char* none = "none (naive baseline)";
    if (n == 0)
        for (const char* p = none; *p; ++p)
            buf[n++] = *p;
    buf[n] = 0;
    return buf;
}

}  // namespace

void init(Vcpu& v) {
    const abi::BootInfo& b = domain().boot;
    PerVcpu& x = v.xpti;
    x.hw.counters = v.counters;
    const uint32_t opts = b.xpti_opts;
    const bool has_pcid = (cpu::cpuid(1).ecx >> 17) & 1;
    const bool has_invpcid = (cpu::cpuid(7, 0).ebx >> 10) & 1;

    pt::xpti::Policy p;
    p.xpti = b.xpti == abi::XptiMode::On;
    p.smp = b.nr_vcpus > 1;
    xpti_on = p.xpti;
    const char* pcid_case = "off (unused without XPTI)";
    if (!p.xpti) {
        p.global_pages = b.global_pages != 0;
    } else {
        p.copy_avoid = opts & abi::kXptiCopyAvoid;
        p.single_flush = opts & abi::kXptiSingleFlush;
        p.root_cache = opts & abi::kXptiRootCache;
        p.slot_copy = opts & abi::kXptiSlotCopy;
        p.global_pages = !(opts & abi::kXptiNoGlobal);
        const bool wanted = b.pcid == abi::PcidChoice::On || b.pcid == abi::PcidChoice::Auto;
        if (!wanted) {
            pcid_case = "off (--pcid=off): every CR3 write flushes";
        } else if (!has_pcid || !has_invpcid) {
            pcid_case = "off (CPUID lacks PCID/INVPCID): every CR3 write flushes";
            if (b.pcid == abi::PcidChoice::On)
                log(LogLevel::Warn, "--pcid=on, but this CPU lacks PCID or INVPCID: using the fallback");
        } else if (!(opts & abi::kXptiFlagByte)) {
            pcid_case = "off (a sign-encoded xen_cr3 cannot carry the no-flush bit)";
        } else {
            p.pcid = true;
            pcid_case = p.root_cache ? "on: 2 PCIDs per cached root, no-flush CR3 writes, INVPCID"
                                     : "on: Xen's 4 PCIDs, no-flush CR3 writes, INVPCID";
        }
    }
    if (p.pcid)
        p.global_pages = false;
    cached_roots_have_pcids = p.pcid && p.root_cache;

    uint64_t cr4 = cpu::read_cr4() & ~(cpu::kCr4Pge | cpu::kCr4Pcide);
    if (p.global_pages)
        cr4 |= cpu::kCr4Pge;
    if (p.pcid)
        cr4 |= cpu::kCr4Pcide;  // CR3's PCID is 0 here, as PCIDE requires
    cpu::write_cr4(cr4);
    x.hw.cr4 = cr4;

    uint64_t roots[layout::kXptiRootsPerVcpu];
    for (unsigned k = 0; k < layout::kXptiRootsPerVcpu; ++k)
        roots[k] = layout::xpti_root_gpa(b.xpti_roots_gpa, v.id, k);
    CpuInfo* ci = cpu_info_of(v.id);
    x.hw.last_cr3_written = &ci->last_cr3_written;
    x.engine.init(&x.hw, &x.mem, p, roots, layout::kXptiRootsPerVcpu, &ci->root_pgt_changed);
    x.engine.bind({&ci->monitor_cr3, &ci->pv_cr3});
    v.counters->xpti_state = (p.xpti ? abi::kXptiStateOn : 0) | (p.pcid ? abi::kXptiStatePcid : 0) |
                             (p.global_pages ? abi::kXptiStateGlobal : 0);
    use_entry_path(v.id, !p.xpti ? EntryPath::Plain : (opts & abi::kXptiFlagByte) ? EntryPath::Flag : EntryPath::Sign);
    if (v.id != 0)
        return;  // the same choice on every vCPU: logged once
    char buf[160];
    if (p.xpti)
        log(LogLevel::Info, "XPTI on: restricted per-vCPU roots; optimisations: %s; PCID %s; global pages %s",
            opt_list(opts, buf), pcid_case, p.global_pages ? "on" : "off");
    else
        log(LogLevel::Info, "XPTI off; global pages %s", p.global_pages ? "on" : "off");
}

// The engine stores monitor_cr3 and pv_cr3 in CpuInfo itself (bind above).
void switch_root(Vcpu& v) { engine(v).switch_guest_root(active_l4_mfn(v) << layout::kPageShift, !v.kernel_mode); }

void prepare_exit_slow(Vcpu& v) { (void)engine(v).prepare_exit(); }

void flush_all(abi::FlushReason reason) { engine(current()).flush_all(reason); }
void flush_one(abi::FlushReason reason, uint64_t va) { engine(current()).flush_one(reason, va); }

// Other vCPUs: the guest flushes those running the changed tables; those
// that left them flush at their next new base pointer (Policy::smp).
void table_entry_changed_slow() { engine(current()).table_entry_changed(); }

void l4_validated(uint64_t l4_mfn, const pt::xpti::SlotMask& in_use) { summary_create(l4_mfn, in_use); }

// Each engine is touched by its own vCPU only: the others get the change
// as a remote request and serve it before this hypercall returns, so no
// vCPU runs on a root copied from an older L4 afterwards (the L3 an old
// slot pointed to may be released by then), as Xen's FLUSH_ROOT_PGTBL.
void l4_entry_written(uint64_t l4_mfn, unsigned slot, uint64_t entry) {
    summary_update(l4_mfn, slot, (entry & pt::kPresent) != 0);
    engine(current()).l4_entry_written(l4_mfn << layout::kPageShift, slot);
    if (xpti_on)
        remote::root_refresh(l4_mfn << layout::kPageShift);
}

void l4_released(uint64_t l4_mfn) {
    summary_drop(l4_mfn);
    engine(current()).l4_released(l4_mfn << layout::kPageShift);
    if (xpti_on)
        remote::l4_released(l4_mfn << layout::kPageShift);
}

void leak_into_restricted_root() {
    constexpr unsigned kDirectMapSlot = pt::table_index(layout::kDirectMapVirt, 4);
    const auto* monitor_l4 = reinterpret_cast<const uint64_t*>(layout::direct_map(domain().boot.monitor_l4_gpa));
    DirectMapRoots().write(domain().boot.xpti_roots_gpa, kDirectMapSlot, monitor_l4[kDirectMapSlot]);
    log(LogLevel::Warn, "test hook: direct map leaked into vCPU 0's restricted root");
}

}  // namespace monitor::xpti
