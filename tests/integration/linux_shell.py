#!/usr/bin/env python3
"""Debian's kernel's busybox shell on a terminal, end to end, where pvvmm
runs (linux_shell.sh runs this through the selected backend).

usage: linux_shell.py PVVMM VMLINUZ INITRD [PVVMM_RUN_OPTIONS...]

Starts `pvvmm run --initrd INITRD --cmdline "console=hvc0 quiet" VMLINUZ`
on a pseudo-terminal, waits for the shell's prompt, types a command whose
output only the shell can produce, then `poweroff -f`: pvvmm must exit 0
and leave the terminal's settings as they were. Prints what it saw and one
"ok: ..." line; exit 1 on any mismatch.
"""
import os
import pty
import select
import sys
import termios
import time


def fail(msg, seen=b""):
    sys.stdout.write(seen.decode(errors="replace"))
    print(f"\nFAIL: {msg}")
    sys.exit(1)


def read_until(fd, want, seen, limit):
    deadline = time.monotonic() + limit
    while want not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            fail(f"no {want!r} within {limit} s", seen)
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            fail(f"pvvmm's terminal closed before {want!r}", seen)
        seen += chunk
    return seen


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    pvvmm, vmlinuz, initrd = sys.argv[1:4]
    argv = [pvvmm, "run", "--memory", "512M", "--timeout", "300", "--initrd", initrd, "--cmdline",
            "console=hvc0 quiet", *sys.argv[4:], vmlinuz]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(pvvmm, argv)
    before = termios.tcgetattr(fd)
    seen = read_until(fd, b"/ # ", b"", 240)
    os.write(fd, b"echo sum=$((40 + 2)) on $(uname -m)\r")
    seen = read_until(fd, b"sum=42 on x86_64", seen, 60)
    os.write(fd, b"poweroff -f\r")
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            fail("pvvmm did not exit after poweroff -f", seen)
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                pass
    after = termios.tcgetattr(fd)
    sys.stdout.write(seen.decode(errors="replace"))
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        fail(f"pvvmm exited with {code} after poweroff -f")
    if after != before:
        fail("the terminal's settings changed")
    print("\nok: a busybox shell on hvc0 under Debian's kernel, on a terminal; poweroff -f ended pvvmm with 0")


main()
