#!/bin/bash
# Runs every meson test of a built tree and prints, in this order: the
# backend the KVM tests use (scripts/backend.sh), one line per test, the
# backend again, and one summary line last:
#   N passed, M failed[, K skipped]
# One pool of emulated machines (scripts/nested/pool: two, one CPU each)
# serves every test that runs nested, for the whole run.
# usage: scripts/run-tests.sh [BUILD]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=backend.sh
. "$here/backend.sh"
BUILD=${1:-build}
BUILD_ABS=$(cd "$BUILD" && pwd)
backend_select "$BUILD/pvvmm" || exit 2
line=$(backend_describe)
echo "$line"
# this tree's own pool, so that two checkouts' test runs never share a machine
PVVMM_POOL_DIR=/tmp/pvvmm-pool-check-$(printf '%s' "$BUILD_ABS" | sha256sum | cut -c1-12)
export PVVMM_POOL_DIR
# make check always runs the nested tests, whatever the backend
if ! "$here/nested/pool" start 2>"$BUILD/pool-start.log"; then
	cat "$BUILD/pool-start.log"
	echo "run-tests: the nested emulated machine did not start"
fi
trap '"$here/nested/pool" stop 2>/dev/null' EXIT
mult=1
[ "$PVVMM_BACKEND" = host ] || mult=2
# suite known-bug: tests of an open issue's known failure (tests/integration/meson.build says which and why)
meson test -C "$BUILD" --print-errorlogs --num-processes 2 --timeout-multiplier "$mult" --no-suite known-bug \
	>"$BUILD/test-output.txt" 2>&1
known_bug=$(meson test -C "$BUILD" --list --suite known-bug 2>/dev/null | grep ' / ' | sed 's/.* \/ //' | tr '\n' ' ')
[ -z "$known_bug" ] || echo "not run (suite known-bug, an open issue's known failure): $known_bug" 
grep -E "^ *[0-9]+/[0-9]+ " "$BUILD/test-output.txt"
echo "$line"
python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    test = json.loads(line)
    r = test["result"]
    if r not in ("OK", "EXPECTEDFAIL", "SKIP"):
        # the failing test's own words, so that a CI log alone says why
        out = (test.get("stdout") or "").splitlines()
        print(f"--- {test['name']}: {r}, last {min(len(out), 60)} of {len(out)} lines of its output ---")
        print("\n".join(out[-60:]))
    if r in ("OK", "EXPECTEDFAIL"):
        counts["OK"] += 1
    elif r == "SKIP":
        counts["SKIP"] += 1
        print("SKIPPED:", json.loads(line)["name"], file=sys.stderr)
    else:
        counts["FAIL"] += 1
line = f"{counts['OK']} passed, {counts['FAIL']} failed"
if counts["SKIP"]:
    line += f", {counts['SKIP']} skipped"
print(line)
sys.exit(1 if counts["FAIL"] else 0)
PY
