#!/usr/bin/env python3
"""Test inputs built from our guests at build time (never committed):

  make_fixture.py bzimage FORMAT ELF OUT   a bzImage as Linux's build lays it
      out (boot sector and setup sectors with the boot protocol 2.15 header,
      then the payload: ELF compressed in FORMAT, followed by its size);
      FORMAT is gzip, xz, lzma, bzip2, zstd or lz4 (legacy frames, lz4 -l),
      or raw (an uncompressed payload: no compression pvvmm knows)
  make_fixture.py truncated-bzimage ELF OUT   an xz bzImage cut inside its payload
  make_fixture.py initrd SIZE OUT          SIZE bytes, byte i = (7i + i/4096) mod 256
"""
import bz2
import gzip
import lzma
import struct
import subprocess
import sys

SETUP_SECTS = 27
PAYLOAD_OFFSET = 0x3B4


def compress(fmt, data):
    if fmt == "gzip":
        return gzip.compress(data, 9, mtime=0)
    if fmt == "xz":
        return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
    if fmt == "lzma":
        return lzma.compress(data, format=lzma.FORMAT_ALONE)
    if fmt == "bzip2":
        return bz2.compress(data, 9)
    if fmt == "zstd":
        return subprocess.run(["zstd", "-q", "-19", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
    if fmt == "lz4":
        return subprocess.run(["lz4", "-q", "-l", "-9", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
    if fmt == "raw":
        return data
    sys.exit(f"make_fixture: unknown format {fmt}")


def bzimage(payload, decompressed_size):
    pm_start = (SETUP_SECTS + 1) * 512
    image = bytearray(b"\xcc" * (pm_start + PAYLOAD_OFFSET))
    image[0x1F1] = SETUP_SECTS
    image[0x1FE:0x200] = b"\x55\xaa"
    image[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", image, 0x206, 0x020F)
    struct.pack_into("<II", image, 0x248, PAYLOAD_OFFSET, len(payload) + 4)
    image += payload + struct.pack("<I", decompressed_size & 0xFFFFFFFF) + bytes(700)
    return bytes(image)


def main():
    kind = sys.argv[1]
    if kind == "bzimage":
        fmt, elf, out = sys.argv[2:5]
        data = open(elf, "rb").read()
        result = bzimage(compress(fmt, data), len(data))
    elif kind == "truncated-bzimage":
        elf, out = sys.argv[2:4]
        data = open(elf, "rb").read()
        whole = bzimage(compress("xz", data), len(data))
        result = whole[: (SETUP_SECTS + 1) * 512 + PAYLOAD_OFFSET + 600]
        # The header still claims the whole payload: cut the claim too, so
        # the truncation is found by the decompressor, not the header check.
        result = bytearray(result)
        struct.pack_into("<I", result, 0x24C, 600)
        result = bytes(result)
    elif kind == "initrd":
        size, out = int(sys.argv[2]), sys.argv[3]
        result = bytes((7 * i + (i >> 12)) & 0xFF for i in range(size))
    else:
        sys.exit(__doc__)
    with open(out, "wb") as f:
        f.write(result)


if __name__ == "__main__":
    main()
