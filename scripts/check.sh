#!/bin/bash
# make check: set up what is missing (apt-get, as root; the nested
# emulators), build, and run every test (scripts/run-tests.sh). The set-up
# and build output goes to BUILD/check-setup.log and is shown only when
# they fail, so that the first line printed is the backend the tests use.
# usage: scripts/check.sh [BUILD]
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
mkdir -p "$BUILD"
log=$BUILD/check-setup.log
{
	scripts/setup.sh --nested &&
		{ [ -f "$BUILD/build.ninja" ] || meson setup "$BUILD"; } &&
		ninja -C "$BUILD"
} >"$log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	tail -n 60 "$log"
	echo "check: set-up or build failed (exit $rc); the whole log is $log"
	echo "0 passed, 1 failed"
	exit 1
fi
exec scripts/run-tests.sh "$BUILD"
