#!/bin/bash
# Installs what pvvmm needs on Debian 12 (as root), only what is missing.
# usage: scripts/setup.sh [--nested]   (--nested: also the real-x86 KVM runners, QEMU and Bochs)
set -euo pipefail
pkgs=(meson ninja-build g++ pkg-config python3 libfmt-dev libspdlog-dev libcli11-dev catch2 libxen-dev binutils clang-format git
	zlib1g-dev liblzma-dev libbz2-dev libzstd-dev liblz4-dev xz-utils zstd lz4)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: missing packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = --nested ]; then
	"$(dirname "$0")/nested/setup.sh" --bochs
fi
