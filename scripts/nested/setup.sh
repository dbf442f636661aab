#!/bin/bash
# scripts/nested/setup.sh: prepare the "real x86 KVM inside an emulator" used
# by run.sh.  Idempotent; needs root only when Debian packages are missing.
# usage: setup.sh [-q] [-b|--bochs]
#   -q     quiet unless something fails
#   -b     also prepare the Bochs backend (run.sh -b: emulated Intel CPU with
#          VMX+EPT, PCID and INVPCID; kvm_intel inside)
#
#  1. apt-get installs what is missing: qemu-system-x86 busybox-static,
#     kmod (modinfo), xz-utils + binutils (vmlinux), gcc libc6-dev (selftest);
#     with -b also bochs bochs-term bochsbios vgabios.
#     `apt-get update` runs only if an install or the kernel lookup needs it.
#  2. resolves linux-image-amd64 -> linux-image-6.1.0-N-amd64, fetches it with
#     `apt-get download` and unpacks vmlinuz plus kvm_amd, kvm_intel and the
#     modules they depend on (found with modinfo, recursively) into the cache,
#     and the pool's 9p file system over virtio-pci (POOL_MODULES).
#     vmlinuz is also decompressed to vmlinux (an ELF with a PVH entry point):
#     QEMU boots that directly, which saves the ~5 s that the kernel's own
#     XZ decompression takes under TCG.
#  3. builds base.cpio.gz: busybox, the modules (+ load orders), ./init,
#     kvm-hold (kvm-hold.c: keeps a VM open so that pvvmm's are never the first
#     or the last, which avoids a stall of QEMU's TCG; see README.md).
#  4. with -b: bochs/kernel.img, vmlinux's LOAD segments laid out for a RAM
#     image at 1 MiB, and bochs/boot.bin, the boot sector (bochs-boot.S) that
#     enters the kernel at its PVH entry point (see run.sh -b).
#
# Cache dir: $PVVMM_NESTED_DIR (default /var/tmp/pvvmm-nested).  Once built,
# the kernel stays pinned there; delete the dir to pick up a newer kernel.
# A second call costs < 0.1 s.  Fresh: ~9 s (+ apt-get install time; -b: +1 s).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=initramfs.sh
. "$HERE/initramfs.sh"
DIR=${PVVMM_NESTED_DIR:-/var/tmp/pvvmm-nested}
PKGS=(qemu-system-x86 busybox-static kmod xz-utils binutils gcc libc6-dev)
BOCHS_PKGS=(bochs bochs-term bochsbios vgabios)
# pool.sh's machine mounts the host's file system over 9p (virtio-pci)
POOL_MODULES=(virtio_pci 9pnet_virtio 9p)
APT_TIMEOUT=${PVVMM_NESTED_APT_TIMEOUT:-900}

die() { echo "nested/setup.sh: error: $*" >&2; exit 1; }
trap 'echo "nested/setup.sh: error: line $LINENO: $BASH_COMMAND failed" >&2' ERR
log() { [ -n "${QUIET:-}" ] || echo "nested/setup.sh: $*" >&2; }
QUIET='' BOCHS=''
for a in "$@"; do
	case $a in
	-q) QUIET=1 ;;
	-b | --bochs) BOCHS=1 ;;
	*) die "usage: setup.sh [-q] [-b|--bochs]" ;;
	esac
done
[ -n "$BOCHS" ] && PKGS+=("${BOCHS_PKGS[@]}")

# ---- 1. packages ------------------------------------------------------------
declare -A pkg_state=()
while read -r pkg st; do pkg_state[$pkg]=$st; done \
	< <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PKGS[@]}" 2>/dev/null || true)
missing=()
for p in "${PKGS[@]}"; do [ "${pkg_state[$p]:-}" = ii ] || missing+=("$p"); done
apt_updated=
APT_ERR=$(mktemp /tmp/pvvmm-nested-apt.XXXXXX)
trap 'rm -f "$APT_ERR"' EXIT
apt_update() {
	[ -n "$apt_updated" ] && return 0
	log "apt-get update"
	timeout "$APT_TIMEOUT" apt-get update -qq >/dev/null 2>"$APT_ERR" || {
		sed 's/^/  /' "$APT_ERR" >&2; die "apt-get update failed"; }
	apt_updated=1
}
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run as root to install them"
	apt_update
	log "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive timeout "$APT_TIMEOUT" \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>"$APT_ERR" || {
		sed 's/^/  /' "$APT_ERR" >&2; die "apt-get install ${missing[*]} failed"; }
fi

# ---- fast path: everything built by this very setup.sh + init -----------------
want_stamp() { echo "v2 $(cat "$HERE/setup.sh" "$HERE/initramfs.sh" "$HERE/init" "$HERE/kvm-hold.c" | sha256sum | cut -c1-16)"; }
want_bochs_stamp() { echo "$(want_stamp) $(sha256sum <"$HERE/bochs-boot.S" | cut -c1-16)"; }
main_ok() { # steps 2 and 3 done
	[ -f "$DIR/stamp" ] && [ -f "$DIR/vmlinuz" ] && [ -f "$DIR/base.cpio.gz" ] &&
		[ "$(head -1 "$DIR/stamp")" = "$(want_stamp)" ]
}
bochs_ok() { [ -f "$DIR/bochs/stamp" ] && [ "$(head -1 "$DIR/bochs/stamp")" = "$(want_bochs_stamp)" ]; }
stamp_ok() { main_ok && { [ -z "$BOCHS" ] || bochs_ok; }; }
ready_msg() { echo "ready in $DIR ($(sed -n 2p "$DIR/stamp")${BOCHS:+; bochs: $(sed -n 2p "$DIR/bochs/stamp")})"; }
if stamp_ok; then
	log "$(ready_msg)"
	exit 0
fi

mkdir -p "$DIR" 2>/dev/null || die "cannot create $DIR"
[ -w "$DIR" ] || die "$DIR is not writable"
exec 9>"$DIR/.lock"
flock -w 900 9 || die "timed out waiting for another setup.sh ($DIR/.lock)"
if stamp_ok; then log "$(ready_msg), built by a concurrent setup.sh"; exit 0; fi
t0=$(date +%s%N)
K=$DIR/kernel
if ! main_ok; then   # (steps 2 and 3, not indented)

# ---- 2. kernel + modules ------------------------------------------------------
kpkg_of() { apt-cache depends linux-image-amd64 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ {print $2; exit}'; }
fetch() { rm -rf "$DIR/dl" && mkdir -p "$DIR/dl" &&
	(cd "$DIR/dl" && timeout "$APT_TIMEOUT" apt-get download -qq "$1" 2>"$DIR/dl/err"); }
if [ -f "$K/kpkg" ] && [ -f "$K/vmlinuz" ] && [ -f "$K/mod/pool.order" ]; then
	KPKG=$(cat "$K/kpkg")
elif [ -f "$K/kpkg" ] && KPKG=$(cat "$K/kpkg") && log "fetching $KPKG again (for more modules)" && fetch "$KPKG"; then
	rm -rf "$K"   # a cache from before kvm_intel or the pool's modules: same kernel, modules again
else
	rm -rf "$K"
	KPKG=$(kpkg_of)
	[ -n "$KPKG" ] || { apt_update; KPKG=$(kpkg_of); }
	[ -n "$KPKG" ] || die "cannot resolve linux-image-amd64 to a linux-image-*-amd64 package (apt sources?)"
	log "fetching $KPKG"
	fetch "$KPKG" || { sed 's/^/  /' "$DIR/dl/err" >&2; die "apt-get download $KPKG failed"; }
fi
KVER=${KPKG#linux-image-}

# extract PATTERNS...: pull files out of the downloaded package into $DIR/dl/x
extract() {
	local deb
	deb=$(ls "$DIR"/dl/"$KPKG"_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || die "downloaded package for $KPKG is gone; rm -rf $DIR and retry"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$DIR/dl/x" --wildcards "$@" 2>/dev/null || true
	# compressed modules (not used by Debian 12, but cheap to handle)
	find "$DIR/dl/x" -name '*.ko.xz' -exec xz -d -f {} + 2>/dev/null || true
	find "$DIR/dl/x" -name '*.ko.zst' -exec zstd -q -d --rm -f {} + 2>/dev/null || true
}
if ! [ -f "$K/kpkg" ]; then
	rm -rf "$DIR/dl/x" && mkdir -p "$DIR/dl/x"
	extract "./boot/vmlinuz-$KVER" "./lib/modules/$KVER/kernel/arch/x86/kvm/*" \
		"./lib/modules/$KVER/kernel/virt/*" "./lib/modules/$KVER/kernel/drivers/crypto/ccp/*" \
		"./lib/modules/$KVER/kernel/drivers/virtio/*" "./lib/modules/$KVER/kernel/net/9p/*" \
		"./lib/modules/$KVER/kernel/fs/9p/*" "./lib/modules/$KVER/kernel/fs/netfs/*" \
		"./lib/modules/$KVER/kernel/fs/fscache/*"
	[ -f "$DIR/dl/x/boot/vmlinuz-$KVER" ] || die "no boot/vmlinuz-$KVER in $KPKG"
	# kvm_amd, kvm_intel and their dependencies, depth first: the load orders
	declare -A KO=()
	order=() need=()
	scan() { local f; KO=(); while IFS= read -r f; do
		local b=${f##*/}; b=${b%.ko}; KO[${b//-/_}]=$f; done < <(find "$DIR/dl/x" -name '*.ko'); }
	visit() {
		local m=$1 d
		[[ " ${order[*]} " == *" $m "* ]] && return 0
		if [ -z "${KO[$m]:-}" ]; then need+=("$m"); return 0; fi
		for d in $(modinfo -F depends "${KO[$m]}" | tr , ' '); do visit "$d"; done
		order+=("$m")
	}
	for pass in 1 2 3 4; do
		scan; order=() need=()
		visit kvm_amd
		visit kvm_intel
		for m in "${POOL_MODULES[@]}"; do visit "$m"; done
		[ ${#need[@]} -eq 0 ] && break
		[ "$pass" = 4 ] && die "modules not found in $KPKG: ${need[*]}"
		pats=()
		for m in "${need[@]}"; do pats+=("./lib/modules/$KVER/kernel/*/${m//[-_]/[-_]}.ko*"); done
		log "extracting dependencies ${need[*]}"
		extract "${pats[@]}"
	done
	rm -rf "$K.new" && mkdir -p "$K.new/mod"
	cp "$DIR/dl/x/boot/vmlinuz-$KVER" "$K.new/vmlinuz"
	for m in "${order[@]}"; do cp "${KO[$m]}" "$K.new/mod/$m.ko"; done
	for v in amd intel; do   # per vendor: kvm_$v and what it needs, in load order
		order=() need=()
		visit "kvm_$v"
		printf '%s\n' "${order[@]}" > "$K.new/mod/$v.order"
	done
	order=() need=()   # the pool's host file system: 9p over virtio-pci
	for m in "${POOL_MODULES[@]}"; do visit "$m"; done
	printf '%s\n' "${order[@]}" > "$K.new/mod/pool.order"
	echo "$KPKG" > "$K.new/kpkg"
	rm -rf "$K" && mv "$K.new" "$K"
	rm -rf "$DIR/dl"
	log "kernel $KVER unpacked; modules: $(cat "$K/mod/amd.order" | tr '\n' ' ')/ $(cat "$K/mod/intel.order" | tr '\n' ' ')"
fi

# vmlinux: the bzImage payload (header fields setup_sects @0x1f1, payload_offset
# @0x248) decompressed; used only if it is an ELF with a PVH entry note.
if ! [ -f "$K/vmlinux.checked" ]; then
	rm -f "$K/vmlinux"
	z=$K/vmlinuz
	u8() { od -An -tu1 -j "$1" -N1 "$z" | tr -d ' '; }
	u32() { od -An -tu4 -j "$1" -N4 "$z" | tr -d ' '; }
	ss=$(u8 $((0x1f1))); [ "$ss" = 0 ] && ss=4
	off=$(( (ss + 1) * 512 + $(u32 $((0x248))) ))
	magic=$(od -An -tx1 -j "$off" -N4 "$z" | tr -d ' ')
	case $magic in
	fd377a58) dec=(xz -dc --single-stream) ;;
	28b52ffd) dec=(zstd -dcq) ;;
	1f8b*) dec=(gzip -dc) ;;
	*) dec=() ;;
	esac
	# (xz --single-stream stops early: tail gets SIGPIPE, so the status is not checked)
	[ ${#dec[@]} -gt 0 ] && { tail -c +$((off + 1)) "$z" | "${dec[@]}" >"$K/vmlinux.new"; } 2>/dev/null || true
	if [ -s "$K/vmlinux.new" ] && grep -qE '\(0x00000012\)|PHYS32_ENTRY' <<<"$(readelf -n "$K/vmlinux.new" 2>/dev/null)"; then
		mv "$K/vmlinux.new" "$K/vmlinux"
		log "vmlinux with PVH entry extracted ($(( $(stat -c %s "$K/vmlinux") >> 20 )) MiB)"
	else
		rm -f "$K/vmlinux.new"
		log "warning: no PVH vmlinux in $z (magic $magic); booting the bzImage (about 5 s slower)"
	fi
	touch "$K/vmlinux.checked"
fi

# ---- 3. base initramfs --------------------------------------------------------
R=$DIR/root.new
rm -rf "$R" && mkdir -p "$R/mod" "$R/payload"
initramfs_busybox_root "$R" || die "no busybox tree for the initramfs"
cp "$K"/mod/*.order "$R/mod/"
# Without their BTF (type info for BPF, unused here) and signature (not
# enforced): loading kvm.ko parses it against vmlinux's, 4 s of Bochs time.
for m in "$K"/mod/*.ko; do objcopy -R .BTF "$m" "$R/mod/${m##*/}"; done
cp "$HERE/init" "$R/init"
gcc -O2 -Wall -Werror -static -o "$R/bin/kvm-hold" "$HERE/kvm-hold.c" || die "building kvm-hold.c failed"
chmod 755 "$R/init"
initramfs_pack "$R" "$DIR/base.cpio.gz.new"
# run.sh appends a second cpio archive: it must start 4-byte aligned (zero padding is skipped)
truncate -s %512 "$DIR/base.cpio.gz.new"
# (renames, so that a run.sh going on meanwhile sees old or new files, never none)
for f in vmlinuz vmlinux; do
	if [ -f "$K/$f" ]; then ln -sfn "kernel/$f" "$DIR/$f.new" && mv -fT "$DIR/$f.new" "$DIR/$f"; else rm -f "$DIR/$f"; fi
done
mv -f "$DIR/base.cpio.gz.new" "$DIR/base.cpio.gz"
rm -rf "$R"
printf '%s\n%s\n' "$(want_stamp)" "kernel $KVER, $(qemu-system-x86_64 --version | head -1)" > "$DIR/stamp"
fi   # main_ok

# ---- 4. Bochs: the kernel's RAM image layout and the boot sector --------------
# run.sh -b builds one RAM image per run that Bochs loads at 1 MiB (see
# bochs-boot.S): the first 15 MiB hold the boot info, then vmlinux's LOAD
# segments at their physical addresses (16 MiB up).  kernel.img is that
# image without the per-run parts, sparse; kernel.env has the PVH entry and
# the end of the kernel.
if [ -n "$BOCHS" ] && ! bochs_ok; then
	B=$DIR/bochs
	rm -rf "$B.new" && mkdir -p "$B.new"
	V=$K/vmlinux
	[ -f "$V" ] || die "no PVH vmlinux in $K (see the warning above); the Bochs backend boots only that"
	# XEN_ELFNOTE_PHYS32_ENTRY (type 18): "description data: b0 b1 b2 b3 ..."
	entry=$(readelf -n "$V" | awk '/\(0x00000012\)|PHYS32_ENTRY/ {f = 1; next}
		f && /description data:/ {printf "0x%s%s%s%s", $6, $5, $4, $3; exit}')
	[[ $entry =~ ^0x[0-9a-f]{8}$ ]] || die "no PVH entry note in $V"
	base=$((0x100000)) kend=0
	while read -r off pa fsz msz; do
		(( pa >= 0x1000000 )) || die "vmlinux LOAD segment at $pa, below 16 MiB"
		dd if="$V" of="$B.new/kernel.img" bs=1M iflag=skip_bytes,count_bytes oflag=seek_bytes \
			skip=$((off)) seek=$((pa - base)) count=$((fsz)) conv=notrunc,sparse status=none
		(( pa + msz > kend )) && kend=$((pa + msz))
	done < <(readelf -lW "$V" | awk '$1 == "LOAD" {print $2, $4, $5, $6}')
	(( kend > 0x1000000 )) || die "no LOAD segments in $V"
	truncate -s $((kend - base)) "$B.new/kernel.img"
	printf 'entry=%s\nkend=%s\n' "$entry" "$kend" > "$B.new/kernel.env"
	as --32 -o "$B.new/boot.o" "$HERE/bochs-boot.S" &&
		ld -m elf_i386 -Ttext=0x7c00 -e _start --oformat binary -o "$B.new/boot.bin" "$B.new/boot.o" ||
		die "assembling bochs-boot.S failed"
	rm -f "$B.new/boot.o"
	[ "$(stat -c %s "$B.new/boot.bin")" = 512 ] || die "bochs-boot.S: boot sector is not 512 bytes"
	printf '%s\n%s\n' "$(want_bochs_stamp)" \
		"bochs $(dpkg-query -W -f='${Version}' bochs 2>/dev/null), PVH entry $entry" > "$B.new/stamp"
	rm -rf "$B.old"; [ -d "$B" ] && mv "$B" "$B.old"
	mv "$B.new" "$B" && rm -rf "$B.old"
fi
log "$(ready_msg); took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
