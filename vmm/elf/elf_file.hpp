// Reader for the 64-bit x86 ELF executables that Xen PV guests ship as.
// The input is untrusted: every header field is validated before use, and
// any problem is reported as a BadInput error naming what is wrong.
#pragma once

#include "vmm/result.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pvvmm::elf {

// One loadable (PT_LOAD) program header.
struct Segment {
    uint64_t vaddr;
    uint64_t paddr;      // what Xen's domain builder places segments by
    uint64_t offset;     // file offset of the first file_size bytes
    uint64_t file_size;  // bytes taken from the file
    uint64_t mem_size;   // >= file_size; the rest is zero-filled
    uint32_t flags;      // PF_R / PF_W / PF_X
};

// One ELF note. `desc` views into the ElfFile's bytes.
struct Note {
    uint32_t type;
    std::string name;  // owner, without its terminating NUL (e.g. "Xen")
    std::span<const uint8_t> desc;
};

struct ElfFile {
    uint64_t entry = 0;          // e_entry
    std::vector<Segment> loads;  // PT_LOAD segments in program header order
    // Notes from PT_NOTE segments; when none of those is named "Xen", the
    // notes of SHT_NOTE sections are appended (Xen libelf's fallback).
    std::vector<Note> notes;
    std::span<const uint8_t> bytes;  // the whole file, not owned
};

// Caps on counts an honest kernel never comes close to; they bound the
// work a hostile file can cause.
inline constexpr unsigned kMaxProgramHeaders = 1024;
inline constexpr size_t kMaxNotes = 65536;  // Xen's ELF_MAX_TOTAL_NOTE_COUNT

// Validates and indexes an ELFCLASS64 / little-endian / EM_X86_64 /
// ET_EXEC file. `bytes` must outlive the result, which views into it.
Result<ElfFile> parse_elf64(std::span<const uint8_t> bytes);

}  // namespace pvvmm::elf
