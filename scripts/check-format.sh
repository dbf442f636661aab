#!/bin/bash
# Fails if any C++ file in the tree differs from .clang-format's style.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
bad=()
for f in "${files[@]}"; do
	clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
	echo "not formatted (run: clang-format -i ${bad[*]}):"
	printf '  %s\n' "${bad[@]}"
	exit 1
fi
echo "ok: ${#files[@]} files formatted"
