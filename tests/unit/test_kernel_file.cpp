// vmm/elf: what `pvvmm run` takes as a kernel besides a plain ELF. A
// bzImage (the x86 boot protocol's setup header, then the payload: a
// compressed ELF with the kernel's 4-byte size trailer) in every
// compression Debian's kernels may use, a compressed ELF file, and the
// bad input around them: truncated or corrupt payloads, unknown formats,
// old headers, and decompression bombs stopped at the size limit.
#include <catch.hpp>

#include <bzlib.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <string>
#include <vector>

#include "vmm/elf/bzimage.hpp"
#include "vmm/elf/decompress.hpp"
#include "vmm/elf/kernel_file.hpp"

namespace {

using namespace pvvmm;
using namespace pvvmm::elf;
using Catch::Matchers::Contains;
using Bytes = std::vector<uint8_t>;

// Something that starts like an ELF and compresses like a kernel (text
// with repeats, not only zeros).
Bytes fake_elf(size_t size) {
    Bytes b(size);
    for (size_t i = 0; i < size; ++i)
        b[i] = static_cast<uint8_t>((i * 2654435761u >> 13) % 11 + (i % 4096 < 64 ? 0 : 'a'));
    const uint8_t magic[] = {0x7f, 'E', 'L', 'F'};
    std::memcpy(b.data(), magic, sizeof magic);
    return b;
}

// ---- the compressors, from the same libraries ----

Bytes gzip(const Bytes& in) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    Bytes out(deflateBound(&z, in.size()) + 64);
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

Bytes xz_or_lzma(const Bytes& in, bool xz) {
    lzma_stream s = LZMA_STREAM_INIT;
    lzma_options_lzma options;
    REQUIRE(lzma_lzma_preset(&options, 6) == false);
    REQUIRE((xz ? lzma_easy_encoder(&s, 6, LZMA_CHECK_CRC32) : lzma_alone_encoder(&s, &options)) == LZMA_OK);
    Bytes out(in.size() + in.size() / 2 + 4096);
    s.next_in = in.data();
    s.avail_in = in.size();
    s.next_out = out.data();
    s.avail_out = out.size();
    REQUIRE(lzma_code(&s, LZMA_FINISH) == LZMA_STREAM_END);
    out.resize(s.total_out);
    lzma_end(&s);
    return out;
}

Bytes bzip2(const Bytes& in) {
    Bytes out(in.size() + in.size() / 100 + 1024);
    unsigned size = static_cast<unsigned>(out.size());
    REQUIRE(BZ2_bzBuffToBuffCompress(reinterpret_cast<char*>(out.data()), &size,
                                     const_cast<char*>(reinterpret_cast<const char*>(in.data())),
                                     static_cast<unsigned>(in.size()), 9, 0, 0) == BZ_OK);
    out.resize(size);
    return out;
}

Bytes zstd(const Bytes& in) {
    Bytes out(ZSTD_compressBound(in.size()));
    const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 19);
    REQUIRE_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

void put_le32(Bytes& b, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// lz4 -l: the legacy format the kernel uses (8 MiB blocks).
Bytes lz4_legacy(const Bytes& in) {
    Bytes out;
    put_le32(out, 0x184c2102);
    constexpr size_t kBlock = size_t{8} << 20;
    for (size_t at = 0; at < in.size(); at += kBlock) {
        const int n = static_cast<int>(std::min(kBlock, in.size() - at));
        Bytes block(LZ4_compressBound(n));
        const int size = LZ4_compress_default(reinterpret_cast<const char*>(in.data() + at),
                                              reinterpret_cast<char*>(block.data()), n, static_cast<int>(block.size()));
        REQUIRE(size > 0);
        put_le32(out, static_cast<uint32_t>(size));
        out.insert(out.end(), block.begin(), block.begin() + size);
    }
    return out;
}

Bytes compress(Compression c, const Bytes& in) {
    switch (c) {
    case Compression::Gzip: return gzip(in);
    case Compression::Xz: return xz_or_lzma(in, true);
    case Compression::Lzma: return xz_or_lzma(in, false);
    case Compression::Bzip2: return bzip2(in);
    case Compression::Zstd: return zstd(in);
    case Compression::Lz4Legacy: return lz4_legacy(in);
    }
    FAIL("unknown compression");
    return {};
}

// A bzImage as the kernel's build writes it: boot sector and setup sectors
// with the header, then the protected-mode part, whose payload is the
// compressed ELF followed by its decompressed size (4 bytes).
Bytes bzimage(const Bytes& compressed, uint32_t decompressed_size, uint16_t version = 0x020f,
              uint8_t setup_sects = 27) {
    const size_t pm_start = ((setup_sects == 0 ? 4u : setup_sects) + 1u) * 512;  // 0 means 4
    const size_t payload_offset = 0x3b4;                                         // some decompressor code before it
    Bytes b(pm_start + payload_offset, 0xcc);
    b[0x1f1] = setup_sects;
    b[0x1fe] = 0x55;
    b[0x1ff] = 0xaa;
    std::memcpy(&b[0x202], "HdrS", 4);
    b[0x206] = static_cast<uint8_t>(version);
    b[0x207] = static_cast<uint8_t>(version >> 8);
    const uint32_t length = static_cast<uint32_t>(compressed.size() + 4);
    for (int i = 0; i < 4; ++i) {
        b[0x248 + i] = static_cast<uint8_t>(payload_offset >> (8 * i));
        b[0x24c + i] = static_cast<uint8_t>(length >> (8 * i));
    }
    b.insert(b.end(), compressed.begin(), compressed.end());
    put_le32(b, decompressed_size);
    b.resize(b.size() + 700, 0);  // the rest of the image
    return b;
}

const Compression kAll[] = {Compression::Gzip,  Compression::Xz,   Compression::Lzma,
                            Compression::Bzip2, Compression::Zstd, Compression::Lz4Legacy};

void require_bad_input(Result<KernelFile> r, const std::string& text) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::BadInput);
    CHECK_THAT(r.error().message, Contains(text));
}

}  // namespace

TEST_CASE("a bzImage is unpacked to its ELF, in every compression", "[kernel-file]") {
    const Bytes elf = fake_elf(3 * 1024 * 1024 + 321);
    for (Compression c : kAll) {
        INFO(compression_name(c));
        const Bytes compressed = compress(c, elf);
        REQUIRE(detect_compression(compressed) == c);
        auto kernel = unpack_kernel(bzimage(compressed, static_cast<uint32_t>(elf.size())));
        REQUIRE(kernel.ok());
        CHECK(kernel->elf == elf);
        CHECK(kernel->origin == "bzImage with a " + std::string(compression_name(c)) + " payload");
    }
}

TEST_CASE("a bzImage with setup_sects 0 has four setup sectors", "[kernel-file]") {
    const Bytes elf = fake_elf(100000);
    auto kernel = unpack_kernel(bzimage(gzip(elf), 100000, 0x020f, 0));
    REQUIRE(kernel.ok());
    CHECK(kernel->elf == elf);
}

TEST_CASE("a plain ELF is taken as it is; a compressed ELF file is decompressed", "[kernel-file]") {
    const Bytes elf = fake_elf(200000);
    auto plain = unpack_kernel(elf);
    REQUIRE(plain.ok());
    CHECK(plain->elf == elf);
    CHECK(plain->origin == "ELF");
    for (Compression c : kAll) {
        INFO(compression_name(c));
        auto kernel = unpack_kernel(compress(c, elf));
        REQUIRE(kernel.ok());
        CHECK(kernel->elf == elf);
        CHECK(kernel->origin == std::string(compression_name(c)) + "-compressed kernel");
    }
}

TEST_CASE("truncated and corrupt payloads are bad input naming the format", "[kernel-file][malformed]") {
    const Bytes elf = fake_elf(2 * 1024 * 1024);
    for (Compression c : kAll) {
        INFO(compression_name(c));
        const Bytes whole = compress(c, elf);
        SECTION("truncated at half") {
            const Bytes half(whole.begin(), whole.begin() + static_cast<long>(whole.size() / 2));
            require_bad_input(
                unpack_kernel(bzimage(half, static_cast<uint32_t>(elf.size()))),
                fmt::format("bzImage with a {} payload: the {} data is", compression_name(c), compression_name(c)));
            auto direct = decompress(c, half);
            REQUIRE_FALSE(direct.ok());
            CHECK_THAT(direct.error().message, Contains("truncated") || Contains("corrupt"));
        }
        SECTION("corrupt in the middle") {
            Bytes bad = whole;
            if (c == Compression::Lz4Legacy) {
                bad[4] ^= 0x80;  // the first block's size: past the data
                bad[7] ^= 0x40;
            } else {
                for (size_t i = bad.size() / 3; i < bad.size() / 3 + 64; ++i)
                    bad[i] ^= 0x5a;
            }
            auto r = decompress(c, bad);
            if (r.ok()) {  // a format without a check may decode garbage: never the original
                CHECK(*r != elf);
            } else {
                CHECK(r.error().kind == ErrorKind::BadInput);
                CHECK_THAT(r.error().message, Contains("corrupt") || Contains("truncated"));
            }
        }
    }
}

TEST_CASE("a decompression bomb stops at the limit, in every format", "[kernel-file][malformed]") {
    const Bytes zeros(24 * 1024 * 1024, 0);
    for (Compression c : kAll) {
        INFO(compression_name(c));
        const Bytes bomb = compress(c, zeros);
        CHECK(bomb.size() < zeros.size() / 100);
        auto r = decompress(c, bomb, 4 * 1024 * 1024);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().kind == ErrorKind::BadInput);
        CHECK_THAT(r.error().message, Contains("decompresses to more than 4 MiB"));
        auto exact = decompress(c, bomb, zeros.size());  // exactly at the limit is fine
        REQUIRE(exact.ok());
        CHECK(exact->size() == zeros.size());
    }
}

TEST_CASE("bzImages that cannot be loaded say why in one sentence", "[kernel-file][malformed]") {
    const Bytes elf = fake_elf(50000);
    const Bytes good = bzimage(gzip(elf), 50000);
    SECTION("boot protocol older than 2.08") {
        require_bad_input(unpack_kernel(bzimage(gzip(elf), 50000, 0x0207)), "bzImage boot protocol 2.07 is older");
    }
    SECTION("payload past the end of the file") {
        Bytes b(good.begin(), good.begin() + 0x1200);
        require_bad_input(unpack_kernel(b), "extends past the end of the");
    }
    SECTION("empty payload") {
        Bytes b = good;
        std::memset(&b[0x24c], 0, 4);
        require_bad_input(unpack_kernel(b), "bzImage has an empty payload");
    }
    SECTION("truncated inside the setup header") {
        Bytes b(good.begin(), good.begin() + 0x230);
        require_bad_input(unpack_kernel(b), "truncated within its setup header");
    }
    SECTION("a payload in no known compression") {
        Bytes raw = elf;
        raw[0] = 'Q';
        require_bad_input(unpack_kernel(bzimage(raw, 50000)), "bzImage payload is in no compression format");
    }
    SECTION("a payload that is not an ELF") {
        Bytes text(50000, 'x');
        require_bad_input(unpack_kernel(bzimage(gzip(text), 50000)),
                          "bzImage with a gzip payload: the decompressed kernel is not an ELF file (it starts with 78");
    }
    SECTION("neither ELF nor bzImage nor compressed") {
        require_bad_input(unpack_kernel(Bytes(4096, 'x')), "not an ELF file");
        require_bad_input(unpack_kernel(Bytes{}), "not an ELF file");
    }
}
