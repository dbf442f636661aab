#!/bin/bash
# usage: ring0_profile.sh RING0_PROFILE BUILD
# scripts/ring0-profile on the selected backend. Where KVM single-steps ring
# 0 only (kvm_pvm) it must attribute the syscall workload's instructions to
# the monitor's entry and root-switch functions; where it steps like real
# x86 (pvvmm logs "host KVM quirks: none") it must refuse with exit 3 and
# say why, since its counts would be wrong there.
set -uo pipefail
out=$("$1" -b "$2" -w syscall -n 10 -m 5 -k 8 -- --xpti=off "--xpti=on --xpti-opt=all" 2>&1)
rc=$?
printf '%s\n' "$out"
case $rc in
0)
	for p in '[0-9.]+ +[0-9.]+ +[-+][0-9.]+ +total' 'entry_flag' 'switch_root'; do
		grep -Eq -- "$p" <<<"$out" || { echo "FAIL: the profile lacks /$p/"; exit 1; }
	done
	echo "ok: profile attributes instructions to monitor functions"
	;;
3)
	grep -q 'single-steps like real x86.*step counts are not instruction counts' <<<"$out" ||
		{ echo "FAIL: exit 3 without the reason"; exit 1; }
	echo "ok: refused on a KVM that single-steps like real x86"
	;;
*) echo "FAIL: exit status $rc"; exit 1 ;;
esac
