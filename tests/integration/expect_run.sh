#!/bin/bash
# usage: expect_run.sh [--nested | --nested-bochs | --as-nobody] EXPECTED_EXIT REGEX -- COMMAND...
# Runs COMMAND (directly, inside the nested real-x86 KVM with --nested: QEMU,
# AMD SVM; with --nested-bochs: Bochs, Intel VMX with PCID and INVPCID; or as
# user nobody with --as-nobody), and passes if it exits EXPECTED_EXIT and its
# output matches REGEX (several patterns joined by ' && ' must all match).
# Without /dev/kvm the test is reported as skipped (exit 77), loudly; except
# with --nested-bochs, which needs none (Bochs is pure software): there a
# missing Bochs set-up fails the test (scripts/nested/run.sh -b exits 2).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
nested= prefix=() run_opts=(-t 300)
if [ "$1" = --nested ]; then nested=1; shift; fi
if [ "$1" = --nested-bochs ]; then nested=1 run_opts=(-b -t 420); shift; fi
if [ "$1" = --as-nobody ]; then
	shift
	if [ "$(id -u)" != 0 ]; then
		echo "SKIPPED LOUDLY: dropping privileges to test a refused /dev/kvm needs root" >&2
		exit 77
	fi
	prefix=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
want=$1 regex=$2; shift 2; [ "$1" = -- ] && shift
if [ ! -e /dev/kvm ] && [ "${run_opts[0]}" != -b ]; then
	echo "SKIPPED LOUDLY: /dev/kvm does not exist on this machine; this test needs KVM" >&2
	exit 77
fi
if [ -n "$nested" ]; then
	prog=$1; shift
	files=() args=()
	for a in "$@"; do
		if [ -f "$a" ]; then files+=(-f "$a"); args+=("$(basename "$a")"); else args+=("$a"); fi
	done
	out=$("$here/../../scripts/nested/run.sh" "${run_opts[@]}" "${files[@]}" -- "$prog" "${args[@]}" 2>&1)
else
	out=$("${prefix[@]}" "$@" 2>&1)
fi
rc=$?
printf '%s\n' "$out"
if [ "$rc" != "$want" ]; then echo "FAIL: exit status $rc, expected $want" >&2; exit 1; fi
rest=$regex
while [ -n "$rest" ]; do
	pattern=${rest%% && *}
	[ "$pattern" = "$rest" ] && rest= || rest=${rest#* && }
	if ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then echo "FAIL: output does not match /$pattern/" >&2; exit 1; fi
done
echo "ok: exit $rc, output matches /$regex/"
