#!/usr/bin/env python3
"""The PV console's input half, end to end, where pvvmm runs (expect_run.sh
runs this through the selected backend).

usage: console_input.py pipe|spin|pty|pty-escape|pty-signal PVVMM DEMO_ELF

  pipe        bytes piped into pvvmm's stdin reach the demo guest's console
              ring (`--cmdline echo` echoes them; 'q' powers it off): exit 0
  spin        input reaches a guest that spins in its own code, with no
              hypercall or fault (`--cmdline spin_for_input`): only the
              host's kick, an interrupt into the running vCPU, brings it in
  pty         the same through a terminal: pvvmm puts it in raw mode, keys
              reach the guest one by one, and the terminal's settings are
              as before once pvvmm has exited
  pty-escape  Ctrl-] on the terminal stops the guest (exit status 7) and
              leaves the terminal as it was
  pty-signal  SIGTERM to pvvmm on the terminal: it dies of it, and the
              terminal is as it was
Prints what it saw and one "ok: ..." line; exit 1 on any mismatch.
"""
import os
import pty
import select
import subprocess
import sys
import termios
import time


def fail(msg, seen=b""):
    sys.stdout.write(seen.decode(errors="replace"))
    print(f"\nFAIL: {msg}")
    sys.exit(1)


def spin(pvvmm, demo):
    p = subprocess.Popen([pvvmm, "run", "--timeout", "60", "--cmdline", "spin_for_input", demo], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = b""
    while b"demo: spinning" not in seen:
        chunk = p.stdout.read1(4096)
        if not chunk:
            fail("the guest never started spinning", seen)
        seen += chunk
    time.sleep(1)  # well into its loop
    p.stdin.write(b"x")
    p.stdin.flush()
    out, _ = p.communicate(timeout=120)
    seen += out
    sys.stdout.write(seen.decode(errors="replace"))
    if p.returncode != 0 or b"demo: input noticed while spinning" not in seen:
        fail(f"exit status {p.returncode}: the spinning guest did not see the input")
    print("ok: input reached a guest spinning in its own code")


def pipe(pvvmm, demo):
    p = subprocess.run([pvvmm, "run", "--timeout", "60", "--cmdline", "echo", demo], input=b"hello from a pipe q",
                       capture_output=True, timeout=120)
    out = p.stdout + p.stderr
    sys.stdout.write(out.decode(errors="replace"))
    if p.returncode != 0:
        fail(f"exit status {p.returncode}")
    if b"hello from a pipe" not in p.stdout or b"demo: echo done" not in p.stdout:
        fail("the piped bytes did not come back from the guest")
    print("ok: piped input reached the guest and came back")


class Terminal:
    """pvvmm on a pty of its own (its controlling terminal)."""

    def __init__(self, argv):
        self.master, self.slave = os.openpty()
        self.before = termios.tcgetattr(self.slave)
        self.seen = b""
        self.pid = os.fork()
        if self.pid == 0:
            os.setsid()
            os.close(self.master)
            import fcntl
            fcntl.ioctl(self.slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(self.slave, fd)
            os.execv(argv[0], argv)

    def expect(self, text, limit=60):
        deadline = time.monotonic() + limit
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"no {text!r} within {limit} s", self.seen)
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b""
                if not data:
                    fail(f"pvvmm closed the terminal before {text!r}", self.seen)
                self.seen += data

    def send(self, data):
        os.write(self.master, data)

    def finish(self, limit=60):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                after = termios.tcgetattr(self.slave)
                return os.waitstatus_to_exitcode(status), after
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:
                    pass
        os.kill(self.pid, 9)
        fail("pvvmm did not exit", self.seen)


def on_terminal(pvvmm, demo, escape):
    t = Terminal([pvvmm, "run", "--timeout", "60", "--cmdline", "echo", demo])
    t.expect(b"Ctrl-] stops it")
    t.expect(b"demo: echo: type")
    for ch in b"typed":  # one key at a time, as a person types
        t.send(bytes([ch]))
        time.sleep(0.05)
    t.expect(b"typed")
    if escape == "signal":
        os.kill(t.pid, 15)
        rc, after = t.finish()
        sys.stdout.write(t.seen.decode(errors="replace"))
        if rc != -15:
            fail(f"exit status {rc} after SIGTERM, expected death by signal 15")
    elif escape:
        t.send(b"\x1d")
        rc, after = t.finish()
        sys.stdout.write(t.seen.decode(errors="replace"))
        if rc != 7:
            fail(f"exit status {rc} after Ctrl-], expected 7")
        if b"stopped from the console" not in t.seen:
            fail("no word of the stop")
    else:
        t.send(b"q")
        t.expect(b"demo: echo done")
        rc, after = t.finish()
        sys.stdout.write(t.seen.decode(errors="replace"))
        if rc != 0:
            fail(f"exit status {rc}")
    if after != t.before:
        fail(f"the terminal was left changed: {t.before} before, {after} after")
    how = {"signal": "SIGTERM ended it", True: "Ctrl-] stopped it", False: "it powered off"}[escape]
    print(f"ok: keys reached the guest, {how}, terminal restored")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("pipe", "spin", "pty", "pty-escape", "pty-signal"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    mode, pvvmm, demo = sys.argv[1:]
    if mode == "pipe":
        pipe(pvvmm, demo)
    elif mode == "spin":
        spin(pvvmm, demo)
    else:
        on_terminal(pvvmm, demo, {"pty": False, "pty-escape": True, "pty-signal": "signal"}[mode])


if __name__ == "__main__":
    main()
