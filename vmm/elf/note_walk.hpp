// Walks the ELF note entries packed into one PT_NOTE segment or SHT_NOTE
// section, checking every size against the containing range.
#pragma once

#include "vmm/elf/elf_file.hpp"

#include <string_view>

namespace pvvmm::elf::detail {

// Appends the notes found in file bytes [offset, offset + size) to `out`.
// The range must already lie inside `file`. `where` names the range for
// error messages, e.g. "segment 3 (PT_NOTE)".
Result<void> append_notes(std::span<const uint8_t> file, uint64_t offset, uint64_t size, std::string_view where,
                          std::vector<Note>& out);

}  // namespace pvvmm::elf::detail
