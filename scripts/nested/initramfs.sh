# shellcheck shell=bash
# Sourced by setup.sh (the emulated machine's base initramfs) and
# scripts/linux-guest (Debian's kernel's): the busybox tree both start from
# and the packing of a tree into a gzipped newc archive.

# ROOT/bin/busybox (the static one, else fails) with its applet links and
# the usual empty mount points. The links are made here, not by
# `busybox --install` at boot (0.3 s of TCG time in the emulated machine).
initramfs_busybox_root() {
	local root=$1 a
	ldd /bin/busybox >/dev/null 2>&1 && { echo "/bin/busybox is dynamically linked (need busybox-static)" >&2; return 1; }
	mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	chmod 755 "$root/bin/busybox"
	for a in $("$root/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
}

# ROOT packed into OUT, reproducibly (sorted names, no gzip time stamp).
initramfs_pack() {
	(cd "$1" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null | gzip -1 -n) >"$2"
}
