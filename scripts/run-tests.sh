#!/bin/bash
# Runs every meson test and prints one summary line last:
#   N passed, M failed[, K skipped]
set -uo pipefail
BUILD=${1:-build}
meson test -C "$BUILD" --print-errorlogs --num-processes 2 >"$BUILD/test-output.txt" 2>&1
rc=$?
grep -E "^ *[0-9]+/[0-9]+ " "$BUILD/test-output.txt"
if [ $rc -ne 0 ]; then sed -n '/^--- /,$p' "$BUILD/test-output.txt" | head -200; fi
python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
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
