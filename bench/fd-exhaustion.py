#!/usr/bin/python3
"""fd-exhaustion.py -- the descriptor-exhaustion attack of issue #20 item 2,
with figures.

    bench/fd-exhaustion.py [--bin BIN] [--nofile 256] [--per-ip 100] [-- extra serve flags]

Starts BIN (default build/release/tarmac) under `prlimit --nofile=N:N` with
two workers, --header-timeout=2s and --body-timeout=5s, opens 20 idle
connections, then 300 slow-body connections from 127.0.0.2-4 (--per-ip 100
each, under the default per-IP cap) trickling a byte every 0.5 s, and a connect flood from
127.0.0.10-11 (4 threads). After 1 s it samples the server's CPU, open
descriptors and /api/health; 5 s after the idle connections were opened it
counts how many the server closed (header timeout: do timers run?). Then
the attacker leaves: it times the first 200 from /api/health (trying a new
connection every 250 ms), samples the CPU over 1 s, and
counts the server's sockets in CLOSE-WAIT. The tests (tests/http/run.py,
fd_exhaustion_*) assert on the same figures.
"""

import argparse
import os
import socket
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.dont_write_bytecode = True

from tarmac import Server  # noqa: E402
import fdflood  # noqa: E402


def close_wait(port):
    """Sockets on local port `port` in CLOSE-WAIT (/proc/net/tcp state 08)."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if int(parts[1].split(":")[1], 16) == port and parts[3] == "08":
                n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "tarmac"))
    ap.add_argument("--nofile", type=int, default=256)
    ap.add_argument("--per-ip", type=int, default=100)
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    srv = Server(os.path.abspath(a.bin),
                 ["--workers=2", "--header-timeout=2s", "--body-timeout=5s"] + a.extra,
                 wrapper=["prlimit", "--nofile=%d:%d" % (a.nofile, a.nofile), "--"],
                 name="fd-exhaustion")
    srv.start()
    pid, host, port = srv.proc.pid, srv.host, srv.port
    try:
        print("server: %s %s, nofile=%d" % (a.bin, " ".join(srv.flags), a.nofile))
        st, dt = fdflood.health(host, port, 2)
        print("idle:     health %s in %.0f ms, cpu %.0f%%, fds %d" % (
            st, dt * 1000, 100 * fdflood.cpu_share(pid), fdflood.open_fds(pid)))
        idle = [socket.create_connection((host, port), timeout=1) for _ in range(20)]
        idle_at = time.monotonic()
        atk = fdflood.Attack(host, port, ["127.0.0.2", "127.0.0.3", "127.0.0.4"], a.per_ip,
                             ["127.0.0.10", "127.0.0.11"])
        atk.start()
        time.sleep(1)
        cpu = fdflood.cpu_share(pid)
        fds = fdflood.open_fds(pid)
        st, dt = fdflood.health(host, port, 2)
        print("attack:   %d holders, cpu %.0f%%, fds %d, health %s in %.0f ms" % (
            len(atk.holders), 100 * cpu, fds, st, dt * 1000))
        closed = 0
        for s in idle:
            s.settimeout(max(0.01, idle_at + 5 - time.monotonic()))
            try:
                if s.recv(1) == b"":
                    closed += 1
            except ConnectionResetError:
                closed += 1
            except OSError:
                pass
            s.close()
        print("          idle connections closed by the header timeout (2s) within 5s: %d of 20"
              % closed)
        print("          flood: %d connects" % atk.flood_connects)
        atk.release()
        dt = fdflood.first_health(host, port, 10)
        print("released: health 200 after %s" % ("none in 10 s" if dt is None else "%.0f ms" % (dt * 1000)))
        time.sleep(0.2)
        print("          cpu over the next 1 s %.0f%%, fds %d, CLOSE-WAIT %d" % (
            100 * fdflood.cpu_share(pid), fdflood.open_fds(pid), close_wait(port)))
        time.sleep(3)
        print("          3 s later: cpu %.0f%%, CLOSE-WAIT %d" % (
            100 * fdflood.cpu_share(pid), close_wait(port)))
        rc = srv.stop(timeout=5)
        print("SIGTERM:  exit code %s" % ("none (hung, killed)" if rc is None else rc))
    finally:
        srv.cleanup()


if __name__ == "__main__":
    main()
