#!/bin/bash
# Fails if the linked monitor contains an instruction this machine's KVM
# cannot execute in ring 0 (kvm-host.md): int3/int N/int1, rdtscp, xgetbv,
# xsave*, invpcid, stac/clac, popcnt, lzcnt/tzcnt, lar, sysenter, AVX (VEX)
# and BMI instructions. The one exception: invpcid inside monitor::cpu::invpcid,
# which the monitor calls only when CPUID reports INVPCID (XPTI with PCIDs).
set -euo pipefail
elf=$1
full=$(objdump -d --no-show-raw-insn "$elf")
dis=$(printf '%s\n' "$full" |
	awk -F'\t' '/^[0-9a-f]+ <.*>:$/ {allowed = ($0 ~ /<_ZN7monitor3cpu7invpcidEmmm>:/)}
	             NF>=2 && !(allowed && $2 ~ /^invpcid/) {print $2}')
grep -q '<_ZN7monitor3cpu7invpcidEmmm>:' <<<"$full" || { echo "FAIL: monitor::cpu::invpcid not found (renamed?)"; exit 1; }
[ -n "$dis" ] || { echo "FAIL: no code disassembled from $elf"; exit 1; }
bad=$(printf '%s\n' "$dis" | grep -Ew '^(int3|int|int1|icebp|rdtscp|xgetbv|xsave|xsaves|xsavec|xsaveopt|xrstor|xrstors|invpcid|stac|clac|popcnt|lzcnt|tzcnt|lar|sysenter|andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx)\b|^v[a-z]' || true)
if [ -n "$bad" ]; then
	echo "FAIL: forbidden ring-0 instructions in $elf:"; printf '%s\n' "$bad" | sort | uniq -c
	exit 1
fi
echo "ok: $(printf '%s\n' "$dis" | wc -l) instructions checked, none forbidden"
