// vmm/domain: plan_domain's virtual layout (Xen libxenguest's order and
// sizes) and build_domain's output in real guest memory: start_info, p2m,
// M2P, shared_info, the copied ELF segments and the initial page tables,
// each checked independently of the builder's own arithmetic.
#include <catch.hpp>

#include <elf.h>
#include <stdint.h>
#include <xen/xen.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "guest-abi/boot_info.hpp"
#include "guest-abi/layout.hpp"
#include "pagetables/pagetables.hpp"
#include "vmm/domain/builder.hpp"
#include "vmm/domain/domain_layout.hpp"
#include "vmm/elf/guest_image.hpp"
#include "vmm/guest_tables.hpp"
#include "vmm/memory.hpp"
#include "vmm/monitor_image.hpp"

namespace {

using namespace pvvmm;
using namespace pvvmm::domain;
using Catch::Matchers::Contains;

constexpr uint64_t kPage = 0x1000;
constexpr uint64_t kKiB = 1ull << 10;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kDemoVirtBase = 0xffffffff80000000;

constexpr uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
constexpr uint64_t round_down(uint64_t v, uint64_t a) { return v / a * a; }

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }

// ---------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------

elf::GuestImage demo_image() {
    auto image = elf::load_guest_image(embedded_demo_guest_elf());
    if (!image.ok())
        FAIL("embedded demo guest does not load: " << image.error().message);
    return std::move(image).value();
}

// An image without segments: enough for planning, and build_domain then only
// writes its own structures and page tables.
elf::GuestImage synthetic_image(uint64_t virt_base, uint64_t kstart, uint64_t kend) {
    elf::GuestImage image{};
    image.virt_base = virt_base;
    image.paddr_offset = 0;
    image.virt_offset = virt_base;
    image.virt_kstart = kstart;
    image.virt_kend = kend;
    image.virt_entry = kstart;
    image.hypercall_page = 0;
    return image;
}

struct SyntheticCase {
    const char* name;
    uint64_t virt_base;
    uint64_t kstart;
    uint64_t kend;
};

// Layouts that stress the table counting: one table per level, two L2s,
// two L3s (an L4 slot boundary), a kernel above VIRT_BASE, the lower half.
const std::vector<SyntheticCase>& synthetic_cases() {
    static const std::vector<SyntheticCase> cases = {
        {"small kernel at -2 GiB", kDemoVirtBase, kDemoVirtBase, kDemoVirtBase + 0x5123},
        {"crosses a 1 GiB boundary", 0xffffffffbfe00000, 0xffffffffbfe00000, 0xffffffffbfe00000 + 3 * kMiB},
        {"crosses a 512 GiB boundary", 0x7fffe00000, 0x7fffe00000, 0x7fffe00000 + 3 * kMiB},
        {"kernel 16 MiB above VIRT_BASE", kDemoVirtBase, kDemoVirtBase + 16 * kMiB, kDemoVirtBase + 16 * kMiB + 0x1234},
        {"lower half from 0", 0, 0, 0x2000},
    };
    return cases;
}

// ---------------------------------------------------------------------------
// Layout invariants (Xen's alloc_magic_pages / alloc_pgtables_pv)
// ---------------------------------------------------------------------------

void check_plan(const elf::GuestImage& image, const DomainConfig& config, const DomainLayout& l) {
    INFO("virt_base " << hex(l.virt_base) << " virt_start " << hex(l.virt_start) << " kernel_end " << hex(l.kernel_end)
                      << " p2m " << hex(l.p2m_va) << "+" << l.p2m_pages << "p start_info " << hex(l.start_info_va)
                      << " pt " << hex(l.pt_va) << "+" << l.pt_frames << "p stack " << hex(l.stack_va) << " mapped_end "
                      << hex(l.mapped_end));
    CHECK(l.nr_pages == config.memory_bytes / kPage);
    CHECK(l.virt_base == image.virt_base);
    CHECK(l.virt_start == round_down(image.virt_kstart, kPage));
    CHECK(l.kernel_end == round_up(image.virt_kend, kPage));
    CHECK(l.entry == image.virt_entry);
    CHECK(l.hypercall_page == image.hypercall_page);
    CHECK(l.pfn_of(l.virt_base) == 0);
    CHECK(l.pfn_of(l.virt_base + 5 * kPage + 0xfff) == 5);

    for (uint64_t va : {l.virt_start, l.kernel_end, l.p2m_va, l.start_info_va, l.store_va, l.console_va, l.pt_va,
                        l.stack_va, l.mapped_end}) {
        INFO("va " << hex(va));
        CHECK(va % kPage == 0);
    }

    // kernel -> (mapped initrd) -> p2m -> start_info -> xenstore -> console -> page tables -> stack
    CHECK(l.virt_start < l.kernel_end);
    CHECK(l.module_pages * kPage == round_up(config.initrd.size(), kPage));
    if (l.module_va != 0)
        CHECK(l.module_va == l.kernel_end);
    CHECK(l.p2m_va == l.kernel_end + (l.module_va != 0 ? l.module_pages * kPage : 0));
    CHECK(l.start_info_va == l.p2m_va + l.p2m_pages * kPage);
    CHECK(l.store_va == l.start_info_va + kPage);
    CHECK(l.console_va == l.store_va + kPage);
    CHECK(l.pt_va == l.console_va + kPage);
    CHECK(l.stack_va == l.pt_va + l.pt_frames * kPage);

    // The p2m list holds one 8-byte mfn per page, in as few pages as possible.
    CHECK(l.p2m_pages * kPage >= l.nr_pages * 8);
    CHECK((l.p2m_pages - 1) * kPage < l.nr_pages * 8);

    // The smallest 4 MiB boundary at least 512 KiB past the boot stack.
    const uint64_t stack_end = l.stack_va + kPage;
    CHECK(l.mapped_end % (4 * kMiB) == 0);
    CHECK(l.mapped_end >= stack_end + 512 * kKiB);
    CHECK(l.mapped_end - 4 * kMiB < stack_end + 512 * kKiB);

    // The tables map everything up to mapped_end, themselves included.
    CHECK(l.pt_frames == count_page_tables(l.virt_base, l.mapped_end));
    CHECK(l.pt_frames >= 4);
    CHECK(l.pfn_of(l.mapped_end) <= l.nr_pages);
}

// ---------------------------------------------------------------------------
// A domain built into real guest memory
// ---------------------------------------------------------------------------

struct BuiltDomain {
    GuestMemory mem;
    DomainLayout layout;
    abi::DomainInfo info;

    // The builder's contract: pfn p lives in machine frame kDomainFirstMfn + p.
    [[nodiscard]] uint64_t mfn_of_va(uint64_t va) const { return layout::kDomainFirstMfn + layout.pfn_of(va); }
    [[nodiscard]] uint64_t gpa_of_va(uint64_t va) const { return (mfn_of_va(va) << 12) | (va & 0xfff); }
    template <typename T>
    [[nodiscard]] const T* at_va(uint64_t va) const {
        return mem.object<T>(gpa_of_va(va));
    }
};

GuestMemory make_memory(uint64_t bytes) {
    auto mem = GuestMemory::create(bytes);
    if (!mem.ok())
        FAIL("GuestMemory::create: " << mem.error().message);
    return std::move(mem).value();
}

void fill(const GuestMemory& mem, uint64_t gpa, uint64_t len, uint8_t value) {
    auto s = mem.span(gpa, len);
    REQUIRE(s.size() == len);
    std::memset(s.data(), value, s.size());
}

// `extra_bytes` of guest memory past the domain's RAM, to see that the M2P
// marks machine frames beyond the domain invalid too.
BuiltDomain build(const elf::GuestImage& image, const DomainConfig& config, uint64_t extra_bytes = 0) {
    auto plan = plan_domain(image, config);
    if (!plan.ok())
        FAIL("plan_domain: " << plan.error().message);
    GuestMemory mem = make_memory(layout::kDomainRamGpa + config.memory_bytes + extra_bytes);
    // In pvvmm the monitor loader runs first: garbage in the structures the
    // builder owns must not survive it.
    fill(mem, layout::kSharedInfoGpa, kPage, 0xa5);
    fill(mem, layout::kM2pGpa, (mem.size() >> 12) * 8, 0xa5);
    fill(mem, (layout::kDomainFirstMfn + plan->pfn_of(plan->start_info_va)) << 12, kPage, 0xa5);
    auto info = build_domain(mem, image, config, *plan);
    if (!info.ok())
        FAIL("build_domain: " << info.error().message);
    return BuiltDomain{std::move(mem), *plan, *info};
}

bool in_pt_range(const DomainLayout& l, uint64_t va) { return va >= l.pt_va && va < l.pt_va + l.pt_frames * kPage; }

// Walks every page of [virt_base, mapped_end) (Xen maps from VIRT_BASE, pfn 0)
// and every leaf of the tree.
// Returns the level (4..1) of every table frame reached from the L4.
std::map<uint64_t, int> check_initial_page_tables(const BuiltDomain& d) {
    const DomainLayout& l = d.layout;
    const abi::DomainInfo& info = d.info;
    GuestTableMemory tables{d.mem};
    const uint64_t root = info.l4_mfn << 12;
    const uint64_t pt_first = info.pt_first_mfn;
    const uint64_t pt_end = info.pt_first_mfn + info.pt_nr_frames;
    constexpr uint64_t kTableNeeds = pt::kPresent | pt::kWritable | pt::kUser;

    std::map<uint64_t, int> table_level{{root, 4}};
    std::vector<std::string> problems;
    auto problem = [&problems](std::string text) {
        if (problems.size() < 10)
            problems.push_back(std::move(text));
    };

    for (uint64_t va = l.virt_base; va < l.mapped_end; va += kPage) {
        const pt::Translation t = pt::walk(tables, root, va);
        const uint64_t want = d.mfn_of_va(va) << 12;
        if (!t.present || t.leaf_level != 1) {
            problem(fmt::format("{:#x}: not mapped by a 4K leaf (fault level {})", va, t.fault_level));
            continue;
        }
        if (t.pa != want)
            problem(fmt::format("{:#x}: maps {:#x}, want {:#x}", va, t.pa, want));
        if ((t.flags & pt::kUser) == 0)
            problem(fmt::format("{:#x}: not user-accessible", va));
        if ((t.flags & pt::kNoExecute) != 0)
            problem(fmt::format("{:#x}: no-execute", va));
        const bool writable = (t.flags & pt::kWritable) != 0;
        if (writable == in_pt_range(l, va))
            problem(fmt::format("{:#x}: writable={} but page-table frame={}", va, writable, in_pt_range(l, va)));
        for (int i = 0; i < 3; ++i) {
            const uint64_t e = t.entries[i];
            const uint64_t next = pt::entry_addr(e);
            if ((e & kTableNeeds) != kTableNeeds || pt::is_huge_leaf(e, 4 - i))
                problem(fmt::format("{:#x}: L{} entry {:#x} is not a present writable user table", va, 4 - i, e));
            if ((next >> 12) < pt_first || (next >> 12) >= pt_end)
                problem(fmt::format("{:#x}: L{} table {:#x} outside the reserved frames", va, 3 - i, next));
            table_level.emplace(next, 3 - i);
        }
    }
    CHECK(problems.empty());

    // Every reserved frame is used, so nr_pt_frames is exact.
    CHECK(table_level.size() == info.pt_nr_frames);

    // Nothing else anywhere, in particular not in Xen's slots 256..271 and
    // not outside [virt_base, mapped_end) in the image's own slots.
    std::vector<std::string> stray;
    uint64_t leaves = 0;
    pt::for_each_leaf(tables, root, [&](uint64_t va, uint64_t e, int level) {
        ++leaves;
        if (level != 1 || va < l.virt_base || va >= l.mapped_end)
            if (stray.size() < 10)
                stray.push_back(fmt::format("{:#x} L{} {:#x}", va, level, e));
    });
    CHECK(stray.empty());
    CHECK(leaves == (l.mapped_end - l.virt_base) / kPage);

    const unsigned first_slot = pt::table_index(l.virt_base, 4);
    const unsigned last_slot = pt::table_index(l.mapped_end - 1, 4);
    std::vector<unsigned> wrong_slots;
    for (unsigned slot = 0; slot < pt::kEntries; ++slot) {
        const bool present = pt::is_present(tables.read(root, slot));
        if (present != (slot >= first_slot && slot <= last_slot))
            wrong_slots.push_back(slot);
    }
    CHECK(wrong_slots.empty());

    if (l.virt_base >= kPage)
        CHECK_FALSE(pt::walk(tables, root, l.virt_base - kPage).present);
    if (pt::is_canonical(l.mapped_end))
        CHECK_FALSE(pt::walk(tables, root, l.mapped_end).present);
    return table_level;
}

void check_start_info(const BuiltDomain& d, const DomainConfig& config) {
    const DomainLayout& l = d.layout;
    const auto* si = d.at_va<start_info_t>(l.start_info_va);
    REQUIRE(si != nullptr);
    CHECK(std::string(si->magic, strnlen(si->magic, sizeof(si->magic))) == "xen-3.0-x86_64");
    CHECK(si->nr_pages == l.nr_pages);
    CHECK(si->shared_info == layout::kSharedInfoGpa);
    CHECK(si->flags == (l.module_pages != 0 && l.module_va == 0 ? SIF_MOD_START_PFN : 0));
    CHECK(si->store_mfn == d.mfn_of_va(l.store_va));
    CHECK(si->store_mfn == d.info.store_mfn);
    CHECK(si->store_evtchn == d.info.store_evtchn);
    CHECK(si->console.domU.mfn == d.mfn_of_va(l.console_va));
    CHECK(si->console.domU.mfn == d.info.console_mfn);
    CHECK(si->console.domU.evtchn == d.info.console_evtchn);
    CHECK(si->pt_base == l.pt_va);
    CHECK(si->nr_pt_frames == l.pt_frames);
    CHECK(si->mfn_list == l.p2m_va);
    if (config.initrd.empty()) {
        CHECK(si->mod_start == 0);
        CHECK(si->mod_len == 0);
    } else {  // Xen: a virtual address, or a pfn with SIF_MOD_START_PFN; the length in whole pages
        CHECK(si->mod_start == (l.module_va != 0 ? l.module_va : l.module_pfn));
        CHECK(si->mod_len == round_up(config.initrd.size(), kPage));
        for (uint64_t i = 0; i < config.initrd.size(); i += 997) {
            const uint64_t gpa = ((layout::kDomainFirstMfn + l.module_pfn) << 12) + i;
            INFO("initrd byte " << i);
            CHECK(*d.mem.object<uint8_t>(gpa) == config.initrd[i]);
        }
    }
    const auto* cmd = reinterpret_cast<const char*>(si->cmd_line);
    const size_t len = strnlen(cmd, sizeof(si->cmd_line));
    REQUIRE(len < sizeof(si->cmd_line));
    CHECK(std::string(cmd, len) == config.cmdline);
    // Nothing of the garbage written before the build survives.
    const auto* bytes = reinterpret_cast<const uint8_t*>(si);
    size_t garbage = 0;
    for (size_t i = 0; i < sizeof(*si); ++i)
        garbage += bytes[i] == 0xa5;
    CHECK(garbage == 0);
}

void check_p2m_and_m2p(const BuiltDomain& d) {
    const DomainLayout& l = d.layout;
    const uint64_t first = layout::kDomainFirstMfn;
    std::vector<std::string> problems;
    for (uint64_t pfn = 0; pfn < l.nr_pages; ++pfn) {
        const auto* slot = d.at_va<uint64_t>(l.p2m_va + pfn * 8);
        if (slot == nullptr)
            FAIL("p2m slot of pfn " << hex(pfn) << " outside guest memory");
        if ((*slot != first + pfn || *slot == pfn) && problems.size() < 10)
            problems.push_back(fmt::format("p2m[{:#x}] = {:#x}", pfn, *slot));
    }
    const uint64_t total_frames = d.mem.size() >> 12;
    for (uint64_t mfn = 0; mfn < total_frames; ++mfn) {
        const auto* m2p = d.mem.object<uint64_t>(layout::kM2pGpa + mfn * 8);
        if (m2p == nullptr)
            FAIL("M2P entry of mfn " << hex(mfn) << " outside guest memory");
        const bool domain_frame = mfn >= first && mfn < first + l.nr_pages;
        const uint64_t want = domain_frame ? mfn - first : ~0ull;
        if (*m2p != want && problems.size() < 10)
            problems.push_back(fmt::format("m2p[{:#x}] = {:#x}, want {:#x}", mfn, *m2p, want));
    }
    CHECK(problems.empty());
}

void check_domain_info(const BuiltDomain& d, const elf::GuestImage& image) {
    const DomainLayout& l = d.layout;
    const abi::DomainInfo& info = d.info;
    CHECK(info.first_mfn == layout::kDomainFirstMfn);
    CHECK(info.nr_pages == l.nr_pages);
    CHECK(info.virt_base == image.virt_base);
    CHECK(info.entry == image.virt_entry);
    CHECK(info.start_info_va == l.start_info_va);
    CHECK(info.stack_top_va == l.stack_va + kPage);
    CHECK(info.hypercall_page_va == image.hypercall_page);
    CHECK(info.l4_mfn == d.mfn_of_va(l.pt_va));
    CHECK(info.pt_first_mfn == d.mfn_of_va(l.pt_va));
    CHECK(info.pt_nr_frames == l.pt_frames);
    CHECK(info.shared_info_mfn == layout::kSharedInfoGpa >> 12);
    CHECK(info.console_mfn == d.mfn_of_va(l.console_va));
    CHECK(info.store_mfn == d.mfn_of_va(l.store_va));
    CHECK(info.store_mfn != info.console_mfn);
    // Event channel 0 is never valid in Xen.
    CHECK(info.store_evtchn != 0);
    CHECK(info.console_evtchn != 0);
    CHECK(info.store_evtchn != info.console_evtchn);
    CHECK(info.mapped_end_va == l.mapped_end);
}

}  // namespace

// ===========================================================================
// count_page_tables
// ===========================================================================

TEST_CASE("count_page_tables counts one table per level and per span touched", "[domain][plan]") {
    // 1 L4 + L3s (512 GiB) + L2s (1 GiB) + L1s (2 MiB)
    CHECK(count_page_tables(0, kPage) == 4);
    CHECK(count_page_tables(0, 2 * kMiB) == 4);
    CHECK(count_page_tables(0, 2 * kMiB + kPage) == 5);
    CHECK(count_page_tables(2 * kMiB - kPage, 2 * kMiB + kPage) == 5);
    CHECK(count_page_tables(kDemoVirtBase, kDemoVirtBase + 4 * kMiB) == 5);
    CHECK(count_page_tables(kDemoVirtBase + kPage, kDemoVirtBase + 4 * kMiB) == 5);
    CHECK(count_page_tables(kDemoVirtBase, kDemoVirtBase + 4 * kMiB + kPage) == 6);
    // A whole 1 GiB: one L2 full of L1s.
    CHECK(count_page_tables(kGiB, 2 * kGiB) == 1 + 1 + 1 + 512);
    CHECK(count_page_tables(kDemoVirtBase, 0xffffffffc0000000) == 1 + 1 + 1 + 512);
    // Crossing a 1 GiB boundary needs a second L2 (and L1s on both sides).
    CHECK(count_page_tables(kGiB - 2 * kMiB, kGiB + 2 * kMiB) == 1 + 1 + 2 + 2);
    CHECK(count_page_tables(0xffffffffbfe00000, 0xffffffffc0400000) == 1 + 1 + 2 + 3);
    // Crossing a 512 GiB boundary (an L4 slot) needs a second L3 too.
    CHECK(count_page_tables(512 * kGiB - kPage, 512 * kGiB + kPage) == 1 + 2 + 2 + 2);
    CHECK(count_page_tables(0x7fffe00000, 0x8000400000) == 1 + 2 + 2 + 3);
}

// ===========================================================================
// plan_domain
// ===========================================================================

TEST_CASE("plan_domain lays out the demo guest in Xen's order", "[domain][plan]") {
    const elf::GuestImage image = demo_image();
    REQUIRE(image.virt_base == kDemoVirtBase);

    const uint64_t memory = GENERATE(as<uint64_t>{}, layout::kMinDomainBytes, 64 * kMiB, 64 * kMiB + kPage,
                                     64 * kMiB + 513 * kPage, kGiB, layout::kMaxDomainBytes);
    DomainConfig config;
    config.memory_bytes = memory;
    INFO("memory " << memory / kKiB << " KiB");
    auto plan = plan_domain(image, config);
    REQUIRE(plan.ok());
    check_plan(image, config, *plan);
    CHECK(plan->virt_start == kDemoVirtBase);
    CHECK(plan->entry == image.virt_entry);
    CHECK(plan->hypercall_page != 0);
}

TEST_CASE("plan_domain: demo guest with the default 64 MiB", "[domain][plan]") {
    const elf::GuestImage image = demo_image();
    const DomainConfig config;  // 64 MiB
    auto plan = plan_domain(image, config);
    REQUIRE(plan.ok());
    const DomainLayout& l = *plan;
    CHECK(l.nr_pages == 16384);
    CHECK(l.p2m_pages == 32);  // 16384 * 8 bytes
    // The demo is far below 3 MiB: everything fits the first 4 MiB at
    // VIRT_BASE, which takes L4 + L3 + L2 + two L1s.
    CHECK(l.mapped_end == kDemoVirtBase + 4 * kMiB);
    CHECK(l.pt_frames == 5);
    CHECK(l.stack_va == l.pt_va + 5 * kPage);
}

TEST_CASE("plan_domain on synthetic images", "[domain][plan]") {
    for (const SyntheticCase& c : synthetic_cases()) {
        SECTION(c.name) {
            const elf::GuestImage image = synthetic_image(c.virt_base, c.kstart, c.kend);
            for (uint64_t memory : {64 * kMiB, 256 * kMiB + kPage}) {
                DomainConfig config;
                config.memory_bytes = memory;
                INFO("memory " << memory / kKiB << " KiB");
                auto plan = plan_domain(image, config);
                REQUIRE(plan.ok());
                check_plan(image, config, *plan);
            }
        }
    }
}

TEST_CASE("plan_domain counts the extra tables of boundary-crossing layouts", "[domain][plan]") {
    const DomainConfig config;  // 64 MiB: 32 p2m pages
    SECTION("1 GiB boundary: two L2s") {
        auto plan =
            plan_domain(synthetic_image(0xffffffffbfe00000, 0xffffffffbfe00000, 0xffffffffbfe00000 + 3 * kMiB), config);
        REQUIRE(plan.ok());
        CHECK(plan->mapped_end == 0xffffffffc0400000);
        CHECK(plan->pt_frames == 1 + 1 + 2 + 3);
    }
    SECTION("512 GiB boundary: two L3s and two L2s") {
        auto plan = plan_domain(synthetic_image(0x7fffe00000, 0x7fffe00000, 0x7fffe00000 + 3 * kMiB), config);
        REQUIRE(plan.ok());
        CHECK(plan->mapped_end == 0x8000400000);
        CHECK(plan->pt_frames == 1 + 2 + 2 + 3);
    }
    SECTION("the tables themselves push mapped_end over a 4 MiB boundary") {
        // Kernel end chosen so that without the page-table frames the stack
        // plus 512 KiB would just fit below base + 4 MiB.
        // kernel + 32 p2m + 3 special pages + stack + 128 padding pages = 1024 - 4.
        const uint64_t kend = kDemoVirtBase + (1024 - 4 - 32 - 3 - 1 - 128) * kPage;
        auto plan = plan_domain(synthetic_image(kDemoVirtBase, kDemoVirtBase, kend), config);
        REQUIRE(plan.ok());
        check_plan(synthetic_image(kDemoVirtBase, kDemoVirtBase, kend), config, *plan);
        CHECK(plan->mapped_end == kDemoVirtBase + 8 * kMiB);
        CHECK(plan->pt_frames == 1 + 1 + 1 + 4);
    }
}

// --initrd, as Xen's xc_dom_build_image places modules: right after the
// kernel, mapped; or, for a kernel with a non-zero MOD_START_PFN note,
// unmapped in the frames after the initial mapping, given as a pfn.
TEST_CASE("an initrd is placed as Xen places it", "[domain][plan][build]") {
    std::vector<uint8_t> initrd(3 * kMiB + 123);
    for (size_t i = 0; i < initrd.size(); ++i)
        initrd[i] = static_cast<uint8_t>(i * 7 + (i >> 12));
    DomainConfig config;
    config.memory_bytes = 32 * kMiB;
    config.initrd = initrd;

    SECTION("mapped, after the kernel (no MOD_START_PFN note)") {
        const elf::GuestImage image = demo_image();
        REQUIRE(image.notes.mod_start_pfn.value_or(0) == 0);
        const BuiltDomain d = build(image, config);
        check_plan(image, config, d.layout);
        CHECK(d.layout.module_va == d.layout.kernel_end);
        CHECK(d.layout.module_pfn == d.layout.pfn_of(d.layout.kernel_end));
        check_start_info(d, config);
        check_initial_page_tables(d);
    }
    SECTION("unmapped, after the initial mapping (MOD_START_PFN 1)") {
        elf::GuestImage image = demo_image();
        image.notes.mod_start_pfn = 1;
        const BuiltDomain d = build(image, config);
        check_plan(image, config, d.layout);
        CHECK(d.layout.module_va == 0);
        CHECK(d.layout.module_pfn == d.layout.pfn_of(d.layout.mapped_end));
        check_start_info(d, config);
        check_initial_page_tables(d);
    }
    SECTION("too large for --memory: one sentence naming the initrd") {
        elf::GuestImage image = demo_image();
        image.notes.mod_start_pfn = GENERATE(as<uint64_t>{}, 0, 1);
        config.memory_bytes = 4 * kMiB;
        const std::vector<uint8_t> four_mib(4 * kMiB);
        config.initrd = four_mib;
        auto plan = plan_domain(image, config);
        REQUIRE_FALSE(plan.ok());
        CHECK(plan.error().kind == ErrorKind::BadInput);
        CHECK_THAT(plan.error().message, Contains("the initrd (4096 KiB) does not fit"));
    }
}

TEST_CASE("plan_domain rejects memory too small for the image", "[domain][plan]") {
    const elf::GuestImage image = demo_image();
    DomainConfig config;

    SECTION("demo needs exactly its first 4 MiB") {
        config.memory_bytes = 4 * kMiB;
        auto fits = plan_domain(image, config);
        REQUIRE(fits.ok());
        CHECK(fits->pfn_of(fits->mapped_end) == fits->nr_pages);

        config.memory_bytes = 4 * kMiB - kPage;
        auto short_by_one = plan_domain(image, config);
        REQUIRE_FALSE(short_by_one.ok());
        CHECK(short_by_one.error().kind == ErrorKind::BadInput);
        CHECK_THAT(short_by_one.error().message, Contains("--memory"));
    }
    SECTION("far too small") {
        config.memory_bytes = GENERATE(as<uint64_t>{}, 0, kPage, 2 * kMiB);
        auto plan = plan_domain(image, config);
        REQUIRE_FALSE(plan.ok());
        CHECK(plan.error().kind == ErrorKind::BadInput);
        CHECK_THAT(plan.error().message, Contains("--memory"));
    }
    SECTION("kernel far above VIRT_BASE") {
        // The pfns between VIRT_BASE and the kernel count too.
        config.memory_bytes = 16 * kMiB;
        auto plan =
            plan_domain(synthetic_image(kDemoVirtBase, kDemoVirtBase + 16 * kMiB, kDemoVirtBase + 17 * kMiB), config);
        REQUIRE_FALSE(plan.ok());
        CHECK(plan.error().kind == ErrorKind::BadInput);
        CHECK_THAT(plan.error().message, Contains("--memory"));
    }
}

TEST_CASE("plan_domain rejects an image starting below VIRT_BASE", "[domain][plan]") {
    const DomainConfig config;
    auto plan = plan_domain(synthetic_image(kDemoVirtBase, kDemoVirtBase - kPage, kDemoVirtBase + kPage), config);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.error().kind == ErrorKind::BadInput);
}

// ===========================================================================
// build_domain
// ===========================================================================

TEST_CASE("build_domain: demo guest start_info, p2m, M2P, shared_info, DomainInfo", "[domain][build]") {
    const elf::GuestImage image = demo_image();
    DomainConfig config;
    config.cmdline = "console=hvc0 loglevel=8 pvvmm.test=\"a b\"";
    const BuiltDomain d = build(image, config);

    check_start_info(d, config);
    check_p2m_and_m2p(d);
    check_domain_info(d, image);
    CHECK(d.info.entry == kDemoVirtBase);
    CHECK(d.info.hypercall_page_va != 0);

    const auto* shared = d.mem.object<shared_info_t>(layout::kSharedInfoGpa);
    REQUIRE(shared != nullptr);
    for (const auto& v : shared->vcpu_info) {
        CHECK(v.evtchn_upcall_mask == 1);
        CHECK(v.evtchn_upcall_pending == 0);
        CHECK(v.evtchn_pending_sel == 0);
    }
    size_t pending = 0;
    for (auto word : shared->evtchn_pending)
        pending += word != 0;
    for (auto word : shared->evtchn_mask)
        pending += word != 0;
    CHECK(pending == 0);
}

TEST_CASE("build_domain copies the demo ELF's PT_LOAD segments", "[domain][build]") {
    const elf::GuestImage image = demo_image();
    const BuiltDomain d = build(image, DomainConfig{});

    // Read the program headers straight from the file, not through vmm/elf.
    const auto file = embedded_demo_guest_elf();
    REQUIRE(file.size() >= sizeof(Elf64_Ehdr));
    Elf64_Ehdr eh;
    std::memcpy(&eh, file.data(), sizeof(eh));
    REQUIRE(eh.e_phentsize == sizeof(Elf64_Phdr));
    REQUIRE(eh.e_phoff + uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr) <= file.size());

    unsigned loads = 0;
    uint64_t bytes_compared = 0;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph;
        std::memcpy(&ph, file.data() + eh.e_phoff + i * sizeof(Elf64_Phdr), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        ++loads;
        INFO("segment " << i << " paddr " << hex(ph.p_paddr) << " filesz " << hex(ph.p_filesz));
        REQUIRE(ph.p_offset + ph.p_filesz <= file.size());
        // Xen places segments by paddr: va = paddr + VIRT_BASE - PADDR_OFFSET.
        const uint64_t va = ph.p_paddr + image.virt_base - image.paddr_offset;
        CHECK(va == ph.p_vaddr);  // the demo links vaddr = VIRT_BASE + paddr
        REQUIRE(va >= d.layout.virt_start);
        REQUIRE(va + ph.p_memsz <= d.layout.kernel_end);

        uint64_t mismatched = 0, nonzero_bss = 0;
        for (uint64_t off = 0; off < ph.p_memsz;) {
            const uint64_t cur = va + off;
            const uint64_t chunk = std::min<uint64_t>(kPage - (cur & 0xfff), ph.p_memsz - off);
            const auto guest = d.mem.span(d.gpa_of_va(cur), chunk);
            REQUIRE(guest.size() == chunk);
            for (uint64_t k = 0; k < chunk; ++k) {
                if (off + k < ph.p_filesz) {
                    mismatched += guest[k] != file[ph.p_offset + off + k];
                    ++bytes_compared;
                } else {
                    nonzero_bss += guest[k] != 0;
                }
            }
            off += chunk;
        }
        CHECK(mismatched == 0);
        CHECK(nonzero_bss == 0);
    }
    CHECK(loads >= 2);
    CHECK(bytes_compared > 0);

    // The entry point's first bytes are where the guest will start running.
    const auto entry = d.mem.span(d.gpa_of_va(image.virt_entry), 16);
    REQUIRE(entry.size() == 16);
    CHECK(std::any_of(entry.begin(), entry.end(), [](uint8_t b) { return b != 0; }));
}

TEST_CASE("build_domain: the demo's initial page tables", "[domain][build][pagetables]") {
    const elf::GuestImage image = demo_image();
    const BuiltDomain d = build(image, DomainConfig{});
    const auto levels = check_initial_page_tables(d);

    // The demo lives in L4 slot 511; Xen's slots 256..271 stay empty.
    GuestTableMemory tables{d.mem};
    const uint64_t root = d.info.l4_mfn << 12;
    CHECK(pt::table_index(d.layout.virt_start, 4) == 511);
    std::vector<unsigned> present_slots;
    for (unsigned slot = 0; slot < pt::kEntries; ++slot)
        if (pt::is_present(tables.read(root, slot)))
            present_slots.push_back(slot);
    CHECK(present_slots == std::vector<unsigned>{511});

    // The L4 is the first reserved frame, and it maps itself read-only.
    CHECK(levels.at(d.info.l4_mfn << 12) == 4);
    const pt::Translation l4_page = pt::walk(tables, root, d.layout.pt_va);
    REQUIRE(l4_page.present);
    CHECK(l4_page.pa == d.info.l4_mfn << 12);
    CHECK((l4_page.flags & pt::kWritable) == 0);

    // Boot stack, start_info and the hypercall page are reachable as the
    // guest will use them.
    const pt::Translation stack = pt::walk(tables, root, d.info.stack_top_va - 8);
    REQUIRE(stack.present);
    CHECK((stack.flags & pt::kWritable) != 0);
    CHECK(stack.pa == (d.mfn_of_va(d.layout.stack_va) << 12) + kPage - 8);
    const pt::Translation si = pt::walk(tables, root, d.info.start_info_va);
    REQUIRE(si.present);
    CHECK(si.pa == d.gpa_of_va(d.info.start_info_va));
    const pt::Translation hc = pt::walk(tables, root, d.info.hypercall_page_va);
    REQUIRE(hc.present);
    CHECK((hc.flags & pt::kNoExecute) == 0);
}

TEST_CASE("build_domain on synthetic layouts", "[domain][build][pagetables]") {
    for (const SyntheticCase& c : synthetic_cases()) {
        SECTION(c.name) {
            const elf::GuestImage image = synthetic_image(c.virt_base, c.kstart, c.kend);
            DomainConfig config;
            config.cmdline = c.name;
            const BuiltDomain d = build(image, config);
            check_initial_page_tables(d);
            check_start_info(d, config);
            check_p2m_and_m2p(d);
            check_domain_info(d, image);
        }
    }
}

TEST_CASE("build_domain marks machine frames past the domain invalid in the M2P", "[domain][build]") {
    DomainConfig config;
    config.memory_bytes = 16 * kMiB;
    const BuiltDomain d = build(demo_image(), config, 8 * kMiB);
    REQUIRE(d.mem.size() >> 12 > layout::kDomainFirstMfn + d.layout.nr_pages);
    check_p2m_and_m2p(d);
}

// Xen (xc_dom_x86.c setup_pgtables_x86_64) puts the table frames in level
// order: L4, then all L3s, all L2s, all L1s, also across 1 GiB boundaries.
TEST_CASE("initial page-table frames are in level order (L4, L3s, L2s, L1s)", "[domain][build]") {
    const elf::GuestImage image = synthetic_image(0x7fffe00000, 0x7fffe00000, 0x7fffe00000 + 3 * kMiB);
    const BuiltDomain d = build(image, DomainConfig{});
    const auto levels = check_initial_page_tables(d);
    std::vector<int> order;
    for (uint64_t mfn = d.info.pt_first_mfn; mfn < d.info.pt_first_mfn + d.info.pt_nr_frames; ++mfn) {
        auto it = levels.find(mfn << 12);
        order.push_back(it == levels.end() ? 0 : it->second);
    }
    CHECK(order == std::vector<int>{4, 3, 3, 2, 2, 1, 1, 1});
}

TEST_CASE("build_domain: the command line", "[domain][build]") {
    const elf::GuestImage image = demo_image();
    DomainConfig config;

    SECTION("empty") {
        const BuiltDomain d = build(image, config);
        check_start_info(d, config);
    }
    SECTION("the longest Xen accepts: 1023 bytes") {
        config.cmdline = std::string(MAX_GUEST_CMDLINE - 1, 'x');
        config.cmdline.front() = '<';
        config.cmdline.back() = '>';
        const BuiltDomain d = build(image, config);
        check_start_info(d, config);
    }
    SECTION("1024 bytes or more is rejected") {
        config.cmdline = std::string(GENERATE(as<size_t>{}, MAX_GUEST_CMDLINE, MAX_GUEST_CMDLINE + 1, 4096), 'x');
        auto plan = plan_domain(image, config);
        REQUIRE(plan.ok());
        GuestMemory mem = make_memory(layout::kDomainRamGpa + config.memory_bytes);
        auto info = build_domain(mem, image, config, *plan);
        REQUIRE_FALSE(info.ok());
        CHECK(info.error().kind == ErrorKind::BadInput);
        CHECK_THAT(info.error().message, Contains("--cmdline"));
    }
}

// load_guest_image accepts a kernel anywhere in canonical space outside
// Xen's hole, so the p2m, tables and stack placed after it could run past
// the top of the address space or into the non-canonical gap: bad input.
TEST_CASE("plan_domain rejects a layout that leaves canonical address space", "[domain][plan]") {
    SECTION("wrapping past 2^64") {
        const uint64_t top = 0xffffffffffe00000;
        const elf::GuestImage image = synthetic_image(top, top, top + kPage);
        const DomainConfig config;  // 64 MiB: 32 p2m pages run past 2^64
        auto plan = plan_domain(image, config);
        REQUIRE_FALSE(plan.ok());
        CHECK(plan.error().kind == ErrorKind::BadInput);
        CHECK_THAT(plan.error().message, Contains("leaves no room"));
    }
    SECTION("running into the non-canonical gap") {
        const uint64_t top = 0x7fffffe00000;
        const elf::GuestImage image = synthetic_image(top, top, top + kPage);
        DomainConfig config;
        config.memory_bytes = kGiB;  // 2 MiB of p2m crosses 0x800000000000
        auto plan = plan_domain(image, config);
        REQUIRE_FALSE(plan.ok());
        CHECK(plan.error().kind == ErrorKind::BadInput);
    }
}

// This input once made plan_domain loop forever (a wrapped range).
TEST_CASE("plan_domain terminates on a layout wrapping past 2^64 with large memory", "[domain][plan]") {
    const uint64_t top = 0xffffffffffe00000;
    DomainConfig config;
    config.memory_bytes = kGiB;
    auto plan = plan_domain(synthetic_image(top, top, top + kPage), config);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.error().kind == ErrorKind::BadInput);
}
