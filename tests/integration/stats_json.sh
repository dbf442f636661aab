#!/bin/bash
# usage: stats_json.sh EXPECTED_EXIT [CHECK...] -- PVVMM run ARGS...
# Runs `PVVMM run ARGS --stats=json --stats-file F` on the selected backend
# (scripts/backend.sh) and passes if it exits EXPECTED_EXIT and F is a valid
# pvvmm-stats document in which every CHECK holds (check_stats_json.py).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/backend.sh
. "$here/../../scripts/backend.sh"
want=$1
shift
checks=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do checks+=("$1"); shift; done
shift
stats=$(mktemp "${TMPDIR:-/tmp}/pvvmm-stats.XXXXXX.json")
trap 'rm -f "$stats"' EXIT
backend_select "${PVVMM_BIN:-$1}" || exit 1
backend_describe
backend_exec -- "$@" --stats=json --stats-file "$stats"
rc=$?
[ "$rc" = "$want" ] || { echo "FAIL: exit status $rc, expected $want"; exit 1; }
python3 "$here/check_stats_json.py" "$stats" "${checks[@]}" || { echo "FAIL: the statistics:"; cat "$stats"; exit 1; }
echo "ok: exit $rc, statistics hold: ${checks[*]}"
