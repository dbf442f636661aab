// What `pvvmm run` takes as a kernel, as Xen's domain builder does: a plain
// ELF, a bzImage (whose payload is a compressed ELF) or a compressed ELF
// file. Everything else is bad input with one sentence naming the problem.
#pragma once

#include "vmm/result.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace pvvmm::elf {

struct KernelFile {
    std::vector<uint8_t> elf;  // the ELF image, decompressed if need be
    std::string origin;        // "ELF", "bzImage with an xz payload", "gzip-compressed ELF"
};

[[nodiscard]] Result<KernelFile> unpack_kernel(std::vector<uint8_t> file);

}  // namespace pvvmm::elf
