#!/bin/bash
# usage: expect_run.sh [--no-kvm | --backend nested|bochs] [--as-nobody] EXPECTED_EXIT REGEX -- COMMAND...
# Runs COMMAND where pvvmm can use KVM and passes if it exits EXPECTED_EXIT
# and its output (stdout and stderr) matches REGEX; several patterns joined
# by ' && ' must all match.
#   (default)        the backend scripts/backend.sh selects: this machine's
#                    /dev/kvm, else the nested real-x86 KVM (PVVMM_BACKEND
#                    forces one; make check selects once for all tests)
#   --backend B      always backend B: nested (QEMU, AMD SVM) or bochs
#                    (Intel VMX with PCID and INVPCID), whatever this machine has
#   --no-kvm         directly here: for tests that end before KVM is touched
#   --as-nobody      as user nobody (setpriv). That needs root where COMMAND
#                    runs; a host backend without root uses the nested one,
#                    where COMMAND runs as root.
# PVVMM_BIN (set by meson) is the pvvmm that probes /dev/kvm when no backend
# was selected yet.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/backend.sh
. "$here/../../scripts/backend.sh"
mode=selected prefix=()
case ${1:-} in
--no-kvm) mode=none; shift ;;
--backend) mode=$2; shift 2 ;;
esac
if [ "${1:-}" = --as-nobody ]; then
	shift
	prefix=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	# not root here: the caller is unprivileged already
	[ "$mode" = none ] && [ "$(id -u)" != 0 ] && prefix=()
fi
want=$1 regex=$2
shift 2
[ "${1:-}" = -- ] && shift

# The output goes to a file, not into $(...): when the harness's time limit
# ends this test (SIGTERM to its process group), what COMMAND printed so far
# is still shown, and says where it hung.
out_file=$(mktemp)
trap 'rm -f "$out_file"' EXIT
# (COMMAND gets a moment to say its last words, as scripts/nested/pool does.)
trap 'for _ in 1 2 3 4; do kill -0 "$child" 2>/dev/null && sleep 0.1; done; cat "$out_file"
	echo "FAIL: killed by SIGTERM (the test time limit); the output above is all it printed" >&2; exit 143' TERM
# COMMAND runs in the background (so that the trap runs at once) with this standard input.
exec 4<&0
case $mode in
none) "${prefix[@]}" "$@" <&4 >"$out_file" 2>&1 &
	child=$!
	wait $child ;;
*)
	if [ "$mode" = selected ]; then
		backend_select "${PVVMM_BIN:-pvvmm}" || exit 1
		if [ ${#prefix[@]} -gt 0 ] && [ "$PVVMM_BACKEND" = host ] && [ "$(id -u)" != 0 ]; then
			PVVMM_BACKEND=nested PVVMM_BACKEND_WHY="setpriv needs root"
		fi
	else
		PVVMM_BACKEND=$mode PVVMM_BACKEND_WHY="this test's backend"
	fi
	backend_exec -- "${prefix[@]}" "$@" <&4 >"$out_file" 2>&1 &
	child=$!
	wait $child
	;;
esac
rc=$?
out=$(cat "$out_file")
[ "$mode" = none ] || backend_describe
printf '%s\n' "$out"
if [ "$rc" != "$want" ]; then echo "FAIL: exit status $rc, expected $want" >&2; exit 1; fi
rest=$regex
while [ -n "$rest" ]; do
	pattern=${rest%% && *}
	[ "$pattern" = "$rest" ] && rest= || rest=${rest#* && }
	# a here-string, not a pipe: grep -q stops reading at the first match, and
	# with pipefail the writer's SIGPIPE would fail a matching output
	if ! grep -Eq -- "$pattern" <<<"$out"; then echo "FAIL: output does not match /$pattern/" >&2; exit 1; fi
done
echo "ok: exit $rc, output matches /$regex/"
