#!/usr/bin/python3
"""Full-text search benchmark (issue #18), on data nobody here wrote: the
descriptions of Debian's packages (`apt-cache dumpavail`: the name, the
description's one line -- the long ones live in Translation files this
machine's apt lists do not have -- and the debtags, e.g. "devel::interpreter,
role::program"). Three systems answer the same seeded queries, top 20 by
relevance, on one keep-alive connection or cursor each:

  tarmac      GET /api/collections/pkgs/records?search=Q&perPage=20&skipTotal=1
              (a collection whose search option weighs name 10, summary 4,
              tags 1, language english), the release build on SQLite;
  fts5        SQLite FTS5 run directly (Python's sqlite3, the same rows, the
              porter + unicode61 tokenizer with accents folded, prefix indexes 2 and 3,
              bm25 with the same weights, the rows read back);
  postgresql  a tsvector column (setweight A/B/D, english) with GIN, queried
              with to_tsquery (the last word as a prefix, :*) and ts_rank,
              ORDER BY rank LIMIT 20, the rows read back (psycopg2), on a
              throwaway cluster (tests/lib/pgcluster.sh), with --pg.

Queries (seeded): half package-name prefixes as typed (2 to 6 letters of a
real name), half words of real descriptions (one or two, the last cut short
as while typing). Reports the load, the index build (tarmac: the collection's
search option added to a loaded collection, so the rebuild alone is timed;
fts5 and PostgreSQL: the index made over the loaded rows), the index size,
and each system's p50 / p99 / mean per query.

    bench/search.py [--bin build/release/tarmac] [--limit N] [--queries 2000] [--seed 5] [--pg]

Benchmarks are not tests: run it on a quiet machine.
"""
import argparse
import http.client
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evalkit  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = (10, 4, 1)  # name, summary, tags


def corpus():
    """[(name, summary, tags)], one per package name."""
    out = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True).stdout
    seen, rows = set(), []
    for block in out.split("\n\n"):
        name = re.search(r"^Package: (\S+)", block, re.M)
        desc = re.search(r"^Description(?:-[a-zA-Z_]+)?: (.*)$", block, re.M)
        tags = re.search(r"^Tag: (.*\n(?: .*\n?)*)", block, re.M)
        if not name or not desc or name.group(1) in seen:
            continue
        seen.add(name.group(1))
        rows.append((name.group(1), desc.group(1).strip(),
                     " ".join(tags.group(1).split()) if tags else ""))
    return rows


def queries(rows, n, rng):
    words = re.compile(r"[A-Za-z]{4,}")
    out = []
    while len(out) < n:
        name, summary, desc = rng.choice(rows)
        if len(out) % 2 == 0:
            letters = re.sub(r"[^a-z0-9]", "", name.lower())
            if len(letters) >= 2:
                out.append(letters[:rng.randint(2, min(6, len(letters)))])
        else:
            ws = words.findall(summary + " " + desc)
            if ws:
                pick = [w.lower() for w in rng.sample(ws, min(len(ws), rng.randint(1, 2)))]
                last = pick[-1]
                pick[-1] = last[:rng.randint(min(3, len(last)), len(last))]
                out.append(" ".join(pick))
    return out


def pct(values):
    v = sorted(values)
    return (v[len(v) // 2] * 1000, v[min(len(v) - 1, int(len(v) * 0.99))] * 1000,
            sum(v) / len(v) * 1000)


def fts_match(q):
    ws = q.split()
    return " ".join('"%s"' % w for w in ws[:-1]) + (" " if len(ws) > 1 else "") + '"%s"*' % ws[-1]


def pg_query(q):
    ws = [re.sub(r"[^a-z0-9]", "", w) for w in q.split()]
    ws = [w for w in ws if w]
    return " & ".join(ws[:-1] + [ws[-1] + ":*"]) if ws else "x"


def bench_tarmac(args, rows, qs):
    with evalkit.server(args.bin, "tarmac-searchbench-") as api:
        api.call("PATCH", "/api/settings", {"batch": {"enabled": True, "maxRequests": 500, "timeout": 120},
                                           "rateLimits": {"enabled": False}})
        api.call("POST", "/api/collections", {"name": "pkgs", "type": "base", "listRule": "", "fields": [
            {"name": "name", "type": "text"}, {"name": "summary", "type": "text"},
            {"name": "tags", "type": "text", "max": 100000}]})
        t0 = time.time()
        api.batch([{"method": "POST", "url": "/api/collections/pkgs/records",
                    "body": {"name": r[0], "summary": r[1], "tags": r[2]}} for r in rows], size=500)
        load = time.time() - t0
        datadir = api.datadir
        pages_before = page_count(os.path.join(datadir, "data.db"))
        t0 = time.time()
        api.call("PATCH", "/api/collections/pkgs", {"search": {"language": "english", "fields": [
            {"name": "name", "weight": WEIGHTS[0]}, {"name": "summary", "weight": WEIGHTS[1]},
            {"name": "tags", "weight": WEIGHTS[2]}]}})
        index = time.time() - t0
        size = (page_count(os.path.join(datadir, "data.db")) - pages_before)
        conn = http.client.HTTPConnection(api.base.split("//")[1])
        lat, hits = [], 0
        for q in qs:
            path = "/api/collections/pkgs/records?" + urllib.parse.urlencode(
                {"search": q, "perPage": 20, "skipTotal": 1})
            t = time.perf_counter()
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            lat.append(time.perf_counter() - t)
            if r.status != 200:
                raise SystemExit("tarmac: %d %s for %r" % (r.status, body[:200], q))
            hits += len(json.loads(body)["items"]) > 0
        return load, index, size, lat, hits


def page_count(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        n, size = db.execute("PRAGMA page_count").fetchone()[0], db.execute("PRAGMA page_size").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        return (n - free) * size
    finally:
        db.close()


def bench_fts5(rows, qs):
    work = tempfile.mkdtemp(prefix="tarmac-fts5bench-")
    path = os.path.join(work, "fts.db")
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT, summary TEXT, tags TEXT)")
    t0 = time.time()
    db.executemany("INSERT INTO p (name, summary, tags) VALUES (?, ?, ?)", rows)
    db.commit()
    load = time.time() - t0
    before = page_count(path)
    t0 = time.time()
    db.execute("CREATE VIRTUAL TABLE f USING fts5(name, summary, tags, content='p', "
               "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')")
    db.execute("INSERT INTO f (f) VALUES ('rebuild')")
    db.commit()
    index = time.time() - t0
    size = page_count(path) - before
    sql = ("SELECT p.id, p.name, p.summary, p.tags FROM f JOIN p ON p.id = f.rowid "
           "WHERE f MATCH ? ORDER BY bm25(f, %d, %d, %d) LIMIT 20" % WEIGHTS)
    lat, hits = [], 0
    for q in qs:
        t = time.perf_counter()
        got = db.execute(sql, (fts_match(q),)).fetchall()
        lat.append(time.perf_counter() - t)
        hits += len(got) > 0
    db.close()
    subprocess.run(["rm", "-rf", work])
    return load, index, size, lat, hits


def bench_pg(rows, qs):
    try:
        import psycopg2
    except ImportError:
        raise SystemExit("--pg needs psycopg2: apt-get install python3-psycopg2, and run this "
                         "script with /usr/bin/python3 (its first line)")
    pgdir = tempfile.mkdtemp(prefix="tarmac-pgsearch-")
    url = subprocess.run([os.path.join(ROOT, "tests", "lib", "pgcluster.sh"), "start", pgdir],
                         capture_output=True, text=True, check=True).stdout.strip()
    try:
        db = psycopg2.connect(url)
        cur = db.cursor()
        cur.execute("CREATE TABLE p (id SERIAL PRIMARY KEY, name TEXT, summary TEXT, tags TEXT)")
        t0 = time.time()
        cur.executemany("INSERT INTO p (name, summary, tags) VALUES (%s, %s, %s)", rows)
        db.commit()
        load = time.time() - t0
        cur.execute("SELECT pg_total_relation_size('p')")
        before = cur.fetchone()[0]
        t0 = time.time()
        cur.execute("ALTER TABLE p ADD COLUMN v tsvector GENERATED ALWAYS AS ("
                    "setweight(to_tsvector('english', coalesce(name, '')), 'A') || "
                    "setweight(to_tsvector('english', coalesce(summary, '')), 'B') || "
                    "setweight(to_tsvector('english', coalesce(tags, '')), 'D')) STORED")
        cur.execute("CREATE INDEX p_v ON p USING GIN (v)")
        db.commit()
        index = time.time() - t0
        cur.execute("ANALYZE p")
        cur.execute("SELECT pg_total_relation_size('p')")
        size = cur.fetchone()[0] - before
        sql = ("SELECT id, name, summary, tags FROM p, to_tsquery('english', %s) q "
               "WHERE v @@ q ORDER BY ts_rank('{0.1, 0.2, 0.4, 1.0}', v, q) DESC LIMIT 20")
        lat, hits = [], 0
        for q in qs:
            t = time.perf_counter()
            cur.execute(sql, (pg_query(q),))
            got = cur.fetchall()
            lat.append(time.perf_counter() - t)
            hits += len(got) > 0
        db.close()
        return load, index, size, lat, hits
    finally:
        subprocess.run([os.path.join(ROOT, "tests", "lib", "pgcluster.sh"), "stop", pgdir])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "tarmac"))
    ap.add_argument("--limit", type=int, default=0, help="the first N packages only (0: all)")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--pg", action="store_true", help="PostgreSQL FTS too (a throwaway cluster)")
    args = ap.parse_args()
    rows = corpus()
    if args.limit:
        rows = rows[:args.limit]
    rng = random.Random(args.seed)
    qs = queries(rows, args.queries, rng)
    text_mb = sum(len(a) + len(b) + len(c) for a, b, c in rows) / 1e6
    print("corpus: apt-cache dumpavail (this machine's Debian package index): %d packages, %.1f MB of "
          "text; %d queries (seed %d), e.g. %s" % (len(rows), text_mb, len(qs), args.seed,
                                                  ", ".join(repr(q) for q in qs[:6])))
    results = [("tarmac (API, SQLite)", bench_tarmac(args, rows, qs)), ("SQLite FTS5 direct", bench_fts5(rows, qs))]
    if args.pg:
        results.append(("PostgreSQL FTS direct", bench_pg(rows, qs)))
    print("| system | load s | index build s | index MB | p50 ms | p99 ms | mean ms | queries with a hit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (load, index, size, lat, hits) in results:
        p50, p99, mean = pct(lat)
        print("| %s | %.1f | %.1f | %.1f | %.3f | %.3f | %.3f | %d |" % (
            name, load, index, size / 1e6, p50, p99, mean, hits))
    t, f = pct(results[0][1][3]), pct(results[1][1][3])
    print("tarmac / FTS5: p50 %.2fx, p99 %.2fx (goal: p99 < 10 ms and within 1.5x)" % (
        t[0] / f[0], t[1] / f[1]))


if __name__ == "__main__":
    sys.exit(main())
