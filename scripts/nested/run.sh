#!/bin/bash
# scripts/nested/run.sh: run a host program inside an emulated x86 machine whose
# Debian 12 kernel has KVM loaded, i.e. against a /dev/kvm with real x86
# semantics.  Two emulators (run scripts/nested/setup.sh first; -b needs
# setup.sh --bochs):
#   default  QEMU-TCG, AMD CPU with SVM+NPT, kvm_amd inside (~4 s a run)
#   -b       Bochs, Intel CPU (corei7_skylake_x: VMX+EPT, PCID, INVPCID),
#            kvm_intel inside (~20 s a run; programs run ~4x slower than in QEMU)
#
# usage: run.sh [options] [--] PROGRAM [ARGS...]
#   -b        Bochs instead of QEMU
#   -c MODEL  Bochs CPU model (default corei7_skylake_x; `bochs-bin --help cpu`)
#   -t SEC    wall-clock limit for the emulator (default 120, with -b 600);
#             expiry -> exit 124
#   -s N      emulated vCPUs (default 1: QEMU 7.2's page walks race with more,
#             see pool's help)
#   -m MEM    guest RAM, e.g. 1G or 512M (default 2G, with -b 1G)
#   -f FILE   copy FILE into the payload dir, the program's cwd (repeatable);
#             ARGS name it by its basename
#   -e VAR=V  set an environment variable for PROGRAM (repeatable)
#   -k OPTS   kvm_amd (-b: kvm_intel) module parameters, comma-separated (e.g. npt=0)
#   -o DIR    keep console.log, stdout.log, stderr.log and the emulator's log in DIR
#   -v        copy the guest console (kernel log, markers) to stderr as it runs
#             (Bochs writes it in 4 KiB chunks)
#
# PROGRAM may be dynamically linked: it and every library `ldd` lists (plus the
# dynamic loader) are copied into /payload and it runs as
#   /payload$ ./ld-linux-x86-64.so.2 --library-path /payload/lib ./PROGRAM ARGS
# (so /proc/self/exe is the loader).  Static programs and scripts (#!/bin/sh,
# busybox only) run directly.
# PROGRAM's stdout and stderr come back on our stdout and stderr (separately,
# each printed as a whole after the guest powers off, stdout first); in the
# guest they are pipes (isatty() false, as under a test harness).
# If the status is not 0, kernel messages logged while PROGRAM ran (segfault
# reports, KVM warnings) follow on stderr.
# Exit status: PROGRAM's (128+N if killed by signal N); 124 = emulator timeout;
# 125 = the guest reported no status (boot/KVM failure; console tail on
# stderr, log dir kept); 2 = usage or setup error.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${PVVMM_NESTED_DIR:-/var/tmp/pvvmm-nested}
BOCHS='' CPU_MODEL=corei7_skylake_x T='' SMP='' MEM='' KVM_OPTS='' OUTDIR='' VERBOSE=''
FILES=() ENVS=()
me=nested/run.sh
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { echo "$me: error: $*" >&2; exit 2; }
trap 'echo "$me: error: line $LINENO: $BASH_COMMAND failed" >&2; exit 2' ERR
while getopts "bc:t:s:m:f:e:k:o:vh" o; do
	case $o in
	b) BOCHS=1 ;; c) CPU_MODEL=$OPTARG ;;
	t) T=$OPTARG ;; s) SMP=$OPTARG ;; m) MEM=$OPTARG ;; f) FILES+=("$OPTARG") ;;
	e) ENVS+=("$OPTARG") ;; k) KVM_OPTS=$OPTARG ;; o) OUTDIR=$OPTARG ;; v) VERBOSE=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
if [ -n "$BOCHS" ]; then : "${T:=600}" "${SMP:=1}" "${MEM:=1G}"; else : "${T:=120}" "${SMP:=1}" "${MEM:=2G}"; fi
[[ $T =~ ^[0-9]+$ && $SMP =~ ^[0-9]+$ ]] || die "-t and -s take numbers"
[[ $MEM =~ ^[0-9]+[MmGg]?$ ]] || die "-m takes a size like 1G or 512M"
[ -f "$DIR/stamp" ] && [ -f "$DIR/vmlinuz" ] && [ -f "$DIR/base.cpio.gz" ] ||
	die "no nested-KVM cache in $DIR; run scripts/nested/setup.sh${BOCHS:+ --bochs} first"
command -v busybox >/dev/null || die "busybox missing; run scripts/nested/setup.sh"
if [ -n "$BOCHS" ]; then
	# shellcheck source=bochs.sh
	. "$HERE/bochs.sh"
	bochs_check
else
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing; run scripts/nested/setup.sh"
fi

PROG=$1
shift
[[ $PROG == */* ]] || PROG=$(command -v "$PROG") || die "$PROG: not found"
[ -f "$PROG" ] && [ -r "$PROG" ] || die "$PROG: not a readable file"

W=$(mktemp -d "${TMPDIR:-/tmp}/pvvmm-nested.XXXXXX")
keep=
cleanup() { # keep only the logs when the guest failed (see "keep=1" below)
	if [ -n "$keep" ]; then rm -rf "$W/root" "$W/payload.cpio" "$W/initrd" "$W/ram.img" "$W/boot.img"; else rm -rf "$W"; fi
}
trap cleanup EXIT
qpid=''
emu_stop() { kill -TERM "$qpid" 2>/dev/null || true; }   # bochs.sh has its own
on_signal() { # stop the emulator too, then exit (cleanup runs on EXIT)
	trap - INT TERM HUP
	if [ -n "$qpid" ]; then emu_stop; wait "$qpid" 2>/dev/null || true; fi
	exit "$1"
}
trap 'on_signal 129' HUP
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
P=$W/root/payload
mkdir -p "$P/lib"

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }   # quote for sh
name=$(basename "$PROG")
cp -L "$PROG" "$P/$name"
chmod 755 "$P/$name"
# shared libraries: lines "soname => /path (addr)", "/path/ld-linux... (addr)", "linux-vdso.so.1 (addr)"
loader=
if ldd_out=$(timeout 30 ldd "$PROG" 2>&1) && ! grep -qE 'not a dynamic|statically linked' <<<"$ldd_out"; then
	while read -r a b c _; do
		if [ "$b" = "=>" ]; then
			[ "$c" != "not" ] || die "$PROG needs $a, which ldd cannot find"
			[[ $c == /* ]] || continue   # e.g. vdso with a "=>"
			cp -L "$c" "$P/lib/$a"
		elif [[ $a == /* ]]; then
			loader=$(basename "$a")
			cp -L "$a" "$P/$loader"
			chmod 755 "$P/$loader"
		fi
	done <<<"$ldd_out"
	[ -n "$loader" ] || die "ldd lists no dynamic loader for $PROG"
fi
for f in "${FILES[@]+"${FILES[@]}"}"; do
	b=$(basename "$f")
	case $b in cmd | lib | "$name" | "$loader") die "-f $f: name '$b' is taken in the payload dir" ;; esac
	[ -e "$f" ] || die "-f $f: no such file"
	cp -rL "$f" "$P/$b"
done
{
	for e in "${ENVS[@]+"${ENVS[@]}"}"; do
		[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "-e $e: want VAR=VALUE"
		echo "export ${e%%=*}=$(q "${e#*=}")"
	done
	printf 'exec'
	[ -n "$loader" ] && printf ' ./%s --library-path /payload/lib' "$loader"
	printf ' ./%s' "$(q "$name")"
	for a in "$@"; do printf ' %s' "$(q "$a")"; done
	echo
} >"$P/cmd"
# second (uncompressed) cpio archive; the kernel unpacks it over the base one
(cd "$W/root" && find . | busybox cpio -o -H newc 2>/dev/null) >"$W/payload.cpio"
cat "$DIR/base.cpio.gz" "$W/payload.cpio" >"$W/initrd"

L=${OUTDIR:-$W}
mkdir -p "$L"
: >"$L/console.log"; : >"$L/stdout.log"; : >"$L/stderr.log"
# quiet and fast: no audit, LSMs, crypto self-tests (kdf108's alone is 0.4 s
# under TCG) or read-only-data/W+X pass; none of it matters for KVM.
# 115200 baud: under Bochs the UARTs take emulated time per character.
APPEND=$(cat "$HERE/kernel-cmdline")   # shared with pool
[ -n "$KVM_OPTS" ] && APPEND="$APPEND pvvmm_kvm_opts=$KVM_OPTS"
APPEND="$APPEND ${PVVMM_NESTED_KERNEL_ARGS:-}"   # diagnostics, e.g. loglevel=7
# diagnostics: PVVMM_NESTED_QEMU_ARGS (word-split) is added to QEMU's arguments,
# e.g. "-monitor unix:/tmp/mon.sock,server=on,wait=off" to inspect a stalled machine
tailpid=
if [ -n "$VERBOSE" ]; then
	tail -n +1 -f "$L/console.log" >&2 &
	tailpid=$!
fi
if [ -n "$BOCHS" ]; then
	bochs_start   # sets qpid, EMU and EMU_LOG
else
	EMU=qemu EMU_LOG=$L/qemu.log
	: >"$EMU_LOG"
	KERNEL=$DIR/vmlinux   # PVH entry, no in-guest decompression (see setup.sh)
	[ -f "$KERNEL" ] || KERNEL=$DIR/vmlinuz
	# In the background so that our INT/TERM traps run at once (on_signal stops it);
	# --foreground keeps QEMU in our process group for harnesses that kill the group.
	# shellcheck disable=SC2086 # PVVMM_NESTED_QEMU_ARGS: words on purpose
	timeout --foreground -k 5 "$T" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp "$SMP" -m "$MEM" \
		-nodefaults -no-user-config -display none -monitor none -no-reboot \
		-serial "file:$L/console.log" -serial "file:$L/stdout.log" -serial "file:$L/stderr.log" \
		-kernel "$KERNEL" -initrd "$W/initrd" -append "$APPEND" ${PVVMM_NESTED_QEMU_ARGS:-} </dev/null >"$EMU_LOG" 2>&1 &
	qpid=$!
fi
qrc=0
wait "$qpid" || qrc=$?
qpid=''
[ -z "$BOCHS" ] || bochs_done
if [ -n "$tailpid" ]; then sleep 0.2; kill "$tailpid" 2>/dev/null || true; wait "$tailpid" 2>/dev/null || true; fi

cat "$L/stdout.log"
cat "$L/stderr.log" >&2
rc=$(sed -n 's/.*@@PVVMM-EXIT \([0-9]*\)@@.*/\1/p' "$L/console.log" | tail -1)
if [ -n "$rc" ] && [ "$rc" != 0 ] && grep -q '^@@KLOG ' "$L/console.log"; then
	echo "$me: guest kernel messages during the run (exit status $rc):" >&2
	sed -n 's/^@@KLOG /  | /p' "$L/console.log" >&2
fi
if [ -z "$rc" ]; then
	keep=1
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		echo "$me: timeout: emulator killed after $T s" >&2
		rc=124
	else
		echo "$me: the guest reported no exit status ($EMU exit $qrc)" >&2
		rc=125
	fi
	grep -h . "$EMU_LOG" | sed "s/^/  $EMU: /" | tail -5 >&2 || true
	grep -o '@@PVVMM-ERROR.*@@' "$L/console.log" | sed "s|^|$me: guest: |" >&2 || true
	if [ -s "$L/console.log" ]; then
		echo "$me: console tail ($L/console.log):" >&2
		tail -n 25 "$L/console.log" | sed 's/^/  | /' >&2
	else
		echo "$me: the console is empty: the kernel did not get far (too little -m?); logs in $L" >&2
	fi
fi
exit "$rc"
