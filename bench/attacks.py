#!/usr/bin/python3
"""The attacks of issue #20 items 3 and 4, against a tarmac binary.

    bench/attacks.py BIN [filter|expand|realtime|slow|all] [extra serve flags...]
    RT_FILTER="tags.items_via_tags.name ~ 'zz%d_%d'" bench/attacks.py BIN realtime
    SAMPLE=45 bench/attacks.py BIN slow --query-budget=0 --max-expand=0 --max-expand-bytes=0

Starts BIN with --workers=1 on a fresh data directory, loads the review's
data set through the batch API (1,000 tags; 100 items, each related to every
tag), then:
  filter    a guest's 20-term back-relation filter on tags, and /api/health
            sent 0.3 s later on another connection: status, time, server CPU
  expand    a guest's tags?perPage=1000&expand=items_via_tags: bytes and time
  realtime  10 SSE guests subscribe 1,000 distinct filtered items/* topics
            each (RT_FILTER, %d_%d numbered); one item is created: the
            server CPU its fan-out costs
  slow      4 guests with SO_RCVBUF 4096 ask tags?perPage=150&expand=
            items_via_tags and never read: server RSS over SAMPLE seconds (15)
Run one at a time on an otherwise idle core; figures in docs/benchmarks.md.
"""
import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "lib"))
from tarmac import Server, run_cli  # noqa

BIN = os.path.abspath(sys.argv[1])
WHAT = sys.argv[2] if len(sys.argv) > 2 else "all"
EXTRA = sys.argv[3:]


def req(srv, method, path, body=None, token=None, timeout=600):
    c = http.client.HTTPConnection(srv.host, srv.port, timeout=timeout)
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = token
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def setup(srv, ntags=1000, nitems=100):
    rc, out, err = run_cli(BIN, ["superuser", "upsert", "su@example.com", "password123",
                                 "--dir=" + srv.datadir])
    assert rc == 0, err
    st, b = req(srv, "POST", "/api/collections/_superusers/auth-with-password",
                {"identity": "su@example.com", "password": "password123"})
    tok = json.loads(b)["token"]
    st, b = req(srv, "POST", "/api/collections", {
        "name": "tags", "type": "base", "listRule": "", "viewRule": "",
        "fields": [{"name": "name", "type": "text"}]}, tok)
    assert st == 200, b
    tags_id = json.loads(b)["id"]
    st, b = req(srv, "POST", "/api/collections", {
        "name": "items", "type": "base", "listRule": "", "viewRule": "",
        "fields": [{"name": "name", "type": "text"},
                   {"name": "tags", "type": "relation", "collectionId": tags_id,
                    "maxSelect": 2000}]}, tok)
    assert st == 200, b
    ids = []
    for start in range(0, ntags, 50):
        reqs = [{"method": "POST", "url": "/api/collections/tags/records",
                 "body": {"name": "tag%d" % i}} for i in range(start, min(ntags, start + 50))]
        st, b = req(srv, "POST", "/api/batch", {"requests": reqs}, tok)
        assert st == 200, b[:300]
        ids += [x["body"]["id"] for x in json.loads(b)]
    for start in range(0, nitems, 25):
        reqs = [{"method": "POST", "url": "/api/collections/items/records",
                 "body": {"name": "item%d" % i, "tags": ids}} for i in range(start, min(nitems, start + 25))]
        st, b = req(srv, "POST", "/api/batch", {"requests": reqs}, tok)
        assert st == 200, b[:300]
    return tok


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def attack_filter(srv):
    f = " || ".join("items_via_tags.name ~ 'zz%d'" % i for i in range(20))
    path = "/api/collections/tags/records?filter=" + urllib.parse.quote(f)
    res = {}

    def run():
        t0 = time.monotonic()
        st, b = req(srv, "GET", path)
        res["t"] = time.monotonic() - t0
        res["st"] = st
        res["b"] = b[:200]
    cpu0 = cpu_seconds(srv.proc.pid)
    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    st, b = req(srv, "GET", "/api/health")
    health = time.monotonic() - t0
    th.join()
    print("filter: status=%s time=%.2fs cpu=%.2fs health=%.2fs(%d) body=%r" % (
        res["st"], res["t"], cpu_seconds(srv.proc.pid) - cpu0, health, st, res["b"]))


def attack_expand(srv):
    path = "/api/collections/tags/records?perPage=1000&expand=items_via_tags"
    c = socket.create_connection((srv.host, srv.port))
    c.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
    t0 = time.monotonic()
    n = 0
    first = b""
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        if len(first) < 300:
            first += d[:300]
        n += len(d)
    print("expand: bytes=%d time=%.2fs head=%r" % (n, time.monotonic() - t0, first[-120:]))


def sse_client(srv):
    s = socket.create_connection((srv.host, srv.port))
    s.sendall(b"GET /api/realtime HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while b"PB_CONNECT" not in buf or b"\n\n" not in buf.split(b"PB_CONNECT", 1)[1]:
        buf += s.recv(65536)
    cid = json.loads(buf.split(b"data:", 1)[1].split(b"\n", 1)[0])["clientId"]
    return s, cid


def attack_realtime(srv, tok):
    socks = []
    answers = []
    for g in range(10):
        s, cid = sse_client(srv)
        socks.append(s)
        subs = []
        for i in range(1000):
            flt = os.environ.get("RT_FILTER", "tags.name ~ 'zz%d_%d'")
            opts = json.dumps({"query": {"filter": flt.replace("%d_%d", "%d_%d" % (g, i))}})
            subs.append("items/*?options=" + urllib.parse.quote(opts))
        st, b = req(srv, "POST", "/api/realtime", {"clientId": cid, "subscriptions": subs})
        answers.append(st)
    print("realtime: subscribe answers", answers)
    for s in socks:
        s.setblocking(False)
    ids = json.loads(req(srv, "GET", "/api/collections/tags/records?perPage=5")[1])["items"]
    cpu0 = cpu_seconds(srv.proc.pid)
    t0 = time.monotonic()
    st, b = req(srv, "POST", "/api/collections/items/records",
                {"name": "new", "tags": [x["id"] for x in ids]}, tok)
    # wait until the server is idle again
    last = cpu_seconds(srv.proc.pid)
    while True:
        time.sleep(0.5)
        now = cpu_seconds(srv.proc.pid)
        if now - last < 0.02:
            break
        last = now
    print("realtime: write status=%d cpu per write=%.2fs wall=%.2fs" % (
        st, cpu_seconds(srv.proc.pid) - cpu0, time.monotonic() - t0))
    for s in socks:
        s.close()


def attack_slow(srv):
    path = "/api/collections/tags/records?perPage=150&expand=items_via_tags"
    before = rss_mib(srv.proc.pid)
    socks = []
    for i in range(4):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((srv.host, srv.port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        socks.append(s)
    peak = before
    t0 = time.monotonic()
    while time.monotonic() - t0 < float(os.environ.get("SAMPLE", "15")):
        peak = max(peak, rss_mib(srv.proc.pid))
        time.sleep(0.1)
    print("slow: rss before=%.1f MiB peak=%.1f MiB (+%.1f)" % (before, peak, peak - before))
    for s in socks:
        s.close()


srv = Server(BIN, ["--workers=1", "--access-log=false"] + EXTRA)
srv.start()
try:
    t0 = time.monotonic()
    tok = setup(srv)
    print("setup %.1fs, rss %.1f MiB" % (time.monotonic() - t0, rss_mib(srv.proc.pid)))
    if WHAT in ("filter", "all"):
        attack_filter(srv)
    if WHAT in ("expand", "all"):
        attack_expand(srv)
    if WHAT in ("realtime", "all"):
        attack_realtime(srv, tok)
    if WHAT in ("slow", "all"):
        attack_slow(srv)
finally:
    print(srv.stderr_text()[-1500:])
    srv.cleanup()
