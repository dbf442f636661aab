#!/bin/bash
# usage: wallclock.sh PVVMM CONFORMANCE_ELF
# The guest's wall clock (shared_info's wc_sec/wc_nsec at system time 0
# plus pvclock's system time, printed by the conformance guest's wallclock
# subtest) against this machine's clock (date +%s.%N) taken just before and
# just after the run, on the backend scripts/backend.sh selects.
#   host    the guest's time must lie in [before - 1 s, after + 1 s].
#   nested, bochs: pvvmm reads the emulated machine's clock, which that
#           machine's kernel keeps from its own emulated timers since it
#           booted (from this machine's clock); it may run apart from ours
#           by a little, so the run's own duration is allowed on both sides
#           as well: [before - 1 s - run, after + 1 s + run]. (Seen on the
#           nested backend: the guest's time 0.6 s after `before`, 0.15 s
#           before `after`, runs of 0.8 s.)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/backend.sh
. "$here/../../scripts/backend.sh"
[ $# = 2 ] || { echo "usage: $0 PVVMM CONFORMANCE_ELF" >&2; exit 2; }
pvvmm=$1 guest=$2
backend_select "${PVVMM_BIN:-$pvvmm}" || exit 1
before=$(date +%s.%N)
out=$(backend_exec -- "$pvvmm" run --timeout 60 --cmdline only=wallclock "$guest" 2>&1)
rc=$?
after=$(date +%s.%N)
backend_describe
printf '%s\n' "$out"
guest_time=$(sed -n 's/^conformance: *wallclock: \([0-9][0-9]*\.[0-9]*\) .*/\1/p' <<<"$out")
if [ "$rc" != 0 ] || [ -z "$guest_time" ]; then
	echo "FAIL: the wallclock subtest did not run (exit status $rc) or printed no time" >&2
	exit 1
fi
slack=1
[ "$PVVMM_BACKEND" = host ] || slack=$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.3f", 1 + (b - a) }')
verdict=$(awk -v a="$before" -v b="$after" -v g="$guest_time" -v s="$slack" 'BEGIN {
	printf "guest %.3f s after the time before the run, %.3f s before the time after it (run %.3f s, slack %.3f s): ",
		g - a, b - g, b - a, s
	print (g >= a - s && g <= b + s) ? "ok" : "FAIL" }')
echo "$verdict"
case $verdict in
*ok) echo "ok: the guest's wall clock matches this machine's on $PVVMM_BACKEND" ;;
*) echo "FAIL: the guest's wall clock is off" >&2; exit 1 ;;
esac
