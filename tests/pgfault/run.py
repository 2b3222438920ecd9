#!/usr/bin/python3
"""PostgreSQL faults under load (issue #10 item 4), against the built binary.

    /usr/bin/python3 tests/pgfault/run.py [--bin build/release/tarmac] [--cluster DIR]
                                          [--only NAME] [-v] [--keep]

tarmac runs on a throwaway cluster (tests/lib/pgcluster.sh): the one at
TARMAC_TEST_PG (its directory is the URL's host=, or --cluster DIR), else one
this suite starts and stops. Each test starts its own tarmac on a database of
its own (tests/lib/tarmac.py's db_flags) and hurts the cluster, most of them
while eight client threads read records by id, list them with a filter and
create them, one at a time and two in a batch:

  - every backend of the server's database terminated (pg_terminate_backend),
    twice;
  - the cluster halted (pg_ctl stop -m fast) for two seconds, then resumed;
    then six short halts in a row;
  - tarmac started, and `superuser upsert` run, while the cluster is down,
    with a password in the URL (as user:password@, and as ?password=);
  - http jobs due, and one being delivered, while it is down;
  - a SIGTERM while it is down;
  - two tarmacs on one database draining one job queue (no fault: no job
    delivered twice at once, both deliver).

What must hold: every answer is a 200 or the 503 JSON error (a batch's 400
with the item's 503 inside, as PocketBase answers a failed batch), never a
500, a dropped connection or a hang (each request's time is bounded);
requests succeed again soon after the fault ends, without restarting tarmac;
every create that answered 200 is in the database afterwards (acknowledged
is a subset of stored) and no batch is stored in part; no job is lost;
/api/health stays 200 and says data.database=unavailable while PostgreSQL
is away; the password is never printed; the server exits 0 on SIGTERM with
no sanitizer report. The cluster is halted and resumed by this suite:
nothing else may use it meanwhile (tests/run runs suites one after
another). Every test resumes it in a finally. Prints `ok - ...` /
`FAIL - ...` and, last, one `N passed, N failed` line; -v adds what each
test measured.
"""
import argparse
import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.dont_write_bytecode = True
os.environ["TARMAC_TEST_ENGINE"] = "postgresql"

import tarmac  # noqa: E402
from tarmac import Server, run_cli, db_flags, db_rows, SLOW  # noqa: E402

PGCLUSTER = os.path.join(ROOT, "tests", "lib", "pgcluster.sh")
SU_EMAIL, SU_PASS = "pgfault@example.com", "pgfault-pass-123456"
PASSWORD = "secretpw-7f3a"  # in the URLs of the start-while-down test
UNAVAILABLE = {"data": {}, "message": "Service unavailable.", "status": 503}
THREADS = 8
# Bounds (seconds): one request's longest time, recovery after the backends
# were terminated, recovery after a restart.
MAX_LATENCY = 5.0 * SLOW
KILL_RECOVERY = 2.0 * SLOW
RESTART_RECOVERY = 5.0 * SLOW
REQ_TIMEOUT = 15.0 * SLOW  # a socket read past this is a hang
VERBOSE = False


def batch_unavailable(item):
    """A batch whose transaction the database's absence broke under item:
    400, as PocketBase's apis/batch.go answers any failed batch, the item's
    503 inside."""
    return {"data": {"requests": {str(item): {
        "code": "batch_request_failed", "message": "Batch request failed.",
        "response": UNAVAILABLE}}}, "message": "Batch transaction failed.", "status": 400}


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def note(msg):
    if VERBOSE:
        print("   # " + msg)
        sys.stdout.flush()


# --------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------

class Cluster:
    """The throwaway cluster: halt/resume (remembered, so a finally resumes
    only what was halted) and the backends of a database terminated."""

    def __init__(self, url, directory):
        self.url = url
        self.dir = directory
        self.halted = False

    def _ctl(self, cmd):
        p = subprocess.run([PGCLUSTER, cmd, self.dir], capture_output=True, text=True,
                           timeout=60)
        check(p.returncode == 0, "pgcluster %s: %s %s" % (cmd, p.stdout, p.stderr))

    def halt(self):
        self.halted = True
        self._ctl("halt")

    def resume(self):
        if self.halted and os.path.exists(os.path.join(self.dir, ".s.PGSQL.5432")):
            self.halted = False  # a halt that failed: the server is still up
        if self.halted:
            self._ctl("resume")
            self.halted = False

    def terminate_backends(self, dbname):
        """pg_terminate_backend of every session on dbname (the killer's own
        is on another database); how many there were."""
        sql = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
               "WHERE datname = '%s' AND pid <> pg_backend_pid()" % dbname)
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", self.url, "-c", sql],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, "psql: %s" % p.stderr)
        return int(p.stdout.strip() or 0)


def cluster_dir(url):
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    return (q.get("host") or [""])[0]


# --------------------------------------------------------------------------
# A tarmac with a superuser and a collection
# --------------------------------------------------------------------------

SERVERS = []


class Api:
    """Calls as the superuser (a connection per call)."""

    def __init__(self, server):
        self.server = server
        self.token = None
        st, j = self.call("POST", "/api/collections/_superusers/auth-with-password",
                          {"identity": SU_EMAIL, "password": SU_PASS})
        check(st == 200, "superuser sign-in: %d %r" % (st, j))
        self.token = j["token"]

    def call(self, method, path, body=None, timeout=REQ_TIMEOUT):
        c = http.client.HTTPConnection(self.server.host, self.server.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"}
            if self.token:
                headers["Authorization"] = self.token
            c.request(method, path, None if body is None else json.dumps(body), headers)
            r = c.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
        finally:
            c.close()

    def ok(self, method, path, body=None, want=(200, 201, 204)):
        st, j = self.call(method, path, body)
        check(st in want, "%s %s: %d %r" % (method, path, st, j))
        return j


def start(flags=(), name="pgfault"):
    s = Server(BIN, list(flags), name=name)
    SERVERS.append(s)
    rc, out, err = run_cli(BIN, ["superuser", "upsert", SU_EMAIL, SU_PASS,
                                 "--dir=" + s.datadir] + db_flags(s.datadir))
    check(rc == 0, "superuser upsert: %s %s" % (out, err))
    s.start()
    return s, Api(s)


def dbname(server):
    return tarmac._databases[server.datadir][0]


def setup_posts(api, n=40):
    """A collection anyone may read and write, with n records; their ids."""
    api.ok("POST", "/api/collections", {
        "name": "posts", "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"}]})
    return [api.ok("POST", "/api/collections/posts/records", {"title": "seed%d" % i, "n": i})["id"]
            for i in range(n)]


def stored(server):
    """{id: title} of the posts in the database."""
    return dict(db_rows(server.datadir, "SELECT id, title FROM posts"))


def stop_clean(server):
    why = server.stop_clean()
    check(not why, "%s: not a clean exit on SIGTERM: %s" % (server.name, why))


# --------------------------------------------------------------------------
# The load
# --------------------------------------------------------------------------

LIST_PATH = "/api/collections/posts/records?perPage=10&sort=-n&filter=" + urllib.parse.quote(
    "n >= 5 && title != 'none'")


class Load:
    """THREADS clients, each on a keep-alive connection of its own, doing in
    turn a view by id, a filtered list, a create and a batch of two creates
    until stopped. Every request is logged as (start, end, kind, status,
    detail): status None is a request that got no answer (detail says why).
    The ids of acknowledged creates are kept (acked)."""

    KINDS = ("view", "list", "create", "batch")

    def __init__(self, server, ids):
        self.server = server
        self.ids = ids
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.log = []
        self.acked = set()
        self.marks = []  # (time, what happened): the faults, for the messages
        self.threads = [threading.Thread(target=self._run, args=(k,), daemon=True)
                        for k in range(THREADS)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(REQ_TIMEOUT + 5)
        check(not any(t.is_alive() for t in self.threads), "a client thread is stuck")

    def _request(self, k, i):
        kind = self.KINDS[(k + i) % len(self.KINDS)]
        if kind == "view":
            return kind, "GET", "/api/collections/posts/records/" + \
                self.ids[(k * 7 + i) % len(self.ids)], None
        if kind == "list":
            return kind, "GET", LIST_PATH, None
        if kind == "batch":  # two creates, all or nothing
            return kind, "POST", "/api/batch", json.dumps({"requests": [
                {"method": "POST", "url": "/api/collections/posts/records",
                 "body": {"title": "batch-%d-%d-%s" % (k, i, half), "n": 2000 + i}}
                for half in "ab"]})
        return kind, "POST", "/api/collections/posts/records", json.dumps(
            {"title": "load-%d-%d" % (k, i), "n": 1000 + i})

    def _run(self, k):
        conn, i = None, 0
        while not self.stopping.is_set():
            kind, method, path, body = self._request(k, i)
            i += 1
            t0 = time.monotonic()
            status, detail = None, ""
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.server.host, self.server.port,
                                                      timeout=REQ_TIMEOUT)
                conn.request(method, path, body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                raw = r.read()
                status, detail = r.status, raw
                if r.will_close:
                    conn.close()
                    conn = None
            except Exception as e:  # no answer: a dropped connection or a hang
                detail = "%s: %s" % (type(e).__name__, e)
                if conn is not None:
                    conn.close()
                conn = None
            t1 = time.monotonic()
            with self.lock:
                self.log.append((t0, t1, kind, status, detail))
                if kind in ("create", "batch") and status == 200:
                    try:
                        j = json.loads(detail)
                        if kind == "create":
                            self.acked.add(j["id"])
                        else:
                            check(len(j) == 2 and all(x["status"] == 200 for x in j),
                                  "batch answer %r" % j)
                            self.acked.update(x["body"]["id"] for x in j)
                    except (ValueError, KeyError, TypeError, Fail) as e:
                        self.log.append((t0, t1, kind, None, "bad 200 body %r: %s" % (detail, e)))
            if status != 200:
                time.sleep(0.02)  # no busy loop on 503s
        if conn is not None:
            conn.close()

    def mark(self, what):
        self.marks.append((time.monotonic(), what))

    def when(self, t):
        """t relative to the last mark before it, for a message."""
        before = [m for m in self.marks if m[0] <= t]
        return "%+.2fs after %s" % (t - before[-1][0], before[-1][1]) if before else \
            "before any fault"

    def entries(self):
        with self.lock:
            return list(self.log)

    def check_answers(self, closed_at=None):
        """Every answer a 200 or the 503 error (a batch's: the 400 around
        it), in bounded time; none missing, except for requests made after
        closed_at (the server was told to stop). Returns (counts by kind and
        status, max latency)."""
        log = self.entries()
        check(log, "the load made no request")
        if closed_at is not None:
            log = [e for e in log if e[3] is not None or e[0] < closed_at]
        bad = [e for e in log if e[3] not in (200, 503) and not (e[2] == "batch" and e[3] == 400)]
        check(not bad, "%d answers other than 200/503, e.g. %s" % (
            len(bad), "; ".join("%s %r %r" % (e[2], e[3], e[4][:300]) for e in bad[:5])))
        wrong = []
        for e in log:
            if e[3] in (400, 503):
                try:
                    want = ([batch_unavailable(0), batch_unavailable(1)] if e[3] == 400 else
                            [UNAVAILABLE])
                    if json.loads(e[4]) not in want:
                        wrong.append(e)
                except ValueError:
                    wrong.append(e)
        check(not wrong, "error bodies: %r" % [(e[2], e[4][:300]) for e in wrong[:3]])
        worst = max(log, key=lambda e: e[1] - e[0])
        check(worst[1] - worst[0] < MAX_LATENCY, "a %s took %.2fs (answer %r), sent %s" % (
            worst[2], worst[1] - worst[0], worst[3], self.when(worst[0])))
        counts = {}
        for e in log:
            key = "%s/%s" % (e[2], e[3])
            counts[key] = counts.get(key, 0) + 1
        return counts, worst[1] - worst[0]

    def failures_between(self, t_from, t_to):
        return [e for e in self.entries() if e[0] >= t_from and e[0] < t_to and e[3] != 200]

    def successes_since(self, t, kind):
        return [e for e in self.entries() if e[0] >= t and e[2] == kind and e[3] == 200]


def wait_recovered(load, since, bound, quiet=1.0):
    """Lets the load run until it has gone `quiet` seconds without a
    failure (or bound + quiet have passed since `since`); returns how long
    after `since` the last failure ended (0 when none did)."""
    deadline = since + bound + quiet
    while True:
        time.sleep(0.1)
        now = time.monotonic()
        fails = load.failures_between(since, now)
        last = max((e[1] for e in fails), default=since)
        if (now - last >= quiet and all(load.successes_since(last, k) for k in Load.KINDS)) \
                or now > deadline:
            return last - since


def check_acked_stored(load, server):
    """Every acknowledged create is in the database, and each batch is in
    it whole or not at all (whatever it answered)."""
    rows = stored(server)
    lost = load.acked - set(rows)
    check(not lost, "%d acknowledged creates are not in the database: %s" % (
        len(lost), sorted(lost)[:5]))
    halves = {}
    for title in rows.values():
        if title.startswith("batch-"):
            halves.setdefault(title[:-2], []).append(title[-1])
    torn = {k: v for k, v in halves.items() if sorted(v) != ["a", "b"]}
    check(not torn, "batches stored in part: %r" % sorted(torn.items())[:5])
    return len(load.acked), len(rows)


def health(server):
    t0 = time.monotonic()
    c = http.client.HTTPConnection(server.host, server.port, timeout=REQ_TIMEOUT)
    try:
        c.request("GET", "/api/health")
        r = c.getresponse()
        return r.status, json.loads(r.read()), time.monotonic() - t0
    finally:
        c.close()


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def terminated_backends_under_load():
    s, api = start()
    ids = setup_posts(api)
    load = Load(s, ids).start()
    kills = []
    try:
        time.sleep(1.0)
        for _ in range(2):
            t = time.monotonic()
            load.mark("kill %d" % (len(kills) + 1))
            n = CLUSTER.terminate_backends(dbname(s))
            kills.append((t, n))
            note("terminated %d backends" % n)
            time.sleep(2.0)
        time.sleep(0.5)
    finally:
        load.stop()
    check(all(n > 0 for _, n in kills), "backends were terminated: %r" % kills)
    counts, worst = load.check_answers()
    for j, (t, _) in enumerate(kills):
        until = kills[j + 1][0] if j + 1 < len(kills) else float("inf")
        late = load.failures_between(t + KILL_RECOVERY, until)
        check(not late, "failures %.1fs after a kill: %s" % (
            KILL_RECOVERY, [(round(e[0] - t, 2), e[2], e[3]) for e in late[:5]]))
        for kind in Load.KINDS:
            check(load.successes_since(t, kind), "a %s succeeds after kill %d" % (kind, j + 1))
    acked, stored = check_acked_stored(load, s)
    note("answers %r, slowest %.3fs, %d creates acknowledged, %d rows" % (
        counts, worst, acked, stored))
    stop_clean(s)


@test
def restart_under_load():
    s, api = start()
    ids = setup_posts(api)
    load = Load(s, ids).start()
    try:
        time.sleep(1.0)
        load.mark("halt")
        CLUSTER.halt()
        t_down = time.monotonic()
        load.mark("halted")
        time.sleep(0.5)
        st, j, took = health(s)
        check(st == 200 and j.get("data") == {"database": "unavailable"},
              "health while PostgreSQL is down: %d %r" % (st, j))
        check(took < MAX_LATENCY, "health took %.2fs while down" % took)
        time.sleep(1.5)
        load.mark("resume")
        CLUSTER.resume()
        t_up = time.monotonic()
        load.mark("resumed")
        recovered = wait_recovered(load, t_up, RESTART_RECOVERY)
    finally:
        load.stop()
        CLUSTER.resume()
    counts, worst = load.check_answers()
    down = [e for e in load.entries() if t_down + 0.2 <= e[0] < t_up - 0.2]
    check(any(e[3] == 503 for e in down), "503s while PostgreSQL is down")
    check(all(e[3] != 200 for e in down if e[2] in ("create", "batch")),
          "no write succeeds while PostgreSQL is down")
    slow = max(e[1] - e[0] for e in down)
    check(recovered < RESTART_RECOVERY, "requests fail %.2fs after the resume: %s" % (
        recovered, [(round(e[0] - t_up, 2), e[2], e[3]) for e in
                    load.failures_between(t_up + RESTART_RECOVERY, float("inf"))[:5]]))
    for kind in Load.KINDS:
        check(load.successes_since(t_up, kind), "a %s succeeds after the resume" % kind)
    st, j, _ = health(s)
    check(st == 200 and j.get("data") == {}, "health after the resume: %d %r" % (st, j))
    acked, stored = check_acked_stored(load, s)
    note("answers %r, slowest %.3fs (%.3fs while down, %d answers then), recovered "
         "%.2fs after the resume, %d creates acknowledged, %d rows" % (
             counts, worst, slow, len(down), recovered, acked, stored))
    stop_clean(s)


def password_url(server, query=False):
    """A URL for server's database with a password in it (trust auth takes
    it and ignores it): as user:password@, or as a password= parameter."""
    name = db_flags(server.datadir) and dbname(server)
    if query:
        return "postgresql:///%s?host=%s&user=tarmac&password=%s" % (name, CLUSTER.dir, PASSWORD)
    return "postgresql://tarmac:%s@/%s?host=%s" % (PASSWORD, name, CLUSTER.dir)


def check_refused_while_down(server, url):
    """serve and superuser upsert with url while the cluster is halted:
    exit 1 soon, say why, never print the password."""
    for what, argv in (("serve", ["serve", "--http=127.0.0.1:0", "--dir=" + server.datadir]),
                       ("superuser upsert", ["superuser", "upsert", SU_EMAIL, SU_PASS,
                                             "--dir=" + server.datadir])):
        t0 = time.monotonic()
        rc, out, err = run_cli(BIN, argv + ["--db=" + url])
        took = time.monotonic() - t0
        check(rc == 1, "%s while down exits 1: %r %s %s" % (what, rc, out, err))
        check("cannot connect to PostgreSQL" in err, "%s says why: %r" % (what, err))
        check(PASSWORD not in out + err, "%s prints the password of %s: %r" % (
            what, url.replace(CLUSTER.dir, "DIR"), err))
        check(took < MAX_LATENCY, "%s took %.2fs to give up" % (what, took))


@test
def repeated_restarts_under_load():
    # a database that comes and goes: every session is reset again and
    # again, while requests keep coming
    s, api = start()
    ids = setup_posts(api)
    load = Load(s, ids).start()
    try:
        for i in range(6):
            time.sleep(0.6)
            load.mark("halt %d" % (i + 1))
            CLUSTER.halt()
            time.sleep(0.4)
            load.mark("resume %d" % (i + 1))
            CLUSTER.resume()
        t_up = time.monotonic()
        recovered = wait_recovered(load, t_up, RESTART_RECOVERY)
    finally:
        load.stop()
        CLUSTER.resume()
    counts, worst = load.check_answers()
    check(recovered < RESTART_RECOVERY, "requests fail %.2fs after the last resume" % recovered)
    acked, stored = check_acked_stored(load, s)
    note("answers %r, slowest %.3fs, recovered %.2fs after the last resume, %d creates "
         "acknowledged, %d rows" % (counts, worst, recovered, acked, stored))
    stop_clean(s)


@test
def start_while_down():
    s = Server(BIN, name="down")
    SERVERS.append(s)
    url = password_url(s)
    # the URL works while the cluster is up, and the server started with it
    # prints no password when PostgreSQL goes away under it, nor on the way out
    tarmac._databases[s.datadir] = (dbname(s), url)
    rc, out, err = run_cli(BIN, ["superuser", "upsert", SU_EMAIL, SU_PASS,
                                 "--dir=" + s.datadir, "--db=" + url])
    check(rc == 0, "superuser upsert while up: %d %s %s" % (rc, out, err))
    s.start()
    api = Api(s)
    setup_posts(api, n=1)
    CLUSTER.halt()
    try:
        st, j = api.call("POST", "/api/collections/posts/records", {"title": "x"})
        check(st == 503 and j == UNAVAILABLE, "a create while down: %d %r" % (st, j))
        stop_clean(s)
        text = b"".join(s.stdout_lines).decode("utf-8", "replace") + s.stderr_text()
        check(PASSWORD not in text, "the server printed the password: %r" % text[-1500:])
        check_refused_while_down(s, url)
    finally:
        CLUSTER.resume()


@test
def password_parameter_not_printed():
    # libpq also takes the password as a URL parameter (?password=)
    s = Server(BIN, name="down")
    SERVERS.append(s)
    url = password_url(s, query=True)
    rc, out, err = run_cli(BIN, ["superuser", "upsert", SU_EMAIL, SU_PASS,
                                 "--dir=" + s.datadir, "--db=" + url])
    check(rc == 0, "superuser upsert while up: %d %s %s" % (rc, out, err))
    CLUSTER.halt()
    try:
        check_refused_while_down(s, url)
    finally:
        CLUSTER.resume()


@test
def jobs_survive_restart():
    got, lock = {}, threading.Lock()  # deliveries by job id

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                k = self.headers.get("X-Tarmac-Job-Id")
                got[k] = got.get(k, 0) + 1
            if b'"slow"' in body:
                time.sleep(1.0)  # the cluster goes down meanwhile
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    def wait_delivered(ids, bound, what):
        deadline = time.monotonic() + bound
        while True:
            with lock:
                missing = set(ids) - set(got)
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        check(not missing, "%d of %d %s not delivered" % (len(missing), len(ids), what))

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/x" % httpd.server_address[1]
    try:
        s, api = start(["--allow-private-network", "--job-lease=3s", "--job-http-timeout=2s"])

        def enqueue(body, at_ms=0):
            job = {"kind": "http", "payload": {"url": url, "body": body}}
            if at_ms:
                job["runAt"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at_ms // 1000)) + \
                    ".%03dZ" % (at_ms % 1000)
            return api.ok("POST", "/api/jobs", job)["id"]

        ids = [enqueue({"i": i}) for i in range(5)]
        wait_delivered(ids, 10.0 * SLOW, "jobs due now")
        due = int(time.time() * 1000) + 1500  # while the cluster is down
        ids += [enqueue({"i": i}, due) for i in range(5, 15)]
        # a delivery under way when the cluster goes: its outcome cannot be
        # recorded, its lease runs out, it is sent again (at least once)
        slow = enqueue({"slow": True})
        ids.append(slow)
        wait_delivered([slow], 10.0 * SLOW, "slow job")
        CLUSTER.halt()
        try:
            time.sleep(1.0)
            st, j = api.call("POST", "/api/jobs", {"kind": "http", "payload": {"url": url}})
            check(st == 503 and j == UNAVAILABLE, "enqueue while down: %d %r" % (st, j))
            time.sleep(2.0)
        finally:
            CLUSTER.resume()
        t_up = time.monotonic()
        # nothing is written after the resume: the runners come back by
        # themselves to the jobs that fell due meanwhile
        wait_delivered(ids, RESTART_RECOVERY + 5.0 * SLOW, "jobs after the resume")
        delivered_after = time.monotonic() - t_up
        # the writer takes new work again
        ids.append(enqueue({"i": 99}))
        deadline = time.monotonic() + 10.0 * SLOW
        while True:
            stats = api.ok("GET", "/api/jobs/stats")
            if stats["done"] == len(ids) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        check(stats["done"] == len(ids) and stats["dead"] == 0 and stats["failed"] == 0,
              "every job done: %r" % stats)
        with lock:
            check(set(ids) <= set(got), "every job delivered")
            dup = {k: v for k, v in got.items() if v != 1}
        for k, v in dup.items():  # at least once: a repeat needs an attempt of its own
            j = api.ok("GET", "/api/jobs/" + k)
            check(j["attempts"] >= v, "job %s delivered %d times on %d attempt(s)" % (
                k, v, j["attempts"]))
        note("%d jobs delivered, all %.2fs after the resume, %d repeated (the slow one %d times)"
             % (len(ids), delivered_after, len(dup), got[slow]))
        stop_clean(s)
    finally:
        httpd.shutdown()
        httpd.server_close()


def socket_owner(port, pids):
    """Which of pids holds the TCP socket whose local port is port (a
    client of this process's receiver), or None: /proc/net/tcp gives the
    socket's inode, /proc/PID/fd who holds it."""
    inode = None
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if int(cols[1].rsplit(":", 1)[1], 16) == port:
                        inode = cols[9]
                        break
        except OSError:
            continue
        if inode:
            break
    if not inode:
        return None
    want = "socket:[%s]" % inode
    for pid in pids:
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == want:
                        return pid
                except OSError:
                    pass
        except OSError:
            pass
    return None


@test
def two_processes_share_the_queue():
    """Two tarmacs on one database (as behind a load balancer) drain one
    queue: each job is claimed by one runner at a time (FOR UPDATE SKIP
    LOCKED), never delivered twice at once, and both processes deliver."""
    state = {"inflight": {}, "got": {}, "overlap": [], "by": {}}
    lock = threading.Lock()
    pids = []

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            k = self.headers.get("X-Tarmac-Job-Id")
            with lock:
                if state["inflight"].get(k):
                    state["overlap"].append(k)
                state["inflight"][k] = state["inflight"].get(k, 0) + 1
                state["got"][k] = state["got"].get(k, 0) + 1
                sample = len(state["got"]) % 7 == 0
            if sample:
                owner = socket_owner(self.client_address[1], pids)
                with lock:
                    state["by"][owner] = state["by"].get(owner, 0) + 1
            time.sleep(0.02)  # a delivery takes a while: claims race meanwhile
            with lock:
                state["inflight"][k] -= 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    class Receiver(http.server.ThreadingHTTPServer):
        request_queue_size = 1024
        daemon_threads = True

    httpd = Receiver(("127.0.0.1", 0), H)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/x" % httpd.server_address[1]
    flags = ["--allow-private-network", "--job-runners=2"]
    try:
        a, api_a = start(flags, name="pgfault-a")
        b = Server(BIN, flags, name="pgfault-b")
        tarmac._databases[b.datadir] = tarmac._databases[a.datadir]  # the same database
        SERVERS.append(b)
        b.start()
        api_b = Api(b)
        pids.extend([a.proc.pid, b.proc.pid])
        n = 400
        ids = []
        for i in range(n):
            api = api_a if i % 2 else api_b
            ids.append(api.ok("POST", "/api/jobs", {"kind": "http",
                                                     "payload": {"url": url, "body": {"i": i}}})["id"])
        deadline = time.monotonic() + 60 * SLOW
        while True:
            stats = api_a.ok("GET", "/api/jobs/stats")
            if stats["done"] == n or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check(stats["done"] == n and stats["dead"] == 0 and stats["failed"] == 0,
              "every job done: %r" % stats)
        with lock:
            check(not state["overlap"], "delivered twice at once: %s" % state["overlap"][:5])
            check(set(ids) == set(state["got"]), "every job delivered")
            dup = {k: v for k, v in state["got"].items() if v != 1}
            by = dict(state["by"])
        for k, v in dup.items():  # at least once: a repeat needs an attempt of its own
            j = api_a.ok("GET", "/api/jobs/" + k)
            check(j["attempts"] >= v, "job %s delivered %d times on %d attempt(s)" % (
                k, v, j["attempts"]))
        check(by.get(a.proc.pid) and by.get(b.proc.pid),
              "both processes deliver (sampled deliveries by pid: %r)" % by)
        note("%d jobs, %d repeated; sampled deliveries: a %d, b %d" % (
            n, len(dup), by.get(a.proc.pid, 0), by.get(b.proc.pid, 0)))
        stop_clean(a)
        stop_clean(b)
    finally:
        httpd.shutdown()
        httpd.server_close()


@test
def sigterm_while_down():
    s, api = start()
    ids = setup_posts(api, n=10)
    load = Load(s, ids).start()
    try:
        time.sleep(0.5)
        CLUSTER.halt()
        time.sleep(0.5)
        t0 = time.monotonic()
        s.signal()
        rc = s.wait(15.0 * SLOW)
        load.stopping.set()
        took = time.monotonic() - t0
    finally:
        load.stop()
        CLUSTER.resume()
    check(rc is not None, "the server did not exit within %.0fs of SIGTERM" % (15.0 * SLOW))
    check(took < MAX_LATENCY, "exit took %.2fs" % took)
    stop_clean(s)
    # answers before the exit were 200s and 503s; requests after the
    # SIGTERM may find the port closed
    load.check_answers(closed_at=t0)
    check_acked_stored(load, s)
    note("exited %.2fs after SIGTERM" % took)


# --------------------------------------------------------------------------

def main():
    global BIN, CLUSTER, VERBOSE
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "tarmac"))
    ap.add_argument("--cluster", help="the cluster's directory (default: TARMAC_TEST_PG's host=)")
    ap.add_argument("--only")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="keep a failed test's server directories (their logs)")
    args = ap.parse_args()
    BIN = os.path.abspath(args.bin)
    VERBOSE = args.verbose
    url = os.environ.get("TARMAC_TEST_PG", "")
    owned = None
    if not url:  # a cluster of our own
        import tempfile
        owned = tempfile.mkdtemp(prefix="tarmac-pgfault.")
        p = subprocess.run([PGCLUSTER, "start", owned], capture_output=True, text=True)
        if p.returncode != 0:
            print("FAIL - setup: cannot start a PostgreSQL cluster: %s" % p.stderr[-500:])
            print("0 passed, 1 failed")
            return 1
        url = p.stdout.strip()
    tarmac.PG_URL = url
    directory = args.cluster or cluster_dir(url)
    if not os.path.isdir(os.path.join(directory, "data")):
        print("FAIL - setup: no cluster in %r (give --cluster DIR)" % directory)
        print("0 passed, 1 failed")
        return 1
    CLUSTER = Cluster(url, directory)
    passed = failed = 0
    t_all = time.monotonic()
    try:
        for fn in TESTS:
            if args.only and args.only not in fn.__name__:
                continue
            t0 = time.monotonic()
            ok = True
            try:
                fn()
                passed += 1
                print("ok - %s (%.1fs)" % (fn.__name__, time.monotonic() - t0))
            except Exception as e:
                failed += 1
                ok = False
                print("FAIL - %s: %s: %s" % (fn.__name__, type(e).__name__, e))
                if VERBOSE:
                    traceback.print_exc()
                for srv in SERVERS:
                    text = srv.stderr_text()
                    lines = [ln for ln in text.splitlines() if "level=info" not in ln]
                    print("   %s's log (last lines):\n     %s" % (
                        srv.name, "\n     ".join(lines[-25:])))
            finally:
                CLUSTER.resume()
                for srv in SERVERS:
                    keep = args.keep and not ok
                    if keep:
                        print("   kept %s" % srv.tmpdir)
                    srv.cleanup(keep=keep)
                SERVERS.clear()
            sys.stdout.flush()
    finally:
        if owned:
            subprocess.run([PGCLUSTER, "stop", owned], capture_output=True)
    note("%.1fs in all" % (time.monotonic() - t_all))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


BIN = None
CLUSTER = None
if __name__ == "__main__":
    sys.exit(main())
