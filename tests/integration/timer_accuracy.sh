#!/bin/bash
# usage: timer_accuracy.sh PVVMM CONFORMANCE_ELF
# The conformance guest's timer_accuracy subtest (sleeps of 10 ms with
# set_timer_op + SCHEDOP_block, lateness measured with pvclock) on the
# backend scripts/backend.sh selects, failing when the median lateness is
# above a tolerance that fits that backend:
#   host    1000 us: a real CPU, KVM's TSC-deadline timer on a host hrtimer
#           (tens of microseconds late when idle).
#   nested  3000 us: QEMU TCG emulating the CPU that runs KVM, whose hrtimer
#           then injects the interrupt into pvvmm's vCPU. Measured here
#           (2 cores shared with builds, 12 runs of 25..100 sleeps): median
#           280..930 us, minimum 220..590 us, maximum up to 9.7 ms (single
#           outliers when the emulator is descheduled). 3 ms is over three
#           times the worst median and under a third of the 10 ms period,
#           so a timer that waits for the next periodic tick or rounds to
#           coarse units still fails.
#   bochs   20000 us: one emulated machine per command, far slower.
# PVVMM_BIN (set by meson) is the pvvmm that probes /dev/kvm when no backend
# was selected yet.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/backend.sh
. "$here/../../scripts/backend.sh"
[ $# = 2 ] || { echo "usage: $0 PVVMM CONFORMANCE_ELF" >&2; exit 2; }
pvvmm=$1 guest=$2
backend_select "${PVVMM_BIN:-$pvvmm}" || exit 1
case $PVVMM_BACKEND in
host) tolerance=1000 ;;
nested) tolerance=3000 ;;
*) tolerance=20000 ;;
esac
out=$(backend_exec -- "$pvvmm" run --timeout 120 \
	--cmdline "only=timer_accuracy sleep_tolerance_us=$tolerance timer_samples=50" "$guest" 2>&1)
rc=$?
backend_describe
printf '%s\n' "$out"
line=$(grep -E 'timer_accuracy: [0-9]+ sleeps of 10 ms: lateness' <<<"$out")
if [ "$rc" != 0 ] || ! grep -q 'Test result: SUCCESS' <<<"$out" || [ -z "$line" ]; then
	echo "FAIL: timer_accuracy (tolerance ${tolerance} us on $PVVMM_BACKEND): exit status $rc" >&2
	exit 1
fi
echo "ok: median lateness within ${tolerance} us on $PVVMM_BACKEND:${line#*timer_accuracy:}"
