#include "vmm/elf/bzimage.hpp"

namespace pvvmm::elf {

namespace {

// Offsets in the setup header (Documentation/arch/x86/boot.rst).
constexpr size_t kSetupSects = 0x1f1;
constexpr size_t kBootFlag = 0x1fe;  // 0xaa55
constexpr size_t kHeader = 0x202;    // "HdrS"
constexpr size_t kVersion = 0x206;
constexpr size_t kPayloadOffset = 0x248;  // from the protected-mode code
constexpr size_t kPayloadLength = 0x24c;
constexpr size_t kHeaderEnd = 0x250;
constexpr uint16_t kPayloadVersion = 0x0208;

uint32_t le(std::span<const uint8_t> b, size_t at, unsigned bytes) {
    uint32_t v = 0;
    for (unsigned i = 0; i < bytes; ++i)
        v |= static_cast<uint32_t>(b[at + i]) << (8 * i);
    return v;
}

}  // namespace

bool is_bzimage(std::span<const uint8_t> bytes) {
    return bytes.size() >= kVersion + 2 && le(bytes, kBootFlag, 2) == 0xaa55 && bytes[kHeader] == 'H' &&
           bytes[kHeader + 1] == 'd' && bytes[kHeader + 2] == 'r' && bytes[kHeader + 3] == 'S';
}

Result<std::span<const uint8_t>> bzimage_payload(std::span<const uint8_t> bytes) {
    if (!is_bzimage(bytes))
        return bad_input("not a bzImage: no boot protocol header");
    const uint32_t version = le(bytes, kVersion, 2);
    if (version < kPayloadVersion)
        return bad_input("bzImage boot protocol {}.{:02} is older than 2.08, which has no payload fields", version >> 8,
                         version & 0xff);
    if (bytes.size() < kHeaderEnd)
        return bad_input("bzImage is truncated within its setup header ({} bytes)", bytes.size());
    // setup_sects 0 means 4, as in the boot protocol; the protected-mode
    // code starts after the boot sector and the setup sectors.
    const uint64_t setup_sects = bytes[kSetupSects] == 0 ? 4 : bytes[kSetupSects];
    const uint64_t start = (setup_sects + 1) * 512 + le(bytes, kPayloadOffset, 4);
    const uint64_t length = le(bytes, kPayloadLength, 4);
    if (length == 0)
        return bad_input("bzImage has an empty payload");
    if (start > bytes.size() || length > bytes.size() - start)
        return bad_input("bzImage payload ({} bytes at offset {:#x}) extends past the end of the {}-byte file", length,
                         start, bytes.size());
    return bytes.subspan(start, length);
}

}  // namespace pvvmm::elf
