#!/bin/bash
# usage: linux_shell.sh SOURCE_ROOT BUILD [PVVMM_RUN_OPTIONS...]
# Builds (or reuses) scripts/linux-guest's shell initramfs here, then runs
# linux_shell.py where pvvmm can use KVM (expect_run.sh's backend).
set -euo pipefail
src=$1 build=$2
shift 2
mapfile -t paths < <("$src/scripts/linux-guest" -b "$build" -p)
[ ${#paths[@]} = 2 ] || { echo "FAIL: scripts/linux-guest -p gave no kernel and initramfs" >&2; exit 1; }
exec "$src/tests/integration/expect_run.sh" 0 'ok: a busybox shell' -- \
	python3 "$src/tests/integration/linux_shell.py" "$build/pvvmm" "${paths[0]}" "${paths[1]}" "$@"
