#include "elf_loader.hpp"

#include <elf.h>

#include "../lib/page_table.hpp"
#include "../lib/string.hpp"
#include "../user/syscall_numbers.hpp"
#include "frames.hpp"

namespace elf {
namespace {

bool load_segment(const UserImage& image, const Elf64_Phdr& segment, const vm::AddressSpace& space,
                  vm::RegionList& regions) {
    const bool writable = (segment.p_flags & PF_W) != 0;
    const uint64_t start = segment.p_vaddr & ~uint64_t{4095};
    const uint64_t end = (segment.p_vaddr + segment.p_memsz + 4095) & ~uint64_t{4095};
    for (uint64_t page = start; page < end; page += 4096) {
        uint64_t pfn = frames::allocate_zeroed();
        if (pfn == frames::none || !vm::ensure_tables(space, page))
            return false;
        // The part of the file image that falls into this page.
        uint64_t file_start = segment.p_vaddr, file_end = segment.p_vaddr + segment.p_filesz;
        uint64_t from = page > file_start ? page : file_start;
        uint64_t to = page + 4096 < file_end ? page + 4096 : file_end;
        if (from < to)
            memcpy(static_cast<uint8_t*>(frames::pointer(pfn)) + (from - page),
                   image.start + segment.p_offset + (from - segment.p_vaddr), to - from);
        vm::set_entry(space, page, pt::entry(frames::mfn(pfn), writable ? vm::user_rw : vm::user_ro));
    }
    return regions.add(start, end, writable);
}

}  // namespace

uint64_t load(const UserImage& image, const vm::AddressSpace& space, vm::RegionList& regions, const char** failure) {
    const auto* header = reinterpret_cast<const Elf64_Ehdr*>(image.start);
    if (image.size < sizeof(Elf64_Ehdr) || memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 ||
        header->e_ident[EI_CLASS] != ELFCLASS64 || header->e_machine != EM_X86_64 ||
        header->e_phoff + header->e_phnum * sizeof(Elf64_Phdr) > image.size) {
        *failure = "not a static x86-64 ELF64 image";
        return 0;
    }
    const auto* segments = reinterpret_cast<const Elf64_Phdr*>(image.start + header->e_phoff);
    for (unsigned i = 0; i < header->e_phnum; ++i) {
        const Elf64_Phdr& s = segments[i];
        if (s.p_type != PT_LOAD || s.p_memsz == 0)
            continue;
        if (s.p_offset + s.p_filesz > image.size || s.p_filesz > s.p_memsz || s.p_vaddr < sys::user_image_base ||
            s.p_vaddr + s.p_memsz > sys::mmap_base) {
            *failure = "segment outside the image or the program area";
            return 0;
        }
        if (!load_segment(image, s, space, regions)) {
            *failure = "out of memory or regions";
            return 0;
        }
    }
    return header->e_entry;
}

}  // namespace elf
