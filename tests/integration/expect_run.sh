#!/bin/bash
# usage: expect_run.sh [--nested | --as-nobody] EXPECTED_EXIT REGEX -- COMMAND...
# Runs COMMAND (directly, inside the nested real-x86 KVM with --nested, or as
# user nobody with --as-nobody), and passes if it exits EXPECTED_EXIT and its
# output matches REGEX (several patterns joined by ' && ' must all match).
# Without /dev/kvm the test is reported as skipped (exit 77), loudly.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
nested= prefix=()
if [ "$1" = --nested ]; then nested=1; shift; fi
if [ "$1" = --as-nobody ]; then
	shift
	if [ "$(id -u)" != 0 ]; then
		echo "SKIPPED LOUDLY: dropping privileges to test a refused /dev/kvm needs root" >&2
		exit 77
	fi
	prefix=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
want=$1 regex=$2; shift 2; [ "$1" = -- ] && shift
if [ ! -e /dev/kvm ]; then
	echo "SKIPPED LOUDLY: /dev/kvm does not exist on this machine; this test needs KVM" >&2
	exit 77
fi
if [ -n "$nested" ]; then
	prog=$1; shift
	files=() args=()
	for a in "$@"; do
		if [ -f "$a" ]; then files+=(-f "$a"); args+=("$(basename "$a")"); else args+=("$a"); fi
	done
	out=$("$here/../../scripts/nested/run.sh" -t 300 "${files[@]}" -- "$prog" "${args[@]}" 2>&1)
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
