// Decompression of kernel payloads and compressed kernel files, as Xen's
// domain builder does (xg_dom_decompress_*): the format is recognised by
// its magic bytes, the work is done by the system's libraries (zlib,
// liblzma, libbz2, libzstd, liblz4), and the output is bounded so that a
// crafted image cannot exhaust the host's memory.
#pragma once

#include "vmm/result.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace pvvmm::elf {

enum class Compression { Gzip, Xz, Lzma, Bzip2, Zstd, Lz4Legacy };

// The format `bytes` starts with, if it is one we decompress.
[[nodiscard]] std::optional<Compression> detect_compression(std::span<const uint8_t> bytes);
[[nodiscard]] std::string_view compression_name(Compression c);

// Far above any kernel ELF (Debian's is about 60 MiB).
inline constexpr size_t kMaxDecompressedSize = size_t{512} << 20;

// The whole stream decompressed: BadInput when it is truncated or corrupt
// or when its output would exceed `limit` bytes (nothing beyond `limit` is
// ever allocated). Bytes after the end of the stream are ignored, as the
// kernel's 4-byte size trailer must be.
[[nodiscard]] Result<std::vector<uint8_t>> decompress(Compression c, std::span<const uint8_t> bytes,
                                                      size_t limit = kMaxDecompressedSize);

}  // namespace pvvmm::elf
