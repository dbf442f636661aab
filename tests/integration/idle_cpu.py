#!/usr/bin/env python3
"""A blocked guest costs the host (almost) nothing, where pvvmm runs
(expect_run.sh runs this on the selected backend).

usage: idle_cpu.py PVVMM DEMO_ELF SECONDS MAX_PERCENT

Runs the demo guest with `--cmdline block=SECONDS` (it sleeps in
SCHEDOP_poll: the vCPU halts in KVM) and samples pvvmm's CPU time (user +
system of all its threads, /proc/PID/stat) 1 s after the start and 1 s
before the end of the block, so the start-up is left out. Prints the
figures and "ok: ..." when that CPU is under MAX_PERCENT of one core.
"""
import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    pvvmm, demo, seconds, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    if seconds < 3:
        print("idle_cpu.py: SECONDS must be at least 3")
        sys.exit(2)
    p = subprocess.Popen([pvvmm, "run", "--timeout", str(seconds + 60), "--cmdline", f"block={seconds}", demo],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(1.5)  # boot and into the block
    t0, c0 = time.monotonic(), cpu_seconds(p.pid)
    time.sleep(seconds - 2.5)
    t1, c1 = time.monotonic(), cpu_seconds(p.pid)
    out, _ = p.communicate(timeout=seconds + 120)
    sys.stdout.write(out.decode(errors="replace"))
    if p.returncode != 0 or b"demo: blocked" not in out:
        print(f"FAIL: the block={seconds} run ended with status {p.returncode}")
        sys.exit(1)
    percent = 100.0 * (c1 - c0) / (t1 - t0)
    print(f"while blocked: {c1 - c0:.3f} s CPU in {t1 - t0:.2f} s = {percent:.2f}% of a core "
          f"(resolution {1 / TICK:.3f} s)")
    if percent >= limit:
        print(f"FAIL: {percent:.2f}% of a core while blocked, limit {limit}%")
        sys.exit(1)
    print(f"ok: a guest blocked for {seconds} s used {percent:.2f}% of a core while blocked (limit {limit}%)")


if __name__ == "__main__":
    main()
