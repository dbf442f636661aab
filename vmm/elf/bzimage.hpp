// Linux's bzImage (the x86 boot protocol's setup header in front of a
// compressed kernel), as Xen's domain builder reads it: the payload is the
// compressed vmlinux ELF, found through payload_offset/payload_length
// (boot protocol 2.08 and later).
#pragma once

#include "vmm/result.hpp"

#include <cstdint>
#include <span>

namespace pvvmm::elf {

// Whether `bytes` carries the boot protocol's "HdrS" setup header.
[[nodiscard]] bool is_bzimage(std::span<const uint8_t> bytes);

// The compressed payload, a view into `bytes`; BadInput when the header
// is too old for a payload or points outside the file.
[[nodiscard]] Result<std::span<const uint8_t>> bzimage_payload(std::span<const uint8_t> bytes);

}  // namespace pvvmm::elf
