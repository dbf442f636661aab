#include "vmm/elf/guest_image.hpp"

#include "guest-abi/layout.hpp"
#include "vmm/elf/xen_features.hpp"

#include <stdint.h>
#include <xen/xen.h>

#include <algorithm>

namespace pvvmm::elf {

namespace {

// Xen owns this part of every 64-bit PV address space (PML4 slots
// 256..271); our monitor lives there, so a kernel cannot.
constexpr uint64_t kXenHoleStart = __HYPERVISOR_VIRT_START;
constexpr uint64_t kXenHoleEnd = __HYPERVISOR_VIRT_END;

// 48-bit virtual addresses: bits 63..47 all equal.
constexpr bool is_canonical(uint64_t va) {
    const uint64_t top = va >> 47;
    return top == 0 || top == 0x1ffff;
}

constexpr bool page_aligned(uint64_t va) { return va % layout::kPageSize == 0; }

// Note strings come from the file; keep control bytes out of
// log lines and error messages.
std::string printable(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            c = '?';
    return out;
}

// Xen's elf_xen_note_check: only "generic"-loader or Linux kernels built
// for the Xen 3.0 interface are loaded.
Result<void> check_guest_identity(const XenNotes& notes) {
    if (notes.count == 0)
        return bad_input("not a Xen PV guest: no Xen ELF notes");
    if (notes.guest_os.empty())
        return bad_input("not a Xen PV guest: the Xen ELF notes have no GUEST_OS");
    if (!notes.loader.starts_with("generic") && !notes.guest_os.starts_with("linux")) {
        return bad_input(
            "unsupported guest: LOADER is '{}' and GUEST_OS is '{}'; only images "
            "for the generic loader or Linux can be loaded",
            printable(notes.loader), printable(notes.guest_os));
    }
    if (!notes.xen_version.starts_with("xen-3.0")) {
        return bad_input(
            "unsupported guest: XEN_VERSION is '{}'; only images built for "
            "'xen-3.0' can be loaded",
            printable(notes.xen_version));
    }
    return {};
}

struct PhysicalExtent {
    uint64_t start;
    uint64_t end;
};

// Like Xen's elf_parse_binary: lowest paddr to highest paddr end over all
// loaded segments (parse_elf64 guarantees none wraps and there is one).
PhysicalExtent physical_extent(const std::vector<Segment>& loads) {
    PhysicalExtent extent{UINT64_MAX, 0};
    for (const Segment& s : loads) {
        extent.start = std::min(extent.start, s.paddr);
        extent.end = std::max(extent.end, s.paddr + s.mem_size);
    }
    return extent;
}

// elf_xen_addr_calc_check, for PV.
Result<void> compute_addresses(GuestImage& image) {
    const XenNotes& notes = image.notes;
    if (notes.paddr_offset && !notes.virt_base)
        return bad_input("Xen note PADDR_OFFSET is set but VIRT_BASE is not");
    image.virt_base = notes.virt_base.value_or(0);
    // 0 is the default of the ELF-note interface (only the legacy
    // __xen_guest one defaulted to virt_base).
    image.paddr_offset = notes.paddr_offset.value_or(0);
    image.virt_offset = image.virt_base - image.paddr_offset;

    const PhysicalExtent extent = physical_extent(image.elf.loads);
    image.virt_kstart = extent.start + image.virt_offset;
    image.virt_kend = extent.end + image.virt_offset;
    image.virt_entry = notes.entry.value_or(image.elf.entry);
    image.hypercall_page = notes.hypercall_page.value_or(0);
    return {};
}

Result<void> check_kernel_range(const GuestImage& image) {
    const uint64_t start = image.virt_kstart;
    const uint64_t end = image.virt_kend;
    if (start > end) {
        return bad_input(
            "kernel virtual range wraps around the address space (paddr + "
            "virt_offset {:#x} gives {:#x}-{:#x})",
            image.virt_offset, start, end);
    }
    if (start == end)
        return bad_input("kernel image is empty: its PT_LOAD segments have no memory size");
    if (!page_aligned(start))
        return bad_input("kernel start {:#x} is not page aligned", start);
    // Both ends canonical and on the same side of the non-canonical gap.
    if (!is_canonical(start) || !is_canonical(end - 1) || (start >> 63) != ((end - 1) >> 63)) {
        return bad_input(
            "kernel virtual range {:#x}-{:#x} is not in canonical (48-bit) address "
            "space",
            start, end);
    }
    if (start < kXenHoleEnd && end > kXenHoleStart) {
        return bad_input(
            "kernel virtual range {:#x}-{:#x} overlaps the range reserved for Xen "
            "({:#x}-{:#x})",
            start, end, kXenHoleStart, kXenHoleEnd);
    }
    if (image.virt_base > start) {
        return bad_input("VIRT_BASE {:#x} is above the kernel start {:#x}", image.virt_base, start);
    }
    if (!page_aligned(image.virt_base))
        return bad_input("VIRT_BASE {:#x} is not page aligned", image.virt_base);
    return {};
}

bool inside_kernel(const GuestImage& image, uint64_t va) { return va >= image.virt_kstart && va < image.virt_kend; }

Result<void> check_addresses_in_image(const GuestImage& image) {
    if (!inside_kernel(image, image.virt_entry)) {
        return bad_input("entry point {:#x} is outside the kernel image {:#x}-{:#x}", image.virt_entry,
                         image.virt_kstart, image.virt_kend);
    }
    if (image.notes.hypercall_page) {
        const uint64_t page = image.hypercall_page;
        if (!page_aligned(page))
            return bad_input("hypercall page {:#x} is not page aligned", page);
        if (!inside_kernel(image, page)) {
            return bad_input("hypercall page {:#x} is outside the kernel image {:#x}-{:#x}", page, image.virt_kstart,
                             image.virt_kend);
        }
    }
    // The p2m gets mapped at INIT_P2M; it must not land on the kernel.
    if (image.notes.init_p2m && inside_kernel(image, *image.notes.init_p2m)) {
        return bad_input("INIT_P2M address {:#x} is inside the kernel image {:#x}-{:#x}", *image.notes.init_p2m,
                         image.virt_kstart, image.virt_kend);
    }
    return {};
}

}  // namespace

Result<GuestImage> load_guest_image(std::span<const uint8_t> bytes) {
    auto elf = parse_elf64(bytes);
    if (!elf)
        return elf.error();
    auto notes = parse_xen_notes(elf.value());
    if (!notes)
        return notes.error();
    PVVMM_TRY(check_guest_identity(notes.value()));

    GuestImage image{};
    image.elf = std::move(elf.value());
    image.notes = std::move(notes.value());
    PVVMM_TRY(compute_addresses(image));
    PVVMM_TRY(check_kernel_range(image));
    PVVMM_TRY(check_addresses_in_image(image));

    FeatureNames features = split_features(image.notes.features);
    image.required_features = std::move(features.required);
    image.optional_features = std::move(features.optional);
    return image;
}

std::string describe(const GuestImage& image) {
    const XenNotes& notes = image.notes;
    std::string line = fmt::format(
        "{} {} ({}, loader '{}'): kernel {:#x}-{:#x} in {} PT_LOAD segment(s), entry {:#x}, "
        "virt_base {:#x}",
        printable(notes.guest_os), printable(notes.guest_version), printable(notes.xen_version),
        printable(notes.loader), image.virt_kstart, image.virt_kend, image.elf.loads.size(), image.virt_entry,
        image.virt_base);
    if (notes.hypercall_page)
        line += fmt::format(", hypercall page {:#x}", image.hypercall_page);
    if (notes.init_p2m)
        line += fmt::format(", p2m at {:#x}", *notes.init_p2m);
    if (!image.required_features.empty()) {
        line += ", requires";
        for (const std::string& feature : image.required_features)
            line += " " + printable(feature);
    }
    return line;
}

}  // namespace pvvmm::elf
