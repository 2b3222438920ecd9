#!/usr/bin/python3
"""Server instructions per request, counted by callgrind (deterministic, unlike
wall-clock figures on a shared VM without hardware counters).

    bench/ir.py [--bin build/release/tarmac] [--requests 2000] [--scenarios get,list,...]

Loads a data set through the API into a fresh data directory (2,000 posts of
~500 characters by 100 users, as ../shared/bench's posts), then starts the
server under `valgrind --tool=callgrind --instr-atstart=no` with one worker,
switches instrumentation on (callgrind_control -i on) only around each scenario's
requests, sent on one keep-alive connection, and prints instructions per request
(the dump's total Ir / requests). Scenarios:

  health  GET /api/health
  get     GET /api/collections/posts/records/{id}, ids in a fixed order
  list    the shared bench's list: ?page=P&perPage=20&sort=-created&filter=(published=true),
          P cycling 1..50 (after the first round, pages come from the page cache)
  filter  ?perPage=20&filter=(views>N)&sort=-created with N cycling 0..999 (count + page, no cache)
  expand  ?page=P&perPage=20&expand=author (not cacheable: 20 rows and 20 expansions)

Run one binary at a time; compare two binaries by running this twice.
"""

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from tarmac import run_cli  # noqa: E402

SU = ("ir@example.com", "ir-pass-1234")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Client:
    """Keep-alive HTTP/1.1 on one socket; reads Content-Length or chunked bodies."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=600)
        self.buf = b""

    def _need(self, n):
        while len(self.buf) < n:
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError
            self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._need(len(self.buf) + 1)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def request(self, method, path, body=None, token=None):
        head = "%s %s HTTP/1.1\r\nHost: bench\r\n" % (method, path)
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(data)
        if token:
            head += "Authorization: %s\r\n" % token
        self.s.sendall(head.encode() + b"\r\n" + data)
        status = int(self._line().split()[1])
        headers = {}
        while True:
            line = self._line()
            if not line:
                break
            k, v = line.split(b":", 1)
            headers[k.strip().lower()] = v.strip()
        if headers.get(b"transfer-encoding") == b"chunked":
            out = b""
            while True:
                n = int(self._line(), 16)
                if n == 0:
                    self._line()
                    break
                self._need(n + 2)
                out += self.buf[:n]
                self.buf = self.buf[n + 2:]
            return status, out
        n = int(headers.get(b"content-length", b"0"))
        self._need(n)
        out, self.buf = self.buf[:n], self.buf[n:]
        return status, out


def wait_up(port, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited rc=%s" % proc.returncode)
        try:
            c = Client(port)
            if c.request("GET", "/api/health")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def load(binary, datadir):
    rc, out, err = run_cli(binary, ["superuser", "upsert", SU[0], SU[1], "--dir=" + datadir])
    if rc:
        raise RuntimeError(err)
    port = free_port()
    proc = subprocess.Popen([binary, "serve", "--http=127.0.0.1:%d" % port, "--dir=" + datadir,
                             "--workers=1", "--access-log=false"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(port, proc)
        c = Client(port)
        st, b = c.request("POST", "/api/collections/_superusers/auth-with-password",
                          {"identity": SU[0], "password": SU[1]})
        tok = json.loads(b)["token"]
        st, b = c.request("POST", "/api/collections", {
            "name": "authors", "type": "base", "listRule": "", "viewRule": "",
            "fields": [{"name": "name", "type": "text"}]}, tok)
        authors_id = json.loads(b)["id"]
        st, b = c.request("POST", "/api/collections", {
            "name": "posts", "type": "base", "listRule": "", "viewRule": "",
            "fields": [{"name": "title", "type": "text"},
                       {"name": "body", "type": "text"},
                       {"name": "author", "type": "relation", "collectionId": authors_id,
                        "maxSelect": 1},
                       {"name": "published", "type": "bool"},
                       {"name": "views", "type": "number"},
                       {"name": "created", "type": "autodate", "onCreate": True}],
            "indexes": ["CREATE INDEX idx_posts_pub ON posts (published, created)"]}, tok)
        if st != 200:
            raise RuntimeError(b)
        rnd = random.Random(7)
        authors = []
        for i in range(0, 100, 50):
            reqs = [{"method": "POST", "url": "/api/collections/authors/records",
                     "body": {"name": "author%d" % k}} for k in range(i, i + 50)]
            authors += [x["body"]["id"] for x in json.loads(
                c.request("POST", "/api/batch", {"requests": reqs}, tok)[1])]
        ids = []
        for i in range(0, 2000, 50):
            reqs = [{"method": "POST", "url": "/api/collections/posts/records", "body": {
                "title": "Post %d" % k,
                "body": "".join(rnd.choice("abcdefghij ") for _ in range(500)),
                "author": authors[k % 100], "published": rnd.random() < 0.6,
                "views": rnd.randrange(1000)}} for k in range(i, i + 50)]
            st, b = c.request("POST", "/api/batch", {"requests": reqs}, tok)
            if st != 200:
                raise RuntimeError(b[:300])
            ids += [x["body"]["id"] for x in json.loads(b)]
        return ids
    finally:
        proc.terminate()
        proc.wait(60)


def paths(scenario, ids, n):
    if scenario == "health":
        return ["/api/health"] * n
    if scenario == "get":
        return ["/api/collections/posts/records/%s" % ids[(i * 7919) % len(ids)] for i in range(n)]
    if scenario == "list":
        return ["/api/collections/posts/records?page=%d&perPage=20&sort=-created"
                "&filter=%%28published%%3Dtrue%%29" % (i % 50 + 1) for i in range(n)]
    if scenario == "filter":
        return ["/api/collections/posts/records?perPage=20&sort=-created"
                "&filter=%%28views%%3E%d%%29" % (i % 1000) for i in range(n)]
    if scenario == "expand":
        return ["/api/collections/posts/records?page=%d&perPage=20&expand=author" % (i % 50 + 1)
                for i in range(n)]
    raise SystemExit("unknown scenario " + scenario)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "tarmac"))
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--scenarios", default="health,get,list,filter,expand")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="tarmac-ir-")
    try:
        datadir = os.path.join(work, "data")
        ids = load(binary, datadir)
        port = free_port()
        out = os.path.join(work, "callgrind.out")
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             "--callgrind-out-file=" + out + ".%p", binary, "serve",
             "--http=127.0.0.1:%d" % port, "--dir=" + datadir, "--workers=1",
             "--access-log=false"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_up(port, proc, timeout=300)
            c = Client(port)
            for scenario in args.scenarios.split(","):
                todo = paths(scenario, ids, args.requests)
                for p in todo[:50]:  # warm the statement caches outside the count
                    c.request("GET", p)
                subprocess.run(["callgrind_control", "-z", str(proc.pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                for p in todo:
                    st, _ = c.request("GET", p)
                    if st != 200:
                        raise RuntimeError("%s: %d" % (p, st))
                subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                subprocess.run(["callgrind_control", "-d", scenario, str(proc.pid)],
                               capture_output=True, check=True)
                time.sleep(0.5)
                files = sorted(f for f in os.listdir(work) if f.startswith("callgrind.out"))
                total = 0
                for f in files:
                    with open(os.path.join(work, f)) as fh:
                        text = fh.read()
                    if "desc: Trigger: dump %s\n" % scenario not in text:
                        continue
                    for line in text.splitlines():
                        if line.startswith("totals:"):
                            total = int(line.split()[1])
                    os.remove(os.path.join(work, f))
                print("%-7s %10.0f instructions/request  (%d requests)" % (
                    scenario, total / len(todo), len(todo)))
                sys.stdout.flush()
        finally:
            proc.terminate()
            proc.wait(120)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
