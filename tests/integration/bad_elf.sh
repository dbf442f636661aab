#!/bin/bash
# usage: bad_elf.sh VARIANT PVVMM GOOD_ELF
# Derives one malformed guest from the good guest ELF GOOD_ELF (in a temp
# dir that is removed on exit), runs `PVVMM run --timeout 20 <file>`, and
# passes only if pvvmm
#   - exits 2 (bad input),
#   - prints exactly one line on stderr, starting with "pvvmm: " and
#     containing the substring expected for VARIANT,
#   - prints nothing on stdout (the guest never started).
#
# No /dev/kvm skip: pvvmm reads the guest file (cli/run_command.cpp,
# elf::read_file) and parses and checks it (vmm/machine.cpp run_domain:
# elf::load_guest_image, then domain::plan_domain) before it opens the KVM
# device (kvm::System::open), so every variant runs without KVM. Running
# these tests on a machine without /dev/kvm also checks that order.
#
# Variants: empty, truncated-ehdr, truncated-phdrs, truncated-load, not-elf,
# elfclass32, big-endian, wrong-machine, et-rel, overlapping-loads,
# filesz-gt-memsz, note-past-segment, no-xen-notes, entry-outside,
# directory, unreadable.
# "unreadable" (a mode-000 file) cannot fail for root, which reads any file:
# as root it drops to uid/gid 65534 (nobody) with setpriv, and is skipped
# (exit 77, loudly) when that is not possible.
set -uo pipefail
if [ $# -ne 3 ]; then
	echo "usage: $0 VARIANT PVVMM GOOD_ELF" >&2
	exit 99
fi
variant=$1 pvvmm=$2 good=$3
for f in "$pvvmm" "$good"; do
	if [ ! -f "$f" ]; then echo "FAIL: $f does not exist" >&2; exit 99; fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bad_elf.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
guest=$tmp/guest.elf

# Writes the malformed copy of $good to $guest; prints what the expected
# message needs to know about the layout (a segment index and the like).
mutate() {
	python3 - "$variant" "$good" "$guest" <<'EOF'
import random, struct, sys

variant, src, dst = sys.argv[1:4]
data = bytearray(open(src, 'rb').read())

# Elf64_Ehdr
EHDR = struct.Struct('<16sHHIQQQIHHHHHH')
(ident, e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags,
 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx) = EHDR.unpack_from(data, 0)
assert ident[:4] == b'\x7fELF' and ident[4] == 2 and ident[5] == 1, 'good guest is not ELF64 LSB'
PHDR = struct.Struct('<IIQQQQQQ')  # type flags offset vaddr paddr filesz memsz align
PT_LOAD, PT_NOTE, SHT_NOTE = 1, 4, 7
XEN_ELFNOTE_ENTRY = 1

def phdr_at(i):
    return e_phoff + i * e_phentsize

def phdrs():
    for i in range(e_phnum):
        yield i, list(PHDR.unpack_from(data, phdr_at(i)))

def put_phdr(i, ph):
    PHDR.pack_into(data, phdr_at(i), *ph)

# Loaded like pvvmm/Xen do: PT_LOAD with at least one of R/W/X.
loads = [(i, ph) for i, ph in phdrs() if ph[0] == PT_LOAD and ph[1] & 7]

def note_ranges():
    """(offset, size) of every PT_NOTE segment and SHT_NOTE section."""
    for i, ph in phdrs():
        if ph[0] == PT_NOTE and ph[2]:
            yield ph[2], ph[5]
    for i in range(1, e_shnum):
        sh_type, = struct.unpack_from('<I', data, e_shoff + i * e_shentsize + 4)
        if sh_type == SHT_NOTE:
            sh_offset, sh_size = struct.unpack_from('<QQ', data, e_shoff + i * e_shentsize + 24)
            yield sh_offset, sh_size

def notes(offset, size):
    """(header offset, namesz, descsz, type, name offset, desc offset) of each note."""
    pos, end = offset, offset + size
    while pos + 12 <= end:
        namesz, descsz, ntype = struct.unpack_from('<III', data, pos)
        name = pos + 12
        desc = name + (namesz + 3) // 4 * 4
        yield pos, namesz, descsz, ntype, name, desc
        pos = desc + (descsz + 3) // 4 * 4

def truncate(n):
    del data[n:]

if variant == 'truncated-ehdr':
    truncate(EHDR.size // 2)
elif variant == 'truncated-phdrs':
    assert e_phnum >= 2
    truncate(phdr_at(1) + e_phentsize // 2)  # inside the second header
elif variant == 'truncated-load':
    i, ph = next((i, ph) for i, ph in phdrs() if ph[0] == PT_LOAD and ph[5] >= 2)
    truncate(ph[2] + ph[5] // 2)
    print(i)
elif variant == 'not-elf':
    data = bytearray(random.Random(20240601).randbytes(8192))
    data[0] = 0x55  # never 0x7f
elif variant == 'elfclass32':
    data[4] = 1  # EI_CLASS = ELFCLASS32
elif variant == 'big-endian':
    data[5] = 2  # EI_DATA = ELFDATA2MSB
elif variant == 'wrong-machine':
    struct.pack_into('<H', data, 18, 183)  # EM_AARCH64
elif variant == 'et-rel':
    struct.pack_into('<H', data, 16, 1)  # ET_REL
elif variant == 'overlapping-loads':
    # Move the second segment (by paddr) into the first one's memory.
    used = sorted((ph[4], i, ph) for i, ph in loads if ph[6] > 0)
    assert len(used) >= 2
    (_, a, first), (_, b, second) = used[0], used[1]
    second[4] = first[4] + first[6] // 2 // 0x1000 * 0x1000
    put_phdr(b, second)
    print(min(a, b), max(a, b))
elif variant == 'filesz-gt-memsz':
    i, ph = next((i, ph) for i, ph in loads if ph[5] > 0)
    ph[5] = ph[6] + 0x1000
    put_phdr(i, ph)
    print(i)
elif variant == 'note-past-segment':
    offset, size = next((ph[2], ph[5]) for i, ph in phdrs() if ph[0] == PT_NOTE and ph[2])
    hdr = next(notes(offset, size))[0]
    struct.pack_into('<I', data, hdr + 4, size + 0x1000)  # n_descsz
    print(hex(hdr))
elif variant == 'no-xen-notes':
    renamed = 0
    for offset, size in list(note_ranges()):
        for hdr, namesz, descsz, ntype, name, desc in notes(offset, size):
            if bytes(data[name:name + 4]) == b'Xen\0':
                data[name:name + 4] = b'Xem\0'
                renamed += 1
    assert renamed, 'good guest has no Xen notes'
elif variant == 'entry-outside':
    end = max(ph[3] + ph[6] for i, ph in loads)  # highest vaddr end
    entry = (end + 0x100000) & ~0xfff
    struct.pack_into('<Q', data, 24, entry)  # e_entry
    for offset, size in list(note_ranges()):
        for hdr, namesz, descsz, ntype, name, desc in notes(offset, size):
            if bytes(data[name:name + 4]) == b'Xen\0' and ntype == XEN_ELFNOTE_ENTRY:
                assert descsz in (4, 8)
                struct.pack_into('<Q' if descsz == 8 else '<I', data, desc,
                                 entry if descsz == 8 else entry & 0xffffffff)
    print(hex(entry))
else:
    sys.exit(f'unknown variant {variant}')
open(dst, 'wb').write(data)
EOF
}

as_user=()
case $variant in
empty)
	: >"$guest" || exit 99 ;;
directory)
	guest=$tmp/guest-dir
	mkdir "$guest" || exit 99 ;;
unreadable)
	cp "$good" "$guest" && chmod 000 "$guest" || exit 99
	if [ "$(id -u)" = 0 ]; then
		chmod 755 "$tmp"
		as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
		if ! command -v setpriv >/dev/null || ! "${as_user[@]}" test -x "$pvvmm"; then
			echo "SKIPPED LOUDLY: running as root, which can read a mode-000 file, and cannot run $pvvmm as uid 65534 (setpriv missing or the build directory not accessible); the unreadable-file case is not tested" >&2
			exit 77
		fi
		if "${as_user[@]}" test -r "$guest"; then
			echo "SKIPPED LOUDLY: uid 65534 can read a mode-000 file here; the unreadable-file case is not tested" >&2
			exit 77
		fi
	fi ;;
*)
	info=$(mutate) || { echo "FAIL: cannot derive the '$variant' guest from $good" >&2; exit 99; } ;;
esac

# Fixed substrings (grep -F) of the one expected error sentence.
read -r -a info_words <<<"${info:-}"
case $variant in
empty)             expect="is empty" ;;
truncated-ehdr)    expect="file is truncated inside the ELF header" ;;
truncated-phdrs)   expect="program header table extends past end of file" ;;
truncated-load)    expect="segment ${info_words[0]} extends past end of file" ;;
not-elf)           expect="not an ELF file" ;;
elfclass32)        expect="ELF class is 1 (ELFCLASS32, 32-bit); only 64-bit" ;;
big-endian)        expect="ELF data encoding is 2 (ELFDATA2MSB, big-endian); only little-endian" ;;
wrong-machine)     expect="ELF machine is 183 (EM_AARCH64); only x86-64" ;;
et-rel)            expect="ELF type is 1 (ET_REL, relocatable object); only executables (ET_EXEC)" ;;
overlapping-loads) expect="PT_LOAD segments ${info_words[0]} and ${info_words[1]} overlap" ;;
filesz-gt-memsz)   expect="segment ${info_words[0]} file size" ;;
note-past-segment) expect="note at file offset ${info_words[0]} has descriptor size" ;;
no-xen-notes)      expect="not a Xen PV guest: no Xen ELF notes" ;;
entry-outside)     expect="entry point ${info_words[0]} is outside the kernel image" ;;
directory)         expect="Is a directory" ;;
unreadable)        expect="Permission denied" ;;
esac

"${as_user[@]}" "$pvvmm" run --timeout 20 "$guest" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
echo "variant $variant: exit $rc; stderr:"
cat "$tmp/stderr"
fail=
if [ "$rc" != 2 ]; then
	echo "FAIL: exit status $rc, expected 2 (bad input)" >&2
	fail=1
fi
if [ -s "$tmp/stdout" ]; then
	echo "FAIL: stdout is not empty (the guest must not start):" >&2
	head -c 2000 "$tmp/stdout" >&2
	fail=1
fi
lines=$(wc -l <"$tmp/stderr")
if [ "$lines" != 1 ] || [ "$(tail -c 1 "$tmp/stderr" | od -An -tx1 | tr -d ' ')" != 0a ]; then
	echo "FAIL: stderr has $lines line(s); expected exactly one newline-terminated line" >&2
	fail=1
fi
first=$(head -n 1 "$tmp/stderr")
if [ "${first#pvvmm: }" = "$first" ]; then
	echo "FAIL: the first stderr line does not start with 'pvvmm: '" >&2
	fail=1
fi
if ! grep -qF -- "$expect" "$tmp/stderr"; then
	echo "FAIL: stderr does not contain '$expect'" >&2
	fail=1
fi
[ -z "$fail" ] || exit 1
echo "ok: exit 2, one line on stderr containing '$expect', nothing on stdout"
