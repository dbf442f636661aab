// Reads a whole (guest kernel or module) file into memory.
#pragma once

#include "vmm/result.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pvvmm::elf {

// Far above any PV kernel; stops a wrong path (a disk image, /dev/zero)
// from eating host memory.
inline constexpr size_t kMaxReadFileSize = size_t{256} << 20;

// The file's contents; BadInput when it cannot be opened or read, is
// empty, or is larger than `max_size` bytes.
Result<std::vector<uint8_t>> read_file(const std::string& path, size_t max_size = kMaxReadFileSize);

}  // namespace pvvmm::elf
