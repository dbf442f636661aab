#include "vmm/elf/kernel_file.hpp"

#include "vmm/elf/bzimage.hpp"
#include "vmm/elf/decompress.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pvvmm::elf {

namespace {

bool is_elf(std::span<const uint8_t> bytes) {
    static constexpr uint8_t kMagic[] = {0x7f, 'E', 'L', 'F'};
    return bytes.size() >= 4 && std::equal(std::begin(kMagic), std::end(kMagic), bytes.begin());
}

// The first bytes, for an error about an unknown format.
std::string leading_bytes(std::span<const uint8_t> bytes) {
    std::string out;
    for (size_t i = 0; i < std::min<size_t>(bytes.size(), 6); ++i)
        out += fmt::format("{}{:02x}", i ? " " : "", bytes[i]);
    return out.empty() ? "nothing" : out;
}

Result<KernelFile> decompressed_elf(std::span<const uint8_t> data, Compression c, std::string origin) {
    auto elf = decompress(c, data);
    if (!elf)
        return elf.error().context(origin);
    if (!is_elf(*elf))
        return bad_input("{}: the decompressed kernel is not an ELF file (it starts with {})", origin,
                         leading_bytes(*elf));
    return KernelFile{std::move(*elf), std::move(origin)};
}

}  // namespace

Result<KernelFile> unpack_kernel(std::vector<uint8_t> file) {
    if (is_elf(file))
        return KernelFile{std::move(file), "ELF"};
    if (is_bzimage(file)) {
        auto payload = bzimage_payload(file);
        if (!payload)
            return payload.error();
        const auto c = detect_compression(*payload);
        if (!c)
            return bad_input(
                "bzImage payload is in no compression format pvvmm reads (gzip, xz, lzma, bzip2, zstd, lz4); it "
                "starts with {}",
                leading_bytes(*payload));
        return decompressed_elf(*payload, *c, fmt::format("bzImage with a {} payload", compression_name(*c)));
    }
    if (const auto c = detect_compression(file))
        return decompressed_elf(file, *c, fmt::format("{}-compressed kernel", compression_name(*c)));
    return bad_input("not an ELF file (no \\x7fELF magic at offset 0), a bzImage or a compressed ELF kernel");
}

}  // namespace pvvmm::elf
