#!/usr/bin/env python3
"""systemd's notify protocol without systemd (docs/server.md, "Running
under systemd"): bind a unix datagram socket, start the real server with
NOTIFY_SOCKET and WATCHDOG_USEC set, and check what it says and when.

usage: notify_harness.py WORKDIR PORT -- COMMAND...
Prints one line per check ("ok ..." or "FAIL ..."); exit 1 on a failure.
"""
import os
import signal
import socket
import subprocess
import sys
import time

work, port = sys.argv[1], int(sys.argv[2])
cmd = sys.argv[sys.argv.index("--") + 1:]
path = os.path.join(work, "notify.sock")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o777)  # the server sends after it dropped root
sock.settimeout(0.2)
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    failures += 0 if cond else 1


def accepts():
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
env.pop("WATCHDOG_PID", None)
log = open(os.path.join(work, "notify-server.log"), "w")
proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
msgs = []  # (time, message)


def collect(seconds, until=None):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            continue
        msgs.append((time.monotonic(), data))
        if until is not None and until(data):
            return data
    return None


# READY=1: the port must accept connections when it arrives.
ready = collect(120, lambda m: "READY=1" in m.split("\n"))
check(ready is not None, "READY=1 received")
check(accepts(), "the port accepts connections once READY=1 is sent")
check(not any("WATCHDOG=1" in m for _, m in msgs if "READY=1" in m),
      "READY=1 is a message of its own")
check(any(l.startswith("STATUS=listening") for l in ready.split("\n"))
      if ready else False, "STATUS= says it listens: %r" % ready)
# WATCHDOG=1 every half of WATCHDOG_USEC (0.5 s): about 6 in 3 s.
t0 = time.monotonic()
collect(3)
pings = [t for t, m in msgs if t >= t0 and "WATCHDOG=1" in m.split("\n")]
check(len(pings) >= 4, "WATCHDOG=1 repeats (%d in 3 s)" % len(pings))
gaps = [b - a for a, b in zip(pings, pings[1:])]
check(gaps and max(gaps) < 0.9, "pings at half the interval (gaps %s)" %
      ["%.2f" % g for g in gaps])
# SIGSTOP: a stuck process pings nothing, and pings again when resumed.
proc.send_signal(signal.SIGSTOP)
t1 = time.monotonic()
collect(1.5)
check(not any(t >= t1 + 0.1 and "WATCHDOG=1" in m for t, m in msgs),
      "no ping while the process is stopped")
proc.send_signal(signal.SIGCONT)
t2 = time.monotonic()
collect(1.5)
check(any(t >= t2 and "WATCHDOG=1" in m for t, m in msgs),
      "pings again once it runs")
# SIGHUP: RELOADING=1, then READY=1 again.
t3 = time.monotonic()
proc.send_signal(signal.SIGHUP)
collect(5, lambda m: "READY=1" in m.split("\n"))
after = [m for t, m in msgs if t >= t3 and "WATCHDOG=1" != m]
reloading = [i for i, m in enumerate(after) if "RELOADING=1" in m]
readies = [i for i, m in enumerate(after) if "READY=1" in m.split("\n")]
check(reloading and readies and reloading[0] < readies[-1],
      "SIGHUP: RELOADING=1 then READY=1 (%r)" % after)
check(any("MONOTONIC_USEC=" in m for m in after),
      "RELOADING=1 carries MONOTONIC_USEC")
# SIGTERM: STOPPING=1, then a clean exit.
proc.send_signal(signal.SIGTERM)
collect(5, lambda m: "STOPPING=1" in m)
check(any("STOPPING=1" in m for _, m in msgs), "STOPPING=1 on SIGTERM")
try:
    rc = proc.wait(30)
except subprocess.TimeoutExpired:
    proc.kill()
    rc = -1
check(rc == 0, "exit status 0 (got %d)" % rc)
sys.exit(1 if failures else 0)
