// Tests for vmm/elf: the ELF64 reader, the Xen note parser and Xen's image
// layout rules. Every image is built here, byte by byte, so each malformed
// case differs from a valid image in exactly one field.
#include "vmm/elf/elf_file.hpp"
#include "vmm/elf/guest_image.hpp"
#include "vmm/elf/read_file.hpp"
#include "vmm/elf/xen_features.hpp"
#include "vmm/elf/xen_notes.hpp"

#include <elf.h>
#include <unistd.h>
#include <xen/elfnote.h>
#include <catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace pvvmm::elf;
using Catch::Matchers::Contains;
using Bytes = std::vector<uint8_t>;

namespace {

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

Bytes little_endian(uint64_t value, size_t size) {
    Bytes out;
    for (size_t i = 0; i < size; ++i)
        out.push_back(static_cast<uint8_t>(value >> (8 * i)));
    return out;
}

Bytes c_string(std::string_view text) {
    Bytes out(text.begin(), text.end());
    out.push_back(0);
    return out;
}

template <typename T>
void append_struct(Bytes& out, const T& value) {
    // resize + memcpy: GCC 12 misreports insert() of raw bytes as overflow.
    const size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &value, sizeof(T));
}

void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

void pad_to(Bytes& out, size_t alignment) {
    while (out.size() % alignment != 0)
        out.push_back(0);
}

struct TestNote {
    std::string name;
    uint32_t type;
    Bytes desc;
};

TestNote xen_numeric(uint32_t type, uint64_t value, size_t size = 8) {
    return {"Xen", type, little_endian(value, size)};
}

TestNote xen_string(uint32_t type, std::string_view text) { return {"Xen", type, c_string(text)}; }

// Standard ELF note encoding: header, NUL-terminated name, descriptor,
// each padded to 4 bytes.
Bytes encode_notes(const std::vector<TestNote>& notes) {
    Bytes out;
    for (const TestNote& note : notes) {
        Elf64_Nhdr header{};
        header.n_namesz = static_cast<uint32_t>(note.name.size() + 1);
        header.n_descsz = static_cast<uint32_t>(note.desc.size());
        header.n_type = note.type;
        append_struct(out, header);
        append(out, c_string(note.name));
        pad_to(out, 4);
        append(out, note.desc);
        pad_to(out, 4);
    }
    return out;
}

Bytes note_header(uint32_t namesz, uint32_t descsz, uint32_t type) {
    Bytes out;
    append_struct(out, Elf64_Nhdr{namesz, descsz, type});
    return out;
}

struct TestSegment {
    uint64_t vaddr;
    uint64_t paddr;
    uint64_t file_size;
    uint64_t mem_size;
    uint32_t flags = PF_R | PF_X;
};

enum class NotesIn { Segment, Section, Nowhere };

// An ELF file: header, program headers, segment data, note area and, for
// NotesIn::Section, a section header table describing the note area.
struct TestElf {
    uint8_t elf_class = ELFCLASS64;
    uint8_t data_encoding = ELFDATA2LSB;
    uint16_t type = ET_EXEC;
    uint16_t machine = EM_X86_64;
    uint64_t entry = 0;
    std::vector<TestSegment> loads;
    Bytes note_area;
    NotesIn notes_in = NotesIn::Segment;

    [[nodiscard]] Bytes build() const {
        const size_t phnum = loads.size() + (notes_in == NotesIn::Segment ? 1 : 0);
        Bytes out(sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr), 0);
        std::vector<Elf64_Phdr> phdrs;
        for (const TestSegment& load : loads) {
            pad_to(out, 16);
            Elf64_Phdr ph{};
            ph.p_type = PT_LOAD;
            ph.p_flags = load.flags;
            ph.p_offset = out.size();
            ph.p_vaddr = load.vaddr;
            ph.p_paddr = load.paddr;
            ph.p_filesz = load.file_size;
            ph.p_memsz = load.mem_size;
            ph.p_align = 16;
            for (uint64_t i = 0; i < load.file_size; ++i)
                out.push_back(static_cast<uint8_t>(0x90 + phdrs.size() + i));
            phdrs.push_back(ph);
        }
        pad_to(out, 8);
        const uint64_t note_offset = out.size();
        append(out, note_area);
        if (notes_in == NotesIn::Segment) {
            Elf64_Phdr ph{};
            ph.p_type = PT_NOTE;
            ph.p_flags = PF_R;
            ph.p_offset = note_offset;
            ph.p_filesz = note_area.size();
            ph.p_align = 4;
            phdrs.push_back(ph);
        }

        Elf64_Ehdr eh{};
        std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = elf_class;
        eh.e_ident[EI_DATA] = data_encoding;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = type;
        eh.e_machine = machine;
        eh.e_version = EV_CURRENT;
        eh.e_entry = entry;
        eh.e_phoff = sizeof(Elf64_Ehdr);
        eh.e_ehsize = sizeof(Elf64_Ehdr);
        eh.e_phentsize = sizeof(Elf64_Phdr);
        eh.e_phnum = static_cast<uint16_t>(phnum);
        if (notes_in == NotesIn::Section) {
            pad_to(out, 8);
            eh.e_shoff = out.size();
            eh.e_shentsize = sizeof(Elf64_Shdr);
            eh.e_shnum = 2;
            append_struct(out, Elf64_Shdr{});  // the null section
            Elf64_Shdr sh{};
            sh.sh_type = SHT_NOTE;
            sh.sh_offset = note_offset;
            sh.sh_size = note_area.size();
            sh.sh_addralign = 4;
            append_struct(out, sh);
        }
        std::memcpy(out.data(), &eh, sizeof(eh));
        for (size_t i = 0; i < phdrs.size(); ++i)
            std::memcpy(out.data() + sizeof(eh) + i * sizeof(Elf64_Phdr), &phdrs[i], sizeof(Elf64_Phdr));
        return out;
    }
};

// Read-modify-write of the headers of an already built image.
void edit_ehdr(Bytes& image, const std::function<void(Elf64_Ehdr&)>& edit) {
    Elf64_Ehdr eh;
    std::memcpy(&eh, image.data(), sizeof(eh));
    edit(eh);
    std::memcpy(image.data(), &eh, sizeof(eh));
}

void edit_phdr(Bytes& image, size_t index, const std::function<void(Elf64_Phdr&)>& edit) {
    const size_t at = sizeof(Elf64_Ehdr) + index * sizeof(Elf64_Phdr);
    Elf64_Phdr ph;
    std::memcpy(&ph, image.data() + at, sizeof(ph));
    edit(ph);
    std::memcpy(image.data() + at, &ph, sizeof(ph));
}

Elf64_Phdr phdr(const Bytes& image, size_t index) {
    Elf64_Phdr ph;
    std::memcpy(&ph, image.data() + sizeof(Elf64_Ehdr) + index * sizeof(Elf64_Phdr), sizeof(ph));
    return ph;
}

// ---------------------------------------------------------------------------
// A Linux-like guest: VIRT_BASE 0xffffffff80000000, PADDR_OFFSET 0, two
// PT_LOADs at paddr 0x200000 (text) and 0x202000 (data + bss), every note.
// ---------------------------------------------------------------------------

constexpr uint64_t kVirtBase = 0xffffffff80000000;
constexpr uint64_t kFirstPaddr = 0x200000;
constexpr uint64_t kImageSize = 0x5000;
constexpr uint64_t kEntryOffset = 0x40;        // ENTRY note, from kstart
constexpr uint64_t kHypercallOffset = 0x1000;  // HYPERCALL_PAGE note, from kstart
constexpr uint64_t kInitP2m = 0xffffea0000000000;

std::vector<TestNote> guest_notes(uint64_t virt_base = kVirtBase) {
    const uint64_t kstart = virt_base + kFirstPaddr;
    return {
        {"GNU", NT_GNU_BUILD_ID, Bytes{1, 2, 3, 4, 5, 6, 7, 8}},
        xen_string(XEN_ELFNOTE_GUEST_OS, "linux"),
        xen_string(XEN_ELFNOTE_GUEST_VERSION, "2.6"),
        xen_string(XEN_ELFNOTE_XEN_VERSION, "xen-3.0"),
        xen_string(XEN_ELFNOTE_LOADER, "generic"),
        xen_numeric(XEN_ELFNOTE_VIRT_BASE, virt_base),
        xen_numeric(XEN_ELFNOTE_PADDR_OFFSET, 0),
        xen_numeric(XEN_ELFNOTE_ENTRY, kstart + kEntryOffset),
        xen_numeric(XEN_ELFNOTE_HYPERCALL_PAGE, kstart + kHypercallOffset),
        xen_string(XEN_ELFNOTE_FEATURES, "!writable_page_tables|pae_pgdir_above_4gb|writable_descriptor_tables"),
        xen_string(XEN_ELFNOTE_PAE_MODE, "yes"),
        xen_string(XEN_ELFNOTE_BSD_SYMTAB, "no"),
        xen_numeric(XEN_ELFNOTE_SUPPORTED_FEATURES, 0x801, 4),
        xen_numeric(XEN_ELFNOTE_HV_START_LOW, 0xffff800000000000),
        xen_numeric(XEN_ELFNOTE_INIT_P2M, kInitP2m),
        xen_numeric(XEN_ELFNOTE_SUSPEND_CANCEL, 1, 4),
        xen_numeric(XEN_ELFNOTE_MOD_START_PFN, 1, 4),
        xen_numeric(XEN_ELFNOTE_PHYS32_ENTRY, 0x200100, 4),
        {"Xen", XEN_ELFNOTE_L1_MFN_VALID,
         [] {
             Bytes pairs = little_endian(1, 8);   // mask _PAGE_PRESENT
             append(pairs, little_endian(1, 8));  // value _PAGE_PRESENT
             return pairs;
         }()},
        xen_numeric(0x77, 0x1234, 4),  // unknown type: ignored
    };
}

std::vector<TestNote> without(std::vector<TestNote> notes, uint32_t type) {
    std::erase_if(notes, [&](const TestNote& n) { return n.name == "Xen" && n.type == type; });
    return notes;
}

std::vector<TestNote> with(std::vector<TestNote> notes, TestNote replacement) {
    notes = without(std::move(notes), replacement.type);
    notes.push_back(std::move(replacement));
    return notes;
}

TestElf guest_elf(const std::vector<TestNote>& notes, uint64_t virt_base = kVirtBase) {
    TestElf elf;
    elf.entry = virt_base + kFirstPaddr;
    elf.loads = {
        {virt_base + kFirstPaddr, kFirstPaddr, 0x80, 0x2000, PF_R | PF_X},
        {virt_base + kFirstPaddr + 0x2000, kFirstPaddr + 0x2000, 0x20, 0x3000, PF_R | PF_W},
    };
    elf.note_area = encode_notes(notes);
    return elf;
}

Bytes guest_image_bytes() { return guest_elf(guest_notes()).build(); }

// The image must be rejected as BadInput with a message containing `text`.
void require_bad_input(const Bytes& image, const std::string& text) {
    auto result = load_guest_image(image);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == pvvmm::ErrorKind::BadInput);
    CHECK_THAT(result.error().message, Contains(text));
}

}  // namespace

// ---------------------------------------------------------------------------
// Valid images
// ---------------------------------------------------------------------------

TEST_CASE("a Linux-like guest parses to the right ELF, notes and addresses", "[elf]") {
    const Bytes bytes = guest_image_bytes();

    auto elf = parse_elf64(bytes);
    REQUIRE(elf.ok());
    CHECK(elf->entry == kVirtBase + kFirstPaddr);
    REQUIRE(elf->loads.size() == 2);
    CHECK(elf->loads[0].paddr == kFirstPaddr);
    CHECK(elf->loads[0].vaddr == kVirtBase + kFirstPaddr);
    CHECK(elf->loads[0].file_size == 0x80);
    CHECK(elf->loads[0].mem_size == 0x2000);
    CHECK(elf->loads[0].flags == (PF_R | PF_X));
    CHECK(elf->loads[0].offset == phdr(bytes, 0).p_offset);
    CHECK(elf->loads[1].mem_size == 0x3000);
    CHECK(elf->notes.size() == guest_notes().size());
    CHECK(elf->notes[0].name == "GNU");
    CHECK(elf->notes[0].desc.size() == 8);
    CHECK(elf->bytes.data() == bytes.data());

    auto image = load_guest_image(bytes);
    REQUIRE(image.ok());
    const XenNotes& notes = image->notes;
    CHECK(notes.count == guest_notes().size() - 1);
    CHECK(notes.guest_os == "linux");
    CHECK(notes.guest_version == "2.6");
    CHECK(notes.xen_version == "xen-3.0");
    CHECK(notes.loader == "generic");
    CHECK(notes.pae_mode == "yes");
    CHECK_FALSE(notes.bsd_symtab);
    CHECK(notes.virt_base == kVirtBase);
    CHECK(notes.paddr_offset == 0u);
    CHECK(notes.entry == kVirtBase + kFirstPaddr + kEntryOffset);
    CHECK(notes.hypercall_page == kVirtBase + kFirstPaddr + kHypercallOffset);
    CHECK(notes.hv_start_low == 0xffff800000000000);
    CHECK(notes.init_p2m == kInitP2m);
    CHECK(notes.mod_start_pfn == 1u);
    CHECK(notes.phys32_entry == 0x200100u);
    CHECK(notes.suspend_cancel);
    CHECK(notes.supported_features[0] == 0x801u);
    REQUIRE(notes.l1_mfn_valid.size() == 1);
    CHECK(notes.l1_mfn_valid[0].mask == 1u);
    CHECK(notes.l1_mfn_valid[0].value == 1u);
    CHECK(notes.unknown_types == std::vector<uint32_t>{0x77});

    CHECK(image->virt_base == kVirtBase);
    CHECK(image->paddr_offset == 0u);
    CHECK(image->virt_offset == kVirtBase);
    CHECK(image->virt_kstart == kVirtBase + kFirstPaddr);
    CHECK(image->virt_kend == kVirtBase + kFirstPaddr + kImageSize);
    CHECK(image->virt_entry == kVirtBase + kFirstPaddr + kEntryOffset);
    CHECK(image->hypercall_page == kVirtBase + kFirstPaddr + kHypercallOffset);
    CHECK(image->required_features == std::vector<std::string>{"writable_page_tables"});
    CHECK(image->optional_features == std::vector<std::string>{"pae_pgdir_above_4gb", "writable_descriptor_tables"});

    const std::string line = describe(image.value());
    CHECK_THAT(line, Contains("linux 2.6"));
    CHECK_THAT(line, Contains("0xffffffff80200000-0xffffffff80205000"));
    CHECK_THAT(line, Contains("entry 0xffffffff80200040"));
    CHECK_THAT(line, Contains("hypercall page 0xffffffff80201000"));
    CHECK_THAT(line, Contains("requires writable_page_tables"));
}

// Linux writes FEATURES without a NUL inside the descriptor (its padding
// ends the string); Xen reads it, so must we: a string ends at its NUL or
// at the end of its descriptor, never beyond.
TEST_CASE("string notes without a NUL end at their descriptor, as Linux's FEATURES", "[elf]") {
    const std::string linux_features = "!writable_page_tables|pae_pgdir_above_4gb";
    auto notes =
        with(guest_notes(), {"Xen", XEN_ELFNOTE_FEATURES, Bytes(linux_features.begin(), linux_features.end())});
    notes = with(notes, {"Xen", XEN_ELFNOTE_GUEST_OS, Bytes{'l', 'i', 'n', 'u', 'x'}});
    notes = with(notes, {"Xen", XEN_ELFNOTE_LOADER, Bytes{}});
    const Bytes bytes = guest_elf(notes).build();
    auto image = load_guest_image(bytes);
    REQUIRE(image.ok());
    CHECK(image->notes.guest_os == "linux");
    CHECK(image->notes.loader.empty());
    CHECK(image->required_features == std::vector<std::string>{"writable_page_tables"});
    CHECK(image->optional_features == std::vector<std::string>{"pae_pgdir_above_4gb"});
}

TEST_CASE("numeric notes may be 1, 2, 4 or 8 bytes", "[elf]") {
    // A guest mapped low, so that 4-byte addresses suffice.
    constexpr uint64_t base = 0x400000;
    auto notes = guest_notes(base);
    notes = with(notes, xen_numeric(XEN_ELFNOTE_VIRT_BASE, base, 4));
    notes = with(notes, xen_numeric(XEN_ELFNOTE_PADDR_OFFSET, 0, 2));
    notes = with(notes, xen_numeric(XEN_ELFNOTE_ENTRY, base + kFirstPaddr + 0x44, 4));
    notes = with(notes, xen_numeric(XEN_ELFNOTE_HYPERCALL_PAGE, base + kFirstPaddr + 0x1000, 8));
    notes = with(notes, xen_numeric(XEN_ELFNOTE_SUSPEND_CANCEL, 1, 1));
    notes = with(notes, xen_numeric(XEN_ELFNOTE_MOD_START_PFN, 0x0201, 2));
    notes = with(notes, xen_numeric(XEN_ELFNOTE_INIT_P2M, 0x8000000000, 8));

    auto image = load_guest_image(guest_elf(notes, base).build());
    REQUIRE(image.ok());
    CHECK(image->virt_base == base);
    CHECK(image->virt_entry == base + kFirstPaddr + 0x44);
    CHECK(image->hypercall_page == base + kFirstPaddr + 0x1000);
    CHECK(image->virt_kstart == base + kFirstPaddr);
    CHECK(image->notes.suspend_cancel);
    CHECK(image->notes.mod_start_pfn == 0x0201u);
    CHECK(image->notes.init_p2m == 0x8000000000u);
}

TEST_CASE("absent notes take Xen's defaults", "[elf]") {
    // No VIRT_BASE, PADDR_OFFSET, ENTRY or HYPERCALL_PAGE: virt_base and
    // paddr_offset are 0, the entry is e_entry, no hypercall page.
    auto notes = guest_notes(0);
    for (uint32_t type :
         {XEN_ELFNOTE_VIRT_BASE, XEN_ELFNOTE_PADDR_OFFSET, XEN_ELFNOTE_ENTRY, XEN_ELFNOTE_HYPERCALL_PAGE})
        notes = without(notes, type);
    auto image = load_guest_image(guest_elf(notes, 0).build());
    REQUIRE(image.ok());
    CHECK(image->virt_base == 0u);
    CHECK(image->paddr_offset == 0u);
    CHECK(image->virt_offset == 0u);
    CHECK(image->virt_kstart == kFirstPaddr);
    CHECK(image->virt_kend == kFirstPaddr + kImageSize);
    CHECK(image->virt_entry == kFirstPaddr);
    CHECK(image->hypercall_page == 0u);
    CHECK_FALSE(image->notes.hypercall_page.has_value());
}

TEST_CASE("PADDR_OFFSET maps paddrs that equal vaddrs", "[elf]") {
    // Old-style kernels link with paddr == vaddr and set PADDR_OFFSET to
    // VIRT_BASE, giving virt_offset 0.
    auto notes = with(guest_notes(), xen_numeric(XEN_ELFNOTE_PADDR_OFFSET, kVirtBase));
    TestElf elf = guest_elf(notes);
    for (TestSegment& load : elf.loads)
        load.paddr = load.vaddr;
    auto image = load_guest_image(elf.build());
    REQUIRE(image.ok());
    CHECK(image->virt_offset == 0u);
    CHECK(image->virt_kstart == kVirtBase + kFirstPaddr);
    CHECK(image->virt_kend == kVirtBase + kFirstPaddr + kImageSize);
}

TEST_CASE("Mini-OS style guests (generic loader, other GUEST_OS) are accepted", "[elf]") {
    auto notes = with(guest_notes(), xen_string(XEN_ELFNOTE_GUEST_OS, "Mini-OS"));
    CHECK(load_guest_image(guest_elf(notes).build()).ok());
    // Linux without a LOADER note is fine too.
    CHECK(load_guest_image(guest_elf(without(guest_notes(), XEN_ELFNOTE_LOADER)).build()).ok());
}

TEST_CASE("notes in SHT_NOTE sections are used when there is no PT_NOTE", "[elf]") {
    TestElf elf = guest_elf(guest_notes());
    elf.notes_in = NotesIn::Section;
    const Bytes bytes = elf.build();
    auto image = load_guest_image(bytes);
    REQUIRE(image.ok());
    CHECK(image->notes.guest_os == "linux");
    CHECK(image->virt_entry == kVirtBase + kFirstPaddr + kEntryOffset);
}

TEST_CASE("a PT_LOAD without R/W/X flags is not loaded, as in Xen", "[elf]") {
    TestElf elf = guest_elf(guest_notes());
    elf.loads.push_back({kVirtBase + 0x100000, 0x100000, 0, 0x1000, 0});
    auto parsed = parse_elf64(elf.build());
    REQUIRE(parsed.ok());
    CHECK(parsed->loads.size() == 2);
}

TEST_CASE("a PT_NOTE with file offset 0 is skipped, as in Xen", "[elf]") {
    Bytes bytes = guest_image_bytes();
    edit_phdr(bytes, 2, [](Elf64_Phdr& ph) { ph.p_offset = 0; });
    require_bad_input(bytes, "not a Xen PV guest: no Xen ELF notes");
}

// ---------------------------------------------------------------------------
// Malformed ELF structure
// ---------------------------------------------------------------------------

TEST_CASE("truncated files are rejected with the place of truncation", "[elf][malformed]") {
    const Bytes full = guest_image_bytes();
    auto truncated = [&](size_t size) { return Bytes(full.begin(), full.begin() + size); };
    const Elf64_Phdr text = phdr(full, 0);
    const Elf64_Phdr notes = phdr(full, 2);

    SECTION("inside the ELF header") { require_bad_input(truncated(40), "truncated inside the ELF header (40 bytes"); }
    SECTION("inside the magic") { require_bad_input(truncated(3), "truncated inside the ELF header"); }
    SECTION("inside the program headers") {
        require_bad_input(truncated(sizeof(Elf64_Ehdr) + 70),
                          "program header table extends past end of file (offset 0x40 + size "
                          "0xa8 > file size 0x86)");
    }
    SECTION("inside a segment") {
        const size_t cut = text.p_offset + 0x10;
        require_bad_input(truncated(cut), fmt::format("segment 0 extends past end of file (offset {:#x} + size "
                                                      "0x80 > file size {:#x})",
                                                      text.p_offset, cut));
    }
    SECTION("inside the notes") {
        require_bad_input(truncated(notes.p_offset + 30), "segment 2 (PT_NOTE) extends past end of file");
    }
}

TEST_CASE("files that are not x86-64 ELF executables are rejected", "[elf][malformed]") {
    Bytes bytes = guest_image_bytes();
    SECTION("bad magic") {
        bytes[1] = 'X';
        require_bad_input(bytes, "not an ELF file");
    }
    SECTION("empty") { require_bad_input({}, "not an ELF file"); }
    SECTION("ELFCLASS32") {
        bytes[EI_CLASS] = ELFCLASS32;
        require_bad_input(bytes, "ELF class is 1 (ELFCLASS32, 32-bit)");
    }
    SECTION("big endian") {
        bytes[EI_DATA] = ELFDATA2MSB;
        require_bad_input(bytes, "ELF data encoding is 2 (ELFDATA2MSB, big-endian)");
    }
    SECTION("wrong machine") {
        edit_ehdr(bytes, [](Elf64_Ehdr& eh) { eh.e_machine = EM_386; });
        require_bad_input(bytes, "ELF machine is 3 (EM_386)");
    }
    SECTION("ET_REL") {
        edit_ehdr(bytes, [](Elf64_Ehdr& eh) { eh.e_type = ET_REL; });
        require_bad_input(bytes, "ELF type is 1 (ET_REL, relocatable object)");
    }
    SECTION("ET_DYN") {
        edit_ehdr(bytes, [](Elf64_Ehdr& eh) { eh.e_type = ET_DYN; });
        require_bad_input(bytes, "ET_DYN, position-independent");
    }
}

TEST_CASE("bad program header tables are rejected", "[elf][malformed]") {
    Bytes bytes = guest_image_bytes();
    SECTION("wrong entry size") {
        edit_ehdr(bytes, [](Elf64_Ehdr& eh) { eh.e_phentsize = 32; });
        require_bad_input(bytes, "program header entry size is 32 bytes; expected 56");
    }
    SECTION("no program headers") {
        edit_ehdr(bytes, [](Elf64_Ehdr& eh) { eh.e_phnum = 0; });
        require_bad_input(bytes, "no program headers");
    }
    SECTION("extended numbering") {
        edit_ehdr(bytes, [](Elf64_Ehdr& eh) { eh.e_phnum = PN_XNUM; });
        require_bad_input(bytes, "extended program header numbering");
    }
    SECTION("too many") {
        edit_ehdr(bytes, [](Elf64_Ehdr& eh) { eh.e_phnum = 2000; });
        require_bad_input(bytes, "2000 program headers; at most 1024");
    }
    SECTION("table offset wraps") {
        edit_ehdr(bytes, [](Elf64_Ehdr& eh) { eh.e_phoff = ~uint64_t{0} - 8; });
        require_bad_input(bytes, "program header table extends past end of file");
    }
    SECTION("no PT_LOAD") {
        edit_phdr(bytes, 0, [](Elf64_Phdr& ph) { ph.p_type = PT_NULL; });
        edit_phdr(bytes, 1, [](Elf64_Phdr& ph) { ph.p_type = PT_NULL; });
        require_bad_input(bytes, "no loadable (PT_LOAD) segments");
    }
}

TEST_CASE("bad PT_LOAD segments are rejected", "[elf][malformed]") {
    Bytes bytes = guest_image_bytes();
    SECTION("overlapping by paddr") {
        edit_phdr(bytes, 1, [](Elf64_Phdr& ph) { ph.p_paddr = kFirstPaddr + 0x1000; });
        require_bad_input(bytes,
                          "PT_LOAD segments 0 and 1 overlap (paddr 0x200000-0x202000 and "
                          "0x201000-0x204000)");
    }
    SECTION("one segment containing another") {
        edit_phdr(bytes, 0, [](Elf64_Phdr& ph) { ph.p_memsz = 0x10000; });
        require_bad_input(bytes, "PT_LOAD segments 0 and 1 overlap");
    }
    SECTION("file size above memory size") {
        edit_phdr(bytes, 1, [](Elf64_Phdr& ph) { ph.p_memsz = 0x10; });
        require_bad_input(bytes, "segment 1 file size 0x20 exceeds its memory size 0x10");
    }
    SECTION("offset wrapping around") {
        edit_phdr(bytes, 0, [](Elf64_Phdr& ph) { ph.p_offset = 0xfffffffffffffff0; });
        require_bad_input(bytes,
                          "segment 0 file range wraps around (offset 0xfffffffffffffff0 + "
                          "size 0x80)");
    }
    SECTION("offset past the end") {
        edit_phdr(bytes, 0, [](Elf64_Phdr& ph) { ph.p_offset = 0x100000; });
        require_bad_input(bytes, "segment 0 extends past end of file (offset 0x100000 + size 0x80");
    }
    SECTION("virtual range wrapping") {
        edit_phdr(bytes, 1, [](Elf64_Phdr& ph) { ph.p_vaddr = 0xfffffffffffff000; });
        require_bad_input(bytes, "segment 1 virtual range wraps around");
    }
    SECTION("physical range wrapping") {
        edit_phdr(bytes, 1, [](Elf64_Phdr& ph) { ph.p_paddr = 0xfffffffffffff000; });
        require_bad_input(bytes, "segment 1 physical range wraps around");
    }
}

// ---------------------------------------------------------------------------
// Malformed notes
// ---------------------------------------------------------------------------

TEST_CASE("notes with sizes outside their range are rejected", "[elf][malformed]") {
    auto image_with_tail = [](const Bytes& tail) {
        TestElf elf = guest_elf(guest_notes());
        append(elf.note_area, tail);
        return elf.build();
    };
    SECTION("a header cut short") {
        require_bad_input(image_with_tail(Bytes{4, 0, 0, 0, 0, 0}),
                          "is truncated (6 bytes left, a note header needs 12)");
    }
    SECTION("name past the end") {
        require_bad_input(image_with_tail(note_header(0x100, 0, 1)), "has name size 0x100, past the end");
    }
    SECTION("huge name size") {
        require_bad_input(image_with_tail(note_header(0xffffffff, 0, 1)), "has name size 0xffffffff, past the end");
    }
    SECTION("descriptor past the end") {
        Bytes tail = note_header(4, 8, XEN_ELFNOTE_ENTRY);
        append(tail, c_string("Xen"));
        append(tail, Bytes{1, 2, 3, 4});
        require_bad_input(image_with_tail(tail), "has descriptor size 0x8, past the end");
    }
    SECTION("huge descriptor size") {
        Bytes tail = note_header(4, 0xfffffff0, XEN_ELFNOTE_ENTRY);
        append(tail, c_string("Xen"));
        require_bad_input(image_with_tail(tail), "has descriptor size 0xfffffff0, past the end");
    }
    SECTION("PT_NOTE size cutting the last note") {
        Bytes bytes = guest_image_bytes();
        edit_phdr(bytes, 2, [](Elf64_Phdr& ph) { ph.p_filesz -= 2; });
        require_bad_input(bytes, "segment 2 (PT_NOTE): note at file offset");
    }
    SECTION("PT_NOTE past the end of the file") {
        Bytes bytes = guest_image_bytes();
        edit_phdr(bytes, 2, [](Elf64_Phdr& ph) { ph.p_filesz = 0x7fffffff; });
        require_bad_input(bytes, "segment 2 (PT_NOTE) extends past end of file");
    }
}

TEST_CASE("Xen notes with malformed values are rejected", "[elf][malformed]") {
    SECTION("a string too long") {
        auto notes = with(guest_notes(), {"Xen", XEN_ELFNOTE_GUEST_VERSION, Bytes(5000, 'x')});
        require_bad_input(guest_elf(notes).build(), "Xen note GUEST_VERSION is 5000 bytes long");
    }
    SECTION("3-byte numeric") {
        auto notes = with(guest_notes(), xen_numeric(XEN_ELFNOTE_ENTRY, 0x123456, 3));
        require_bad_input(guest_elf(notes).build(),
                          "Xen note ENTRY has a 3-byte value; numeric notes must be 1, 2, 4 or 8");
    }
    SECTION("16-byte numeric") {
        auto notes = with(guest_notes(), {"Xen", XEN_ELFNOTE_VIRT_BASE, Bytes(16, 0)});
        require_bad_input(guest_elf(notes).build(), "Xen note VIRT_BASE has a 16-byte value");
    }
    SECTION("L1_MFN_VALID not made of pairs") {
        auto notes = with(guest_notes(), xen_numeric(XEN_ELFNOTE_L1_MFN_VALID, 1, 8));
        require_bad_input(guest_elf(notes).build(), "Xen note L1_MFN_VALID is 8 bytes");
    }
    SECTION("SUPPORTED_FEATURES not made of words") {
        auto notes = with(guest_notes(), xen_numeric(XEN_ELFNOTE_SUPPORTED_FEATURES, 1, 2));
        require_bad_input(guest_elf(notes).build(), "Xen note SUPPORTED_FEATURES is 2 bytes");
    }
    SECTION("overlong string") {
        auto notes = with(guest_notes(), xen_string(XEN_ELFNOTE_GUEST_VERSION, std::string(5000, 'v')));
        require_bad_input(guest_elf(notes).build(), "Xen note GUEST_VERSION is 5000 bytes long");
    }
}

// ---------------------------------------------------------------------------
// Xen's guest rules
// ---------------------------------------------------------------------------

TEST_CASE("images that are not Xen PV guests are rejected", "[elf][xen]") {
    SECTION("plain ELF with only a GNU note") {
        require_bad_input(guest_elf({{"GNU", NT_GNU_BUILD_ID, Bytes{1, 2, 3, 4}}}).build(),
                          "not a Xen PV guest: no Xen ELF notes");
    }
    SECTION("no notes at all") {
        TestElf elf = guest_elf({});
        elf.notes_in = NotesIn::Nowhere;
        require_bad_input(elf.build(), "not a Xen PV guest: no Xen ELF notes");
    }
    SECTION("no GUEST_OS") {
        require_bad_input(guest_elf(without(guest_notes(), XEN_ELFNOTE_GUEST_OS)).build(),
                          "not a Xen PV guest: the Xen ELF notes have no GUEST_OS");
    }
    SECTION("neither generic loader nor Linux") {
        auto notes = with(guest_notes(), xen_string(XEN_ELFNOTE_GUEST_OS, "NetBSD"));
        notes = with(notes, xen_string(XEN_ELFNOTE_LOADER, "bsdloader"));
        require_bad_input(guest_elf(notes).build(), "LOADER is 'bsdloader' and GUEST_OS is 'NetBSD'");
    }
    SECTION("not built for xen-3.0") {
        auto notes = with(guest_notes(), xen_string(XEN_ELFNOTE_XEN_VERSION, "xen-2.0"));
        require_bad_input(guest_elf(notes).build(), "XEN_VERSION is 'xen-2.0'");
    }
    SECTION("bad section table when falling back to sections") {
        TestElf elf = guest_elf({{"GNU", NT_GNU_BUILD_ID, Bytes{1, 2, 3, 4}}});
        Bytes bytes = elf.build();
        edit_ehdr(bytes, [](Elf64_Ehdr& eh) {
            eh.e_shnum = 3;
            eh.e_shentsize = 40;
        });
        require_bad_input(bytes, "section header entry size is 40 bytes; expected 64");
    }
}

TEST_CASE("entry point and hypercall page must lie in the image", "[elf][xen]") {
    const uint64_t kstart = kVirtBase + kFirstPaddr;
    SECTION("ENTRY at the image end") {
        auto notes = with(guest_notes(), xen_numeric(XEN_ELFNOTE_ENTRY, kstart + kImageSize));
        require_bad_input(guest_elf(notes).build(),
                          "entry point 0xffffffff80205000 is outside the kernel image "
                          "0xffffffff80200000-0xffffffff80205000");
    }
    SECTION("e_entry below the image, no ENTRY note") {
        TestElf elf = guest_elf(without(guest_notes(), XEN_ELFNOTE_ENTRY));
        elf.entry = kstart - 1;
        require_bad_input(elf.build(), "entry point 0xffffffff801fffff is outside");
    }
    SECTION("misaligned hypercall page") {
        auto notes = with(guest_notes(), xen_numeric(XEN_ELFNOTE_HYPERCALL_PAGE, kstart + 0x1010));
        require_bad_input(guest_elf(notes).build(), "hypercall page 0xffffffff80201010 is not page aligned");
    }
    SECTION("hypercall page outside") {
        auto notes = with(guest_notes(), xen_numeric(XEN_ELFNOTE_HYPERCALL_PAGE, kstart + kImageSize));
        require_bad_input(guest_elf(notes).build(), "hypercall page 0xffffffff80205000 is outside the kernel image");
    }
    SECTION("INIT_P2M on the kernel") {
        auto notes = with(guest_notes(), xen_numeric(XEN_ELFNOTE_INIT_P2M, kstart + 0x3000));
        require_bad_input(guest_elf(notes).build(), "INIT_P2M address 0xffffffff80203000 is inside the kernel image");
    }
}

TEST_CASE("the image must be placed where a PV kernel can live", "[elf][xen]") {
    SECTION("in the Xen hole") {
        constexpr uint64_t base = 0xffff800000000000;
        require_bad_input(guest_elf(guest_notes(base), base).build(),
                          "kernel virtual range 0xffff800000200000-0xffff800000205000 overlaps "
                          "the range reserved for Xen (0xffff800000000000-0xffff880000000000)");
    }
    SECTION("ending inside the Xen hole") {
        // kstart 0xffff87ffffffe000, 0x5000 bytes: crosses the hole's end.
        constexpr uint64_t base = 0xffff87ffffdfe000;
        require_bad_input(guest_elf(guest_notes(base), base).build(),
                          "kernel virtual range 0xffff87ffffffe000-0xffff880000003000 overlaps");
    }
    SECTION("just above the Xen hole is fine") {
        constexpr uint64_t base = 0xffff880000000000;
        CHECK(load_guest_image(guest_elf(guest_notes(base), base).build()).ok());
    }
    SECTION("non-canonical") {
        constexpr uint64_t base = 0x0000800000000000;
        require_bad_input(guest_elf(guest_notes(base), base).build(),
                          "kernel virtual range 0x800000200000-0x800000205000 is not in "
                          "canonical (48-bit) address space");
    }
    SECTION("kernel start not page aligned") {
        TestElf elf = guest_elf(guest_notes());
        elf.loads[0].paddr -= 0x10;
        require_bad_input(elf.build(), "kernel start 0xffffffff801ffff0 is not page aligned");
    }
    SECTION("VIRT_BASE above the kernel start") {
        auto notes = with(guest_notes(), xen_numeric(XEN_ELFNOTE_PADDR_OFFSET, 0x300000));
        require_bad_input(guest_elf(notes).build(),
                          "VIRT_BASE 0xffffffff80000000 is above the kernel start "
                          "0xffffffff7ff00000");
    }
    SECTION("PADDR_OFFSET without VIRT_BASE") {
        require_bad_input(guest_elf(without(guest_notes(), XEN_ELFNOTE_VIRT_BASE)).build(),
                          "PADDR_OFFSET is set but VIRT_BASE is not");
    }
    SECTION("wrapping virt_offset") {
        auto notes = with(guest_notes(), xen_numeric(XEN_ELFNOTE_PADDR_OFFSET, 0));
        // kstart 0xffffffffffffe000; the image's end wraps to 0x3000.
        notes = with(notes, xen_numeric(XEN_ELFNOTE_VIRT_BASE, 0xffffffffffdfe000));
        require_bad_input(guest_elf(notes).build(), "kernel virtual range wraps around");
    }
    SECTION("no memory at all") {
        TestElf elf = guest_elf(guest_notes());
        for (TestSegment& load : elf.loads) {
            load.file_size = load.mem_size = 0;
            load.paddr = kFirstPaddr;
        }
        require_bad_input(elf.build(), "kernel image is empty");
    }
}

// ---------------------------------------------------------------------------
// FEATURES strings
// ---------------------------------------------------------------------------

TEST_CASE("FEATURES strings split into required and optional names", "[elf]") {
    const FeatureNames names = split_features("!writable_page_tables|pae_pgdir_above_4gb||!|!dom0|future_thing");
    CHECK(names.required == std::vector<std::string>{"writable_page_tables", "dom0"});
    CHECK(names.optional == std::vector<std::string>{"pae_pgdir_above_4gb", "future_thing"});
    CHECK(split_features("").required.empty());
    CHECK(xen_feature_bit("writable_page_tables") == 0u);
    CHECK(xen_feature_bit("dom0") == 11u);
    CHECK(xen_feature_bit("direct_mapped") == 17u);
    CHECK_FALSE(xen_feature_bit("future_thing").has_value());
}

// ---------------------------------------------------------------------------
// Robustness: no input may crash the parser or be accepted inconsistently
// ---------------------------------------------------------------------------

namespace {

// Either BadInput, or an image whose every view lies inside the input.
void require_clean_outcome(const Bytes& bytes) {
    auto image = load_guest_image(bytes);
    if (!image.ok()) {
        REQUIRE(image.error().kind == pvvmm::ErrorKind::BadInput);
        REQUIRE_FALSE(image.error().message.empty());
        return;
    }
    const uint8_t* begin = bytes.data();
    const uint8_t* end = begin + bytes.size();
    for (const Segment& s : image->elf.loads) {
        REQUIRE(s.file_size <= s.mem_size);
        if (s.file_size > 0)
            REQUIRE(s.offset + s.file_size <= bytes.size());
    }
    for (const Note& note : image->elf.notes)
        REQUIRE((note.desc.empty() || (note.desc.data() >= begin && note.desc.data() + note.desc.size() <= end)));
    REQUIRE(image->virt_entry >= image->virt_kstart);
    REQUIRE(image->virt_entry < image->virt_kend);
}

}  // namespace

TEST_CASE("every truncation of a valid image is rejected cleanly", "[elf][fuzz]") {
    for (NotesIn where : {NotesIn::Segment, NotesIn::Section}) {
        TestElf elf = guest_elf(guest_notes());
        elf.notes_in = where;
        const Bytes full = elf.build();
        REQUIRE(load_guest_image(full).ok());
        for (size_t size = 0; size < full.size(); ++size) {
            // A fresh allocation of exactly `size` bytes, so ASan sees any
            // read past its end.
            const Bytes cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(size));
            auto image = load_guest_image(cut);
            REQUIRE_FALSE(image.ok());
            REQUIRE(image.error().kind == pvvmm::ErrorKind::BadInput);
        }
    }
}

TEST_CASE("random byte flips never crash the parser", "[elf][fuzz]") {
    std::mt19937 rng(20240601);
    for (NotesIn where : {NotesIn::Segment, NotesIn::Section}) {
        TestElf elf = guest_elf(guest_notes());
        elf.notes_in = where;
        const Bytes valid = elf.build();
        std::uniform_int_distribution<size_t> position(0, valid.size() - 1);
        std::uniform_int_distribution<int> flips(1, 8);
        std::uniform_int_distribution<int> byte(0, 255);
        size_t accepted = 0;
        for (int iteration = 0; iteration < 3000; ++iteration) {
            Bytes mutated = valid;
            for (int i = flips(rng); i > 0; --i)
                mutated[position(rng)] = static_cast<uint8_t>(byte(rng));
            // Also cut some of them short.
            if (iteration % 4 == 0)
                mutated.resize(position(rng));
            require_clean_outcome(mutated);
            accepted += load_guest_image(mutated).ok() ? 1 : 0;
        }
        // Flips in segment data and padding leave the image valid.
        CHECK(accepted > 0);
    }
}

TEST_CASE("flips concentrated in the headers never crash the parser", "[elf][fuzz]") {
    std::mt19937 rng(7);
    const Bytes valid = guest_image_bytes();
    const size_t headers = sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr);
    std::uniform_int_distribution<size_t> position(0, headers - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int iteration = 0; iteration < 3000; ++iteration) {
        Bytes mutated = valid;
        mutated[position(rng)] = static_cast<uint8_t>(byte(rng));
        mutated[position(rng)] = static_cast<uint8_t>(byte(rng));
        require_clean_outcome(mutated);
    }
}

// ---------------------------------------------------------------------------
// read_file
// ---------------------------------------------------------------------------

namespace {

// A scratch directory removed at the end of the test.
struct ScratchDir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("pvvmm-test-elf-" + std::to_string(::getpid()));
    ScratchDir() { std::filesystem::create_directories(path); }
    ~ScratchDir() { std::filesystem::remove_all(path); }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    [[nodiscard]] std::string write(const std::string& name, const Bytes& content) const {
        const auto file = path / name;
        std::ofstream(file, std::ios::binary)
            .write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
        return file.string();
    }
};

}  // namespace

TEST_CASE("read_file returns contents or a clear error", "[elf][read_file]") {
    ScratchDir dir;
    SECTION("whole file") {
        const Bytes content = guest_image_bytes();
        auto data = read_file(dir.write("guest.elf", content));
        REQUIRE(data.ok());
        CHECK(data.value() == content);
    }
    SECTION("missing file") {
        auto data = read_file((dir.path / "x.elf").string());
        REQUIRE_FALSE(data.ok());
        CHECK(data.error().kind == pvvmm::ErrorKind::BadInput);
        CHECK_THAT(data.error().message, Contains("x.elf': No such file or directory"));
        CHECK_THAT(data.error().message, Contains("cannot open '"));
    }
    SECTION("empty file") {
        auto data = read_file(dir.write("empty.elf", {}));
        REQUIRE_FALSE(data.ok());
        CHECK_THAT(data.error().message, Contains("empty.elf' is empty"));
    }
    SECTION("directory") {
        auto data = read_file(dir.path.string());
        REQUIRE_FALSE(data.ok());
        CHECK_THAT(data.error().message, Contains("Is a directory"));
    }
    SECTION("too large") {
        auto data = read_file(dir.write("big.elf", Bytes(100, 1)), 99);
        REQUIRE_FALSE(data.ok());
        CHECK_THAT(data.error().message, Contains("too large (100 bytes, at most 99"));
        CHECK(read_file(dir.write("fits.elf", Bytes(99, 1)), 99).ok());
    }
    SECTION("too large without a size (a pipe-like file)") {
        auto data = read_file("/proc/self/maps", 16);
        REQUIRE_FALSE(data.ok());
        CHECK_THAT(data.error().message, Contains("too large (more than 16 bytes"));
    }
}
