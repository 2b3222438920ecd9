"""Descriptor exhaustion against a running tarmac (issue #20 item 2).

Used by tests/http/run.py (the regression test) and bench/fd-exhaustion.py
(the figures).  Only ever targets loopback.  The attack: slow-body
connections ("holders") from a few source addresses (127.0.0.2, ...: all
loopback on Linux) until the server has no descriptor left, plus a connect
flood from other addresses; then everything leaves.  What is measured: the
server's CPU (utime + stime from /proc/PID/stat) while under attack and once
it is over, whether connections it had accepted still time out meanwhile, and
how long /api/health takes once the attacker has left.
"""

import os
import socket
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of pid (all threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_share(pid, seconds=1.0):
    """The server's CPU use over `seconds`, as a share of one core."""
    t0 = time.monotonic()
    c0 = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def connect_from(src, host, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((src, 0))
        s.settimeout(timeout)
        s.connect((host, port))
    except OSError:
        s.close()
        raise
    return s


def health(host, port, timeout):
    """GET /api/health on a fresh connection: (status or None, seconds)."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return None, time.monotonic() - t0
    try:
        s.settimeout(max(0.05, timeout - (time.monotonic() - t0)))
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        if data.startswith(b"HTTP/1.1 "):
            return int(data[9:12]), time.monotonic() - t0
        return None, time.monotonic() - t0
    except OSError:
        return None, time.monotonic() - t0
    finally:
        s.close()


def first_health(host, port, limit, attempt=0.25):
    """Seconds until GET /api/health first answers 200, trying on fresh
    connections of `attempt` seconds each (a SYN the kernel dropped while
    the listener's queue was full is retried after a whole second; a new
    connection is not); None if not within limit."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        st, dt = health(host, port, attempt)
        if st == 200:
            return time.monotonic() - t0
        if dt < attempt:
            time.sleep(attempt - dt)
    return None


class Attack:
    """Holders from holder_ips (per_ip each) trickling a body, a connect
    flood from flood_ips; start(), then release()."""

    def __init__(self, host, port, holder_ips, per_ip, flood_ips,
                 flood_threads=4, trickle_every=0.5):
        self.host, self.port = host, port
        self.holder_ips, self.per_ip = holder_ips, per_ip
        self.flood_ips, self.flood_threads = flood_ips, flood_threads
        self.trickle_every = trickle_every
        self.holders = []
        self.stop = threading.Event()
        self.threads = []
        self.flood_connects = 0
        self.lock = threading.Lock()

    def open_holders(self):
        head = (b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: 100000\r\n\r\n")
        for ip in self.holder_ips:
            for _ in range(self.per_ip):
                try:
                    s = connect_from(ip, self.host, self.port, 2.0)
                    s.sendall(head + b"x")
                except OSError:
                    continue  # the kernel's queue is full: enough
                self.holders.append(s)
        return len(self.holders)

    def _trickle(self):
        while not self.stop.wait(self.trickle_every):
            for s in list(self.holders):
                try:
                    s.send(b"x", socket.MSG_DONTWAIT)
                except OSError:
                    pass

    def _flood(self, ip):
        while not self.stop.is_set():
            try:
                s = connect_from(ip, self.host, self.port, 0.3)
            except OSError:
                time.sleep(0.01)
                continue
            with self.lock:
                self.flood_connects += 1
            s.close()

    def start(self):
        self.open_holders()
        t = threading.Thread(target=self._trickle, daemon=True)
        t.start()
        self.threads.append(t)
        for i in range(self.flood_threads):
            ip = self.flood_ips[i % len(self.flood_ips)]
            t = threading.Thread(target=self._flood, args=(ip,), daemon=True)
            t.start()
            self.threads.append(t)

    def release(self):
        self.stop.set()
        for t in self.threads:
            t.join(5)
        for s in self.holders:
            s.close()
        self.holders = []
