#include "vmm/elf/elf_file.hpp"

#include "vmm/elf/bounded_read.hpp"
#include "vmm/elf/note_walk.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace pvvmm::elf {

namespace {

using detail::range_fits;
using detail::read_struct;
using detail::sum_wraps;

// "<number> (<name>)" for a header field value, for error messages.
std::string describe_value(unsigned value, std::string_view name) {
    return name.empty() ? fmt::format("{}", value) : fmt::format("{} ({})", value, name);
}

std::string_view class_name(uint8_t elf_class) {
    switch (elf_class) {
    case ELFCLASSNONE: return "ELFCLASSNONE";
    case ELFCLASS32: return "ELFCLASS32, 32-bit";
    default: return "";
    }
}

std::string_view type_name(uint16_t type) {
    switch (type) {
    case ET_NONE: return "ET_NONE";
    case ET_REL: return "ET_REL, relocatable object";
    case ET_CORE: return "ET_CORE, core dump";
    default: return "";
    }
}

std::string_view machine_name(uint16_t machine) {
    switch (machine) {
    case EM_386: return "EM_386";
    case EM_ARM: return "EM_ARM";
    case EM_AARCH64: return "EM_AARCH64";
    case EM_RISCV: return "EM_RISCV";
    default: return "";
    }
}

// The file must be something we can execute at all: a little-endian
// 64-bit x86 executable.
Result<void> check_identity(std::span<const uint8_t> bytes) {
    // A short file that starts like ELF is reported as truncated below.
    const size_t magic_len = std::min<size_t>(bytes.size(), SELFMAG);
    if (bytes.empty() || std::memcmp(bytes.data(), ELFMAG, magic_len) != 0)
        return bad_input("not an ELF file (no \\x7fELF magic at offset 0)");
    auto ehdr = read_struct<Elf64_Ehdr>(bytes, 0);
    if (!ehdr) {
        return bad_input("file is truncated inside the ELF header ({} bytes, the header needs {})", bytes.size(),
                         sizeof(Elf64_Ehdr));
    }
    const uint8_t elf_class = ehdr->e_ident[EI_CLASS];
    if (elf_class != ELFCLASS64) {
        return bad_input("ELF class is {}; only 64-bit (ELFCLASS64) guests are supported",
                         describe_value(elf_class, class_name(elf_class)));
    }
    const uint8_t data = ehdr->e_ident[EI_DATA];
    if (data != ELFDATA2LSB) {
        return bad_input("ELF data encoding is {}; only little-endian (ELFDATA2LSB) is supported",
                         describe_value(data, data == ELFDATA2MSB ? "ELFDATA2MSB, big-endian" : ""));
    }
    if (ehdr->e_machine != EM_X86_64) {
        return bad_input("ELF machine is {}; only x86-64 (EM_X86_64 = {}) is supported",
                         describe_value(ehdr->e_machine, machine_name(ehdr->e_machine)), EM_X86_64);
    }
    if (ehdr->e_type == ET_DYN) {
        return bad_input(
            "ELF type is 3 (ET_DYN, position-independent); a PV kernel must be a "
            "fixed-address executable (ET_EXEC)");
    }
    if (ehdr->e_type != ET_EXEC) {
        return bad_input("ELF type is {}; only executables (ET_EXEC) can be loaded",
                         describe_value(ehdr->e_type, type_name(ehdr->e_type)));
    }
    return {};
}

Result<std::vector<Elf64_Phdr>> read_program_headers(std::span<const uint8_t> bytes, const Elf64_Ehdr& ehdr) {
    if (ehdr.e_phnum == 0)
        return bad_input("ELF file has no program headers (e_phnum is 0)");
    if (ehdr.e_phnum == PN_XNUM)
        return bad_input("extended program header numbering (e_phnum = {:#x}) is not supported", PN_XNUM);
    if (ehdr.e_phnum > kMaxProgramHeaders) {
        return bad_input("ELF file has {} program headers; at most {} are supported", ehdr.e_phnum, kMaxProgramHeaders);
    }
    if (ehdr.e_phentsize != sizeof(Elf64_Phdr)) {
        return bad_input("program header entry size is {} bytes; expected {} (sizeof(Elf64_Phdr))", ehdr.e_phentsize,
                         sizeof(Elf64_Phdr));
    }
    const uint64_t table_size = uint64_t{ehdr.e_phnum} * sizeof(Elf64_Phdr);
    if (!range_fits(ehdr.e_phoff, table_size, bytes.size())) {
        return bad_input(
            "program header table extends past end of file (offset {:#x} + size "
            "{:#x} > file size {:#x})",
            ehdr.e_phoff, table_size, bytes.size());
    }
    std::vector<Elf64_Phdr> phdrs;
    phdrs.reserve(ehdr.e_phnum);
    for (uint64_t i = 0; i < ehdr.e_phnum; ++i)
        phdrs.push_back(*read_struct<Elf64_Phdr>(bytes, ehdr.e_phoff + i * sizeof(Elf64_Phdr)));
    return phdrs;
}

// The file bytes of a segment or section must lie inside the file.
Result<void> check_file_range(std::string_view what, uint64_t offset, uint64_t size, uint64_t file_size) {
    if (sum_wraps(offset, size)) {
        return bad_input("{} file range wraps around (offset {:#x} + size {:#x})", what, offset, size);
    }
    if (!range_fits(offset, size, file_size)) {
        return bad_input(
            "{} extends past end of file (offset {:#x} + size {:#x} > file size "
            "{:#x})",
            what, offset, size, file_size);
    }
    return {};
}

Result<Segment> check_load(size_t index, const Elf64_Phdr& ph, uint64_t file_size) {
    if (ph.p_filesz > ph.p_memsz) {
        return bad_input("segment {} file size {:#x} exceeds its memory size {:#x}", index, ph.p_filesz, ph.p_memsz);
    }
    // A segment without file bytes (pure bss) has no meaningful offset.
    if (ph.p_filesz > 0)
        PVVMM_TRY(check_file_range(fmt::format("segment {}", index), ph.p_offset, ph.p_filesz, file_size));
    if (sum_wraps(ph.p_vaddr, ph.p_memsz)) {
        return bad_input("segment {} virtual range wraps around (vaddr {:#x} + size {:#x})", index, ph.p_vaddr,
                         ph.p_memsz);
    }
    if (sum_wraps(ph.p_paddr, ph.p_memsz)) {
        return bad_input("segment {} physical range wraps around (paddr {:#x} + size {:#x})", index, ph.p_paddr,
                         ph.p_memsz);
    }
    return Segment{.vaddr = ph.p_vaddr,
                   .paddr = ph.p_paddr,
                   .offset = ph.p_offset,
                   .file_size = ph.p_filesz,
                   .mem_size = ph.p_memsz,
                   .flags = ph.p_flags};
}

// Xen copies each PT_LOAD to its paddr; overlapping ones would overwrite
// each other, so no order of loading them is "right".
Result<void> check_no_overlap(const std::vector<std::pair<size_t, Segment>>& loads) {
    std::vector<std::pair<size_t, Segment>> by_paddr;
    for (const auto& load : loads)
        if (load.second.mem_size > 0)
            by_paddr.push_back(load);
    std::sort(by_paddr.begin(), by_paddr.end(),
              [](const auto& a, const auto& b) { return a.second.paddr < b.second.paddr; });
    // Sweep in paddr order, remembering the segment reaching furthest.
    const std::pair<size_t, Segment>* furthest = nullptr;
    for (const auto& current : by_paddr) {
        if (furthest) {
            const Segment& f = furthest->second;
            const Segment& c = current.second;
            if (f.paddr + f.mem_size > c.paddr) {
                return bad_input(
                    "PT_LOAD segments {} and {} overlap (paddr {:#x}-{:#x} and "
                    "{:#x}-{:#x})",
                    furthest->first, current.first, f.paddr, f.paddr + f.mem_size, c.paddr, c.paddr + c.mem_size);
            }
        }
        if (!furthest ||
            current.second.paddr + current.second.mem_size > furthest->second.paddr + furthest->second.mem_size)
            furthest = &current;
    }
    return {};
}

Result<std::vector<Segment>> collect_loads(std::span<const uint8_t> bytes, const std::vector<Elf64_Phdr>& phdrs) {
    std::vector<std::pair<size_t, Segment>> loads;  // with program header index
    for (size_t i = 0; i < phdrs.size(); ++i) {
        // Like Xen's elf_phdr_is_loadable: a PT_LOAD without any of R/W/X
        // is not loaded.
        if (phdrs[i].p_type != PT_LOAD || (phdrs[i].p_flags & (PF_R | PF_W | PF_X)) == 0)
            continue;
        auto segment = check_load(i, phdrs[i], bytes.size());
        if (!segment)
            return segment.error();
        loads.emplace_back(i, segment.value());
    }
    if (loads.empty())
        return bad_input("ELF file has no loadable (PT_LOAD) segments");
    PVVMM_TRY(check_no_overlap(loads));
    std::vector<Segment> result;
    for (const auto& load : loads)
        result.push_back(load.second);
    return result;
}

bool has_xen_note(const std::vector<Note>& notes) {
    return std::any_of(notes.begin(), notes.end(), [](const Note& n) { return n.name == "Xen"; });
}

Result<void> append_segment_notes(std::span<const uint8_t> bytes, const std::vector<Elf64_Phdr>& phdrs,
                                  std::vector<Note>& notes) {
    for (size_t i = 0; i < phdrs.size(); ++i) {
        const Elf64_Phdr& ph = phdrs[i];
        // Xen skips PT_NOTE with offset 0: some binutils versions emit
        // such broken headers.
        if (ph.p_type != PT_NOTE || ph.p_offset == 0)
            continue;
        const std::string where = fmt::format("segment {} (PT_NOTE)", i);
        PVVMM_TRY(check_file_range(where, ph.p_offset, ph.p_filesz, bytes.size()));
        PVVMM_TRY(detail::append_notes(bytes, ph.p_offset, ph.p_filesz, where, notes));
    }
    return {};
}

Result<void> append_section_notes(std::span<const uint8_t> bytes, const Elf64_Ehdr& ehdr, std::vector<Note>& notes) {
    // e_shnum 0 means no sections (or extended numbering, which only
    // files with 65280+ sections need).
    if (ehdr.e_shnum == 0)
        return {};
    if (ehdr.e_shentsize != sizeof(Elf64_Shdr)) {
        return bad_input("section header entry size is {} bytes; expected {} (sizeof(Elf64_Shdr))", ehdr.e_shentsize,
                         sizeof(Elf64_Shdr));
    }
    const uint64_t table_size = uint64_t{ehdr.e_shnum} * sizeof(Elf64_Shdr);
    if (!range_fits(ehdr.e_shoff, table_size, bytes.size())) {
        return bad_input(
            "section header table extends past end of file (offset {:#x} + size "
            "{:#x} > file size {:#x})",
            ehdr.e_shoff, table_size, bytes.size());
    }
    // Section 0 is the reserved null section.
    for (uint64_t i = 1; i < ehdr.e_shnum; ++i) {
        auto sh = *read_struct<Elf64_Shdr>(bytes, ehdr.e_shoff + i * sizeof(Elf64_Shdr));
        if (sh.sh_type != SHT_NOTE)
            continue;
        const std::string where = fmt::format("section {} (SHT_NOTE)", i);
        PVVMM_TRY(check_file_range(where, sh.sh_offset, sh.sh_size, bytes.size()));
        PVVMM_TRY(detail::append_notes(bytes, sh.sh_offset, sh.sh_size, where, notes));
    }
    return {};
}

}  // namespace

Result<ElfFile> parse_elf64(std::span<const uint8_t> bytes) {
    PVVMM_TRY(check_identity(bytes));
    const Elf64_Ehdr ehdr = *read_struct<Elf64_Ehdr>(bytes, 0);

    auto phdrs = read_program_headers(bytes, ehdr);
    if (!phdrs)
        return phdrs.error();
    auto loads = collect_loads(bytes, phdrs.value());
    if (!loads)
        return loads.error();

    ElfFile elf{.entry = ehdr.e_entry, .loads = std::move(loads.value()), .notes = {}, .bytes = bytes};
    PVVMM_TRY(append_segment_notes(bytes, phdrs.value(), elf.notes));
    if (!has_xen_note(elf.notes))
        PVVMM_TRY(append_section_notes(bytes, ehdr, elf.notes));
    return elf;
}

}  // namespace pvvmm::elf
