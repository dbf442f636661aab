#include "vmm/elf/decompress.hpp"

#include <bzlib.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace pvvmm::elf {

namespace {

constexpr uint32_t kLz4LegacyMagic = 0x184c2102;
constexpr size_t kLz4LegacyBlock = size_t{8} << 20;  // the legacy format's block size

uint32_t le32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24; }

bool starts_with(std::span<const uint8_t> bytes, std::initializer_list<uint8_t> magic) {
    return bytes.size() >= magic.size() && std::equal(magic.begin(), magic.end(), bytes.begin());
}

// The output, grown geometrically up to one byte past `limit`: a decoder
// that fills that byte has more to give than we accept.
class Output {
public:
    Output(size_t limit, size_t input_size) : limit_(limit) {
        bytes_.resize(std::min(limit + 1, std::max<size_t>(input_size * 4, size_t{1} << 20)));
    }
    // Room for the decoder: grows when full; nullopt once past the limit.
    std::span<uint8_t> room() {
        if (used_ == bytes_.size() && bytes_.size() <= limit_)
            bytes_.resize(std::min(limit_ + 1, bytes_.size() * 2));
        return std::span<uint8_t>(bytes_).subspan(used_);
    }
    void produced(size_t n) { used_ += n; }
    [[nodiscard]] bool over_limit() const { return used_ > limit_; }
    [[nodiscard]] size_t used() const { return used_; }
    std::vector<uint8_t> take() && {
        bytes_.resize(used_);
        bytes_.shrink_to_fit();
        return std::move(bytes_);
    }

private:
    size_t limit_;
    size_t used_ = 0;
    std::vector<uint8_t> bytes_;
};

Error too_large(Compression c, size_t limit) {
    return bad_input("the {} data decompresses to more than {} MiB, the limit", compression_name(c), limit >> 20);
}
Error truncated(Compression c) { return bad_input("the {} data is truncated", compression_name(c)); }
Error corrupt(Compression c, std::string_view why) {
    return bad_input("the {} data is corrupt ({})", compression_name(c), why);
}

// zlib and libbz2 take at most 4 GiB per call: feed it in pieces.
constexpr size_t kChunk = size_t{1} << 30;

Result<std::vector<uint8_t>> gunzip(std::span<const uint8_t> in, size_t limit) {
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)  // 16: gzip framing only
        return Error{ErrorKind::Internal, "inflateInit2 failed"};
    std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&z, inflateEnd);
    Output out(limit, in.size());
    size_t offset = 0;
    for (;;) {
        const size_t piece = std::min(kChunk, in.size() - offset);
        z.next_in = const_cast<Bytef*>(in.data() + offset);
        z.avail_in = static_cast<uInt>(piece);
        const auto room = out.room();
        if (out.over_limit())
            return too_large(Compression::Gzip, limit);
        z.next_out = room.data();
        z.avail_out = static_cast<uInt>(std::min(room.size(), kChunk));
        const uInt before_out = z.avail_out;
        const int rc = inflate(&z, Z_NO_FLUSH);
        offset += piece - z.avail_in;
        out.produced(before_out - z.avail_out);
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_BUF_ERROR && offset == in.size())
            return truncated(Compression::Gzip);
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return corrupt(Compression::Gzip, z.msg ? z.msg : "inflate failed");
    }
    if (out.over_limit())
        return too_large(Compression::Gzip, limit);
    return std::move(out).take();
}

Result<std::vector<uint8_t>> unxz(Compression c, std::span<const uint8_t> in, size_t limit) {
    lzma_stream s = LZMA_STREAM_INIT;
    // One stream, no memory limit of liblzma's own: the dictionary of a
    // .xz or .lzma header is at most 4 GiB, checked below by the output.
    const lzma_ret init =
        c == Compression::Xz ? lzma_stream_decoder(&s, UINT64_MAX, 0) : lzma_alone_decoder(&s, UINT64_MAX);
    if (init != LZMA_OK)
        return Error{ErrorKind::Internal, "liblzma decoder initialisation failed"};
    std::unique_ptr<lzma_stream, decltype(&lzma_end)> guard(&s, lzma_end);
    Output out(limit, in.size());
    s.next_in = in.data();
    s.avail_in = in.size();
    for (;;) {
        const auto room = out.room();
        if (out.over_limit())
            return too_large(c, limit);
        s.next_out = room.data();
        s.avail_out = room.size();
        const lzma_ret rc = lzma_code(&s, LZMA_FINISH);
        out.produced(room.size() - s.avail_out);
        if (rc == LZMA_STREAM_END)
            break;
        if (rc == LZMA_OK)
            continue;
        if (rc == LZMA_BUF_ERROR && s.avail_in == 0)
            return truncated(c);
        if (rc == LZMA_MEMLIMIT_ERROR || rc == LZMA_MEM_ERROR)
            return corrupt(c, "its dictionary needs more memory than the host gives");
        return corrupt(c, rc == LZMA_FORMAT_ERROR ? "bad header" : "bad data or check");
    }
    if (out.over_limit())
        return too_large(c, limit);
    return std::move(out).take();
}

Result<std::vector<uint8_t>> bunzip2(std::span<const uint8_t> in, size_t limit) {
    bz_stream b{};
    if (BZ2_bzDecompressInit(&b, 0, 0) != BZ_OK)
        return Error{ErrorKind::Internal, "BZ2_bzDecompressInit failed"};
    std::unique_ptr<bz_stream, decltype(&BZ2_bzDecompressEnd)> guard(&b, BZ2_bzDecompressEnd);
    Output out(limit, in.size());
    size_t offset = 0;
    for (;;) {
        const size_t piece = std::min(kChunk, in.size() - offset);
        b.next_in = const_cast<char*>(reinterpret_cast<const char*>(in.data() + offset));
        b.avail_in = static_cast<unsigned>(piece);
        const auto room = out.room();
        if (out.over_limit())
            return too_large(Compression::Bzip2, limit);
        b.next_out = reinterpret_cast<char*>(room.data());
        b.avail_out = static_cast<unsigned>(std::min(room.size(), kChunk));
        const unsigned before_out = b.avail_out;
        const int rc = BZ2_bzDecompress(&b);
        offset += piece - b.avail_in;
        out.produced(before_out - b.avail_out);
        if (rc == BZ_STREAM_END)
            break;
        if (rc != BZ_OK)
            return corrupt(Compression::Bzip2, "bad data");
        if (offset == in.size() && before_out != b.avail_out)
            continue;  // may still flush output
        if (offset == in.size())
            return truncated(Compression::Bzip2);
    }
    if (out.over_limit())
        return too_large(Compression::Bzip2, limit);
    return std::move(out).take();
}

Result<std::vector<uint8_t>> unzstd(std::span<const uint8_t> in, size_t limit) {
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
    if (!ctx)
        return Error{ErrorKind::Internal, "ZSTD_createDCtx failed"};
    Output out(limit, in.size());
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
        const auto room = out.room();
        if (out.over_limit())
            return too_large(Compression::Zstd, limit);
        ZSTD_outBuffer output{room.data(), room.size(), 0};
        const size_t rc = ZSTD_decompressStream(ctx.get(), &output, &input);
        out.produced(output.pos);
        if (ZSTD_isError(rc))
            return corrupt(Compression::Zstd, ZSTD_getErrorName(rc));
        if (rc == 0)
            break;  // one frame, flushed: the kernel's size trailer follows
        if (input.pos == input.size && output.pos < output.size)
            return truncated(Compression::Zstd);
    }
    if (out.over_limit())
        return too_large(Compression::Zstd, limit);
    return std::move(out).take();
}

// The kernel's LZ4 is the legacy format (lz4 -l): the magic, then blocks of
// a 4-byte compressed size and data, each at most 8 MiB decompressed; a
// repeated magic starts another archive; what remains after the last block
// is the kernel's 4-byte size trailer.
Result<std::vector<uint8_t>> unlz4(std::span<const uint8_t> in, size_t limit) {
    const Compression c = Compression::Lz4Legacy;
    std::vector<uint8_t> out;
    size_t offset = 4;
    std::vector<uint8_t> scratch;
    while (in.size() - offset > 4) {
        const uint32_t size = le32(in.data() + offset);
        offset += 4;
        if (size == kLz4LegacyMagic)
            continue;
        if (size == 0 || size > in.size() - offset)
            return truncated(c);
        const size_t capacity = std::min(kLz4LegacyBlock, limit - out.size());
        const size_t used = out.size();
        out.resize(used + capacity);
        const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data() + offset),
                                          reinterpret_cast<char*>(out.data() + used), static_cast<int>(size),
                                          static_cast<int>(capacity));
        if (n < 0) {
            if (capacity < kLz4LegacyBlock) {  // corrupt, or more than the limit leaves room for?
                scratch.resize(kLz4LegacyBlock);
                if (LZ4_decompress_safe(reinterpret_cast<const char*>(in.data() + offset),
                                        reinterpret_cast<char*>(scratch.data()), static_cast<int>(size),
                                        static_cast<int>(scratch.size())) >= 0)
                    return too_large(c, limit);
            }
            return corrupt(c, "bad block");
        }
        out.resize(used + static_cast<size_t>(n));
        offset += size;
    }
    if (out.empty())
        return truncated(c);
    out.shrink_to_fit();
    return out;
}

}  // namespace

std::optional<Compression> detect_compression(std::span<const uint8_t> bytes) {
    if (starts_with(bytes, {0x1f, 0x8b}))
        return Compression::Gzip;
    if (starts_with(bytes, {0xfd, '7', 'z', 'X', 'Z', 0x00}))
        return Compression::Xz;
    if (starts_with(bytes, {0x5d, 0x00, 0x00}))  // lzma_alone: lc/lp/pb 3/0/2, dictionary size below 16 MiB
        return Compression::Lzma;
    if (starts_with(bytes, {'B', 'Z', 'h'}))
        return Compression::Bzip2;
    if (starts_with(bytes, {0x28, 0xb5, 0x2f, 0xfd}))
        return Compression::Zstd;
    if (bytes.size() >= 4 && le32(bytes.data()) == kLz4LegacyMagic)
        return Compression::Lz4Legacy;
    return std::nullopt;
}

std::string_view compression_name(Compression c) {
    switch (c) {
    case Compression::Gzip: return "gzip";
    case Compression::Xz: return "xz";
    case Compression::Lzma: return "lzma";
    case Compression::Bzip2: return "bzip2";
    case Compression::Zstd: return "zstd";
    case Compression::Lz4Legacy: return "lz4";
    }
    return "unknown";
}

Result<std::vector<uint8_t>> decompress(Compression c, std::span<const uint8_t> bytes, size_t limit) {
    switch (c) {
    case Compression::Gzip: return gunzip(bytes, limit);
    case Compression::Xz:
    case Compression::Lzma: return unxz(c, bytes, limit);
    case Compression::Bzip2: return bunzip2(bytes, limit);
    case Compression::Zstd: return unzstd(bytes, limit);
    case Compression::Lz4Legacy: return unlz4(bytes, limit);
    }
    return Error{ErrorKind::Internal, "unknown compression"};
}

}  // namespace pvvmm::elf
