#!/bin/bash
# Fails if any C++ file in the tree differs from .clang-format's style.
# One clang-format process for all files (one per file took 38 s under load).
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if out=$(clang-format --dry-run -Werror "${files[@]}" 2>&1); then
	echo "ok: ${#files[@]} files formatted"
	exit 0
fi
mapfile -t bad < <(printf '%s\n' "$out" | sed -n 's/^\([^: ]*\.[ch]pp\):[0-9]*:[0-9]*: .*/\1/p' | sort -u)
if [ ${#bad[@]} -eq 0 ]; then
	printf '%s\n' "$out" | head -20
	echo "clang-format failed"
	exit 1
fi
echo "not formatted (run: clang-format -i ${bad[*]}):"
printf '  %s\n' "${bad[@]}"
exit 1
