#include "vmm/domain/builder.hpp"

#include <stdint.h>
#include <xen/xen.h>

#include <cstring>

#include "guest-abi/layout.hpp"
#include "pagetables/pagetables.hpp"
#include "vmm/guest_tables.hpp"

namespace pvvmm::domain {

namespace {

constexpr uint64_t kPage = 0x1000;
constexpr uint32_t kStoreEvtchn = 1;
constexpr uint32_t kConsoleEvtchn = 2;
// Xen's initial mappings: the guest kernel runs in ring 3, so everything is
// user-accessible; the page tables themselves are mapped read-only.
constexpr uint64_t kTableFlags = pt::kPresent | pt::kWritable | pt::kUser | pt::kAccessed | pt::kDirty;
constexpr uint64_t kPageFlags = pt::kPresent | pt::kWritable | pt::kUser | pt::kAccessed | pt::kDirty;
constexpr uint64_t kPageTableMapping = pt::kPresent | pt::kUser | pt::kAccessed;

struct Domain {
    const GuestMemory& mem;
    const DomainLayout& layout;
    uint64_t first_mfn = layout::kDomainFirstMfn;

    [[nodiscard]] uint64_t mfn_of_va(uint64_t va) const { return pfn_to_mfn(first_mfn, layout.pfn_of(va)); }
    [[nodiscard]] uint64_t gpa_of_va(uint64_t va) const { return (mfn_of_va(va) << 12) | (va & 0xfff); }
};

Result<void> load_segments(const Domain& d, const elf::GuestImage& image) {
    for (const auto& seg : image.elf.loads) {
        const uint64_t va = seg.paddr + image.virt_offset;
        auto bytes = image.elf.bytes.subspan(seg.offset, seg.file_size);
        // Copy page by page: consecutive guest pages need not be consecutive frames.
        for (uint64_t done = 0; done < bytes.size();) {
            const uint64_t cur = va + done;
            const uint64_t chunk = std::min<uint64_t>(kPage - (cur & 0xfff), bytes.size() - done);
            PVVMM_TRY(d.mem.write(d.gpa_of_va(cur), bytes.subspan(done, chunk)));
            done += chunk;
        }
    }
    return {};
}

// The initrd into its frames, page by page (frames need not be consecutive).
Result<void> load_module(const Domain& d, std::span<const uint8_t> bytes) {
    for (uint64_t done = 0; done < bytes.size(); done += kPage) {
        const uint64_t gpa = pfn_to_mfn(d.first_mfn, d.layout.module_pfn + done / kPage) << layout::kPageShift;
        PVVMM_TRY(d.mem.write(gpa, bytes.subspan(done, std::min<uint64_t>(kPage, bytes.size() - done))));
    }
    return {};
}

// The table of `level` that covers `va`, reached from the L4 through
// entries that already exist.
uint64_t table_covering(const GuestTableMemory& tables, uint64_t l4, uint64_t va, int level) {
    uint64_t table = l4;
    for (int lvl = 4; lvl > level; --lvl)
        table = pt::entry_addr(tables.read(table, pt::table_index(va, lvl)));
    return table;
}

// Xen's order (xc_dom_x86.c): the L4, then all L3s, all L2s and all L1s,
// each level in address order; then the leaves.
Result<void> build_page_tables(const Domain& d) {
    const auto& l = d.layout;
    GuestTableMemory tables{d.mem};
    // Tables are taken in order from the page-table frames the layout reserved.
    FramePool pool{d.gpa_of_va(l.pt_va), d.gpa_of_va(l.pt_va) + l.pt_frames * kPage};
    const uint64_t l4 = pool.alloc_table();
    for (int level = 3; level >= 1; --level) {
        const uint64_t span = pt::level_span(level + 1);  // what one table of `level` maps
        // Counted, not compared: the last span may end exactly at 2^64.
        const uint64_t count = (l.mapped_end - 1) / span - l.virt_base / span + 1;
        for (uint64_t i = 0, va = l.virt_base & ~(span - 1); i < count; ++i, va += span) {
            const uint64_t table = pool.alloc_table();
            if (table == 0)
                return Error{ErrorKind::Internal, "initial page tables: reserved table frames ran out"};
            const uint64_t parent = table_covering(tables, l4, va, level + 1);
            tables.write(parent, pt::table_index(va, level + 1), pt::make_entry(table, kTableFlags));
        }
    }
    if (pool.next != pool.end)
        return Error{ErrorKind::Internal, "initial page tables: reserved table frames left unused"};
    for (uint64_t va = l.virt_base; va < l.mapped_end; va += kPage) {
        const bool is_table = va >= l.pt_va && va < l.pt_va + l.pt_frames * kPage;
        const auto st = pt::map(tables, pool, l4, va, d.gpa_of_va(va), is_table ? kPageTableMapping : kPageFlags,
                                pt::PageSize::k4K, kTableFlags);
        if (st != pt::Status::Ok)
            return Error{ErrorKind::Internal,
                         fmt::format("initial page tables: mapping {:#x}: {}", va, pt::status_name(st))};
    }
    return {};
}

void write_p2m_and_m2p(const Domain& d) {
    const auto& l = d.layout;
    auto* m2p = d.mem.object<uint64_t>(layout::kM2pGpa);
    const uint64_t total_frames = d.mem.size() >> layout::kPageShift;
    for (uint64_t mfn = 0; mfn < total_frames; ++mfn)
        m2p[mfn] = ~0ull;  // INVALID_M2P_ENTRY: not a guest frame
    for (uint64_t pfn = 0; pfn < l.nr_pages; ++pfn) {
        const uint64_t mfn = pfn_to_mfn(d.first_mfn, pfn);
        m2p[mfn] = pfn;
        const uint64_t slot_va = l.p2m_va + pfn * 8;
        *d.mem.object<uint64_t>(d.gpa_of_va(slot_va)) = mfn;
    }
}

void write_start_info(const Domain& d, const DomainConfig& config) {
    const auto& l = d.layout;
    auto* si = d.mem.object<start_info_t>(d.gpa_of_va(l.start_info_va));
    std::memset(si, 0, sizeof(*si));
    static constexpr char kMagic[] = "xen-3.0-x86_64";
    static_assert(sizeof(kMagic) <= sizeof(si->magic));
    std::memcpy(si->magic, kMagic, sizeof(kMagic));
    si->nr_pages = l.nr_pages;
    si->shared_info = layout::kSharedInfoGpa;
    si->flags = 0;
    if (l.module_pages != 0) {  // Xen reports the module's length in whole pages
        si->mod_start = l.module_va != 0 ? l.module_va : l.module_pfn;
        si->mod_len = l.module_pages * kPage;
        if (l.module_va == 0)
            si->flags |= SIF_MOD_START_PFN;
    }
    si->store_mfn = d.mfn_of_va(l.store_va);
    si->store_evtchn = kStoreEvtchn;
    si->console.domU.mfn = d.mfn_of_va(l.console_va);
    si->console.domU.evtchn = kConsoleEvtchn;
    si->pt_base = l.pt_va;
    si->nr_pt_frames = l.pt_frames;
    si->mfn_list = l.p2m_va;
    std::memcpy(si->cmd_line, config.cmdline.c_str(), config.cmdline.size() + 1);  // length checked by the caller

    auto* shared = d.mem.object<shared_info_t>(layout::kSharedInfoGpa);
    std::memset(shared, 0, sizeof(*shared));
    for (auto& v : shared->vcpu_info)
        v.evtchn_upcall_mask = 1;  // events masked at start of day
}

}  // namespace

Result<abi::DomainInfo> build_domain(const GuestMemory& mem, const elf::GuestImage& image, const DomainConfig& config,
                                     const DomainLayout& layout) {
    if (config.cmdline.size() >= MAX_GUEST_CMDLINE)
        return bad_input("--cmdline is {} bytes; Xen PV guests accept at most {}", config.cmdline.size(),
                         MAX_GUEST_CMDLINE - 1);
    if (!mem.contains(layout::kDomainRamGpa, layout.nr_pages << layout::kPageShift))
        return Error{ErrorKind::Internal, "guest memory is smaller than the domain it should hold"};
    Domain d{mem, layout};
    PVVMM_TRY(load_segments(d, image));
    PVVMM_TRY(load_module(d, config.initrd));
    PVVMM_TRY(build_page_tables(d));
    write_p2m_and_m2p(d);
    write_start_info(d, config);

    abi::DomainInfo info{};
    info.first_mfn = d.first_mfn;
    info.nr_pages = layout.nr_pages;
    info.virt_base = layout.virt_base;
    info.entry = layout.entry;
    info.start_info_va = layout.start_info_va;
    info.stack_top_va = layout.stack_va + kPage;
    info.hypercall_page_va = layout.hypercall_page;
    info.l4_mfn = d.mfn_of_va(layout.pt_va);
    info.pt_first_mfn = d.mfn_of_va(layout.pt_va);
    info.pt_nr_frames = layout.pt_frames;
    info.shared_info_mfn = layout::kSharedInfoGpa >> layout::kPageShift;
    info.console_mfn = d.mfn_of_va(layout.console_va);
    info.store_mfn = d.mfn_of_va(layout.store_va);
    info.console_evtchn = kConsoleEvtchn;
    info.store_evtchn = kStoreEvtchn;
    info.mapped_end_va = layout.mapped_end;
    return info;
}

}  // namespace pvvmm::domain
