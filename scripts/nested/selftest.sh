#!/bin/bash
# scripts/nested/selftest.sh: prove that run.sh works and that the nested KVM
# has real-x86 semantics.  Builds kvmtest (kvmtest.c + kvmtest_guest.S) and
# runs it in the emulated machine three times:
#   1. static build: `syscall` from ring 3 must reach LSTAR with a ring-0 CS
#   2. dynamic build (the loader/library path pvvmm uses), with -f data.txt
#      named by basename, --exit 7: exit status, stdout and stderr come back
#   3. run.sh -t 1: the emulator timeout gives exit status 124
# With -b all of it in Bochs (run.sh -b), and run 1 also checks that the CPU is
# Intel and that KVM offers PCID and INVPCID to its guests.
# Last line: "nested selftest: N passed, M failed"; exit 0 iff M = 0.
# usage: selftest.sh [-q] [-b]   (-q: only run 1; -b: Bochs)   Runs setup.sh first.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QUICK='' BOCHS=''
for a in "$@"; do
	case $a in
	-q) QUICK=1 ;;
	-b) BOCHS=1 ;;
	*) echo "usage: selftest.sh [-q] [-b]" >&2; exit 2 ;;
	esac
done
RUN=("$HERE/run.sh" ${BOCHS:+-b})
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "nested selftest: $pass passed, $fail failed"; [ "$fail" = 0 ]; exit; }
now() { date +%s%N; }
ms() { echo "$(( ($(now) - $1) / 1000000 ))"; }
secs() { printf '%d.%01d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

t_all=$(now)
if ! "$HERE/setup.sh" -q ${BOCHS:+--bochs}; then bad "setup.sh${BOCHS:+ --bochs}"; finish; fi
B=$(mktemp -d "${TMPDIR:-/tmp}/pvvmm-nested-selftest.XXXXXX")
trap 'rm -rf "$B"' EXIT
if timeout 120 gcc -O2 -Wall -Wextra -static -o "$B/kvmtest" "$HERE/kvmtest.c" "$HERE/kvmtest_guest.S" &&
	timeout 120 gcc -O2 -Wall -Wextra -o "$B/kvmtest-dyn" "$HERE/kvmtest.c" "$HERE/kvmtest_guest.S"; then
	ok "kvmtest builds (static and dynamic)"
else
	bad "kvmtest builds"; finish
fi

# 1. static program, the real-x86 check
t=$(now)
out=$("${RUN[@]}" -t 300 -- "$B/kvmtest" 2>"$B/err")
rc=$?
t1=$(ms "$t")
echo "$out" | sed 's/^/     | /'
sed 's/^/     ! /' "$B/err"
check "run 1 (static): exit status 0 ($rc), $(secs "$t1")" '[ "$rc" = 0 ]'
check "syscall from ring 3 reaches LSTAR with ring-0 CS 0x8" \
	'grep -q "^kvmtest: LSTAR handler CS=0x8 (CPL 0) SS=0x10" <<<"$out"'
if [ -n "$BOCHS" ]; then
	check "Bochs: Intel CPU, KVM offers PCID and INVPCID" \
		'grep -q "^kvmtest: CPU GenuineIntel; KVM offers its guests PCID yes, INVPCID yes" <<<"$out"'
fi

if [ -z "$QUICK" ]; then
	# 2. dynamic program via the copied loader, an extra file, exit status 7
	printf 'payload file seen by basename\n' >"$B/data.txt"
	t=$(now)
	out=$(cd / && "${RUN[@]}" -t 300 -f "$B/data.txt" -- "$B/kvmtest-dyn" --echo data.txt --exit 7 2>"$B/err")
	rc=$?
	t2=$(ms "$t")
	echo "$out" | sed 's/^/     | /'
	sed 's/^/     ! /' "$B/err"
	check "run 2 (dynamic, -f): exit status 7 came back ($rc), $(secs "$t2")" '[ "$rc" = 7 ]'
	check "dynamic build passes the ring-0 check too" 'grep -q "^kvmtest: PASS" <<<"$out"'
	check "extra file readable by basename (stdout)" 'grep -qx "payload file seen by basename" <<<"$out"'
	check "stderr comes back on stderr only" \
		'grep -q "this line went to stderr" "$B/err" && ! grep -q "went to stderr" <<<"$out"'

	# 3. emulator timeout
	t=$(now)
	TMPDIR=$B "${RUN[@]}" -t 1 -- "$B/kvmtest" >/dev/null 2>"$B/err"   # (its kept log goes away with $B)
	rc=$?
	check "run 3 (-t 1): exit status 124 on timeout ($rc), $(secs "$(ms "$t")")" \
		'[ "$rc" = 124 ] && grep -q "timeout" "$B/err"'
fi
echo "nested selftest: total $(secs "$(ms "$t_all")") wall (run 1: $(secs "$t1"))"
finish
