#!/usr/bin/python3
"""Vector and nearby benchmarks (issue #18), through the API of the release
build on SQLite, one keep-alive connection:

  vectors  N float32 vectors of D dimensions (default 100,000 x 384),
           generated with a fixed seed around C cluster centres (Gaussian
           noise), in a collection with a vector field; Q query vectors
           drawn the same way. Each query asks the 10 nearest (cosine)
           twice: through the approximate index (HNSW, built at first use:
           the run waits for its log line) and with exact=true (every row
           ranked exactly: once the field's in-memory copy is built, a
           brute-force pass over it whose candidates are read back from
           the table; a scan of the table through SQL before that).
           recall@10 = the share of the exact ten the approximate answer
           has; p50/p99 of both; the exact list's rate, N x D x 4 bytes
           over its p50 (the whole request, not the pass alone), against
           this machine's memory read bandwidth (bench/membw.c: the best of
           five passes summing a 1 GiB float array, one thread).
  nearby   P points (default 1,000,000) spread over a 200 x 200 km box in
           a collection with a geoPoint field (an R*Tree); Q queries for the
           10 nearest of a random centre within 3 km
           (filter geoDistance(...) < 3, sort geoDistance(...)).

    bench/vectors.py [--bin build/release/tarmac] [--n 100000] [--dims 384] [--points 1000000] [--queries 500]

Benchmarks are not tests: run it on a quiet machine.
"""
import argparse
import array
import http.client
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evalkit  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pct(values):
    v = sorted(values)
    return v[len(v) // 2] * 1000, v[min(len(v) - 1, int(len(v) * 0.99))] * 1000


def memory_bandwidth():
    """GB/s read by a compiled sum over 1 GiB of floats (best of 5)."""
    work = tempfile.mkdtemp(prefix="tarmac-membw-")
    exe = os.path.join(work, "membw")
    subprocess.run(["cc", "-O2", "-march=native", "-o", exe, os.path.join(ROOT, "bench", "membw.c")],
                   check=True)
    out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    subprocess.run(["rm", "-rf", work])
    return float(out.split()[0])


class Conn:
    def __init__(self, base, token):
        self.c = http.client.HTTPConnection(base.split("//")[1], timeout=300)
        self.token = token

    def get(self, path, query):
        t = time.perf_counter()
        self.c.request("GET", path + "?" + urllib.parse.urlencode(query), headers={"Authorization": self.token})
        r = self.c.getresponse()
        body = r.read()
        dt = time.perf_counter() - t
        if r.status != 200:
            raise SystemExit("%d %s" % (r.status, body[:300]))
        return json.loads(body), dt


def vector(rng, centres, dims, noise):
    c = rng.choice(centres)
    return [x + rng.gauss(0, noise) for x in c]


def bench_vectors(args, rng):
    centres = [[rng.gauss(0, 1) for _ in range(args.dims)] for _ in range(args.clusters)]
    log = tempfile.mktemp(prefix="tarmac-vecbench-", suffix=".log")
    with evalkit.server(args.bin, "tarmac-vecbench-", log=log) as api:
        api.call("PATCH", "/api/settings", {"batch": {"enabled": True, "maxRequests": 1000, "timeout": 300},
                                           "rateLimits": {"enabled": False}})
        api.call("POST", "/api/collections", {"name": "vecs", "type": "base", "listRule": "", "fields": [
            {"name": "emb", "type": "vector", "dimensions": args.dims}]})
        t0 = time.time()
        batch = []
        for i in range(args.n):
            batch.append({"method": "POST", "url": "/api/collections/vecs/records",
                          "body": {"emb": [round(x, 5) for x in vector(rng, centres, args.dims, args.noise)]}})
            if len(batch) == 200 or i == args.n - 1:
                api.call("POST", "/api/batch", {"requests": batch})
                batch = []
        load = time.time() - t0
        conn = Conn(api.base, api.token)
        qs = [json.dumps([round(x, 5) for x in vector(rng, centres, args.dims, args.noise)]) for _ in range(args.queries)]
        base = {"nearest": "emb", "k": 10, "perPage": 10, "skipTotal": 1, "fields": "id"}
        # The first use starts the index's build on its own thread.
        t0 = time.time()
        conn.get("/api/collections/vecs/records", dict(base, to=qs[0]))
        while "vector index built" not in open(log).read():
            if time.time() - t0 > 1800:
                raise SystemExit("the vector index was not built in 30 min")
            time.sleep(0.5)
        build = time.time() - t0
        approx, exact, recall = [], [], 0.0
        for q in qs:
            a, ta = conn.get("/api/collections/vecs/records", dict(base, to=q))
            e, te = conn.get("/api/collections/vecs/records", dict(base, to=q, exact="true"))
            approx.append(ta)
            exact.append(te)
            want = {r["id"] for r in e["items"]}
            recall += len(want & {r["id"] for r in a["items"]}) / max(1, len(want))
    os.unlink(log)
    return load, build, approx, exact, recall / len(qs)


def bench_nearby(args, rng):
    lat0, lon0 = 18.4, 73.7  # a 200 x 200 km box south-west of Pune
    dlat, dlon = 200 / 111.2, 200 / (111.2 * math.cos(math.radians(lat0 + 0.9)))
    with evalkit.server(args.bin, "tarmac-geobench-") as api:
        api.call("PATCH", "/api/settings", {"batch": {"enabled": True, "maxRequests": 1000, "timeout": 300},
                                           "rateLimits": {"enabled": False}})
        api.call("POST", "/api/collections", {"name": "places", "type": "base", "listRule": "", "fields": [
            {"name": "loc", "type": "geoPoint"}]})
        t0 = time.time()
        batch = []
        for i in range(args.points):
            batch.append({"method": "POST", "url": "/api/collections/places/records",
                          "body": {"loc": {"lat": lat0 + rng.random() * dlat, "lon": lon0 + rng.random() * dlon}}})
            if len(batch) == 1000 or i == args.points - 1:
                api.call("POST", "/api/batch", {"requests": batch})
                batch = []
        load = time.time() - t0
        conn = Conn(api.base, api.token)
        lat, found = [], 0
        for _ in range(args.queries):
            y, x = lat0 + rng.random() * dlat, lon0 + rng.random() * dlon
            d = "geoDistance(loc.lon, loc.lat, %.6f, %.6f)" % (x, y)
            got, dt = conn.get("/api/collections/places/records", {
                "filter": d + " < 3", "sort": d, "perPage": 10, "skipTotal": 1, "fields": "id"})
            lat.append(dt)
            found += len(got["items"])
        return load, lat, found / args.queries


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "tarmac"))
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--dims", type=int, default=384)
    ap.add_argument("--clusters", type=int, default=100)
    ap.add_argument("--noise", type=float, default=0.35)
    ap.add_argument("--points", type=int, default=1000000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--only", choices=("vectors", "nearby"), default=None)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    if args.only != "nearby":
        bw = memory_bandwidth()
        load, build, approx, exact, recall = bench_vectors(args, rng)
        a50, a99 = pct(approx)
        e50, e99 = pct(exact)
        gbs = args.n * args.dims * 4 / 1e9 / (e50 / 1000)
        print("vectors: %d x %d float32 around %d centres (seed %d, noise %.2f), loaded in %.0f s, "
              "index built in %.0f s; %d queries, k = 10, cosine" % (
                  args.n, args.dims, args.clusters, args.seed, args.noise, load, build, args.queries))
        print("| list | recall@10 | p50 ms | p99 ms |")
        print("|---|---:|---:|---:|")
        print("| approximate (HNSW) | %.3f | %.2f | %.2f |" % (recall, a50, a99))
        print("| exact scan | 1.000 | %.2f | %.2f |" % (e50, e99))
        print("exact scan: %.2f GB/s at p50 against %.2f GB/s of memory read bandwidth (%.0f%%)" % (
            gbs, bw, gbs / bw * 100))
    if args.only != "vectors":
        load, lat, found = bench_nearby(args, rng)
        p50, p99 = pct(lat)
        print("nearby: %d points over 200 x 200 km, loaded in %.0f s; %d queries, the 10 nearest "
              "within 3 km (%.1f found on average): p50 %.2f ms, p99 %.2f ms" % (
                  args.points, load, len(lat), found, p50, p99))


if __name__ == "__main__":
    sys.exit(main())
