#include "vmm/elf/note_walk.hpp"

#include "vmm/elf/bounded_read.hpp"

#include <elf.h>

#include <algorithm>

namespace pvvmm::elf::detail {

namespace {

// The owner name is NUL-terminated within namesz; tolerate producers that
// omit the NUL or pad with several.
std::string note_name(std::span<const uint8_t> raw) {
    auto end = std::find(raw.begin(), raw.end(), uint8_t{0});
    return std::string(raw.begin(), end);
}

}  // namespace

Result<void> append_notes(std::span<const uint8_t> file, uint64_t offset, uint64_t size, std::string_view where,
                          std::vector<Note>& out) {
    // Work on the range alone so that no note can reach outside it.
    const auto range = file.subspan(offset, size);
    uint64_t pos = 0;
    while (pos < range.size()) {
        const uint64_t at = offset + pos;  // file offset, for messages
        auto header = read_struct<Elf64_Nhdr>(range, pos);
        if (!header) {
            return bad_input(
                "{}: note at file offset {:#x} is truncated ({} bytes left, "
                "a note header needs {})",
                where, at, range.size() - pos, sizeof(Elf64_Nhdr));
        }
        // Note fields are 4-byte aligned on x86-64 too, as Xen's libelf
        // and every toolchain assume.
        const uint64_t name_pos = pos + sizeof(Elf64_Nhdr);
        if (!range_fits(name_pos, header->n_namesz, range.size())) {
            return bad_input(
                "{}: note at file offset {:#x} has name size {:#x}, past the end "
                "of its {:#x}-byte range",
                where, at, header->n_namesz, range.size());
        }
        const uint64_t desc_pos = name_pos + note_align(header->n_namesz);
        if (!range_fits(desc_pos, header->n_descsz, range.size())) {
            return bad_input(
                "{}: note at file offset {:#x} has descriptor size {:#x}, past the "
                "end of its {:#x}-byte range",
                where, at, header->n_descsz, range.size());
        }
        if (out.size() >= kMaxNotes)
            return bad_input("{}: too many ELF notes (more than {})", where, kMaxNotes);
        out.push_back(Note{
            .type = header->n_type,
            .name = note_name(range.subspan(name_pos, header->n_namesz)),
            .desc = range.subspan(desc_pos, header->n_descsz),
        });
        // The padding after the last descriptor may be missing; the loop
        // condition then ends the walk.
        pos = desc_pos + note_align(header->n_descsz);
    }
    return {};
}

}  // namespace pvvmm::elf::detail
