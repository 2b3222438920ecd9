#!/usr/bin/python3
"""Fault-injection walk over the write path (STYLE.md §7, issue #9 item 6).

    /usr/bin/python3 tests/fault/run.py [--bin build/asan/tarmac] [--only SUBSTR]
                                        [--max-alloc N] [--verbose]

As SQLite's do_faultsim_test: for each operation and each fault point of
src/base/fault.h (alloc, step, write, sync, db_alloc), for n = 1, 2, ...:
arm "the nth hit of the point fails" (POST /api/_test/fault, a route only
test builds have), run the operation, disarm (DELETE /api/_test/fault says
whether the fault fired), then check

  - the answer is a success or a clean JSON error: a 5xx with the
    {status, message, data} shape (every operation is valid, so a 4xx would
    blame the client for the server's fault; a batch answers 400 around the
    failed item's 5xx), on a connection that still works -- never a crash, a
    hang or a dropped connection;
  - PRAGMA integrity_check and foreign_key_check on data.db (opened
    read-only from here) are clean;
  - the data is all or nothing: a failed create left no row, a failed batch
    none of its writes, a failed schema change the schema and the table as
    they were (read through the API and in the file); a success is complete
    and leaves the fields it does not name alone; every file in the
    collection's storage is named by its record and the other way round (no
    upload outlives a failed write, no replaced file outlives a success);
  - the server still answers reads.

The walk of an operation and point ends with the first run whose fault did
not fire: every hit has been failed once. Fault-free runs first count the
hits; an operation with more than STRIDE_ABOVE of them (a collection update:
SQLite reparses the schema on each connection, over 5,000 allocations) is
walked with an even stride, and a walk still firing past twice the count has
hits that grow with n: a failure. The operations: a record create,
a create and an update with uploads (multipart), a collection update adding
a field, a collection create, a batch (two creates and an update), and a
password sign-in through an authRule that reads the account (a fault in
either read is a 5xx, never "Failed to authenticate" or the rule's 403; the
server runs without sign-in rate limits for it);
record writes run as a signed-in user through rules and a relation check.
A signed-in realtime subscribe over the WebSocket walks the points too
(204 or a 5xx; a connection may drop only where an answer could not be
written for want of memory). The route's own bad input is refused first.
After a successful run the state is put back (unfaulted), so every run does
the same work. At the end the server must exit 0 on SIGTERM with no
sanitizer report (no leak under ASan).

Given a binary without the fault route (the release build), the suite checks
that the route is absent and stops there. Prints `ok - ...` / `FAIL - ...`
lines and, last, exactly one `N passed, N failed` line.
"""

import argparse
import json
import os
import signal
import sqlite3
import sys
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

SU_EMAIL = "fault@example.com"
SU_PASS = "fault-walk-password"
BOUNDARY = "tarmacFaultWalkBoundary3q8a"
POINTS = ("alloc", "step", "write", "sync", "db_alloc")
# A walk that has not converged by then is a failure of its own: the hits
# of one run must not grow with n.
MAX_RUNS = 5000
# An operation whose fault-free run counts more hits than this is walked
# with a stride (a collection update: SQLite reparses the schema on every
# connection, thousands of allocations down the same few paths).
STRIDE_ABOVE = 1500
# An nth no run reaches: the fault-free run that counts the hits.
NEVER = 1 << 60
# A field the updates never name: whatever a run does, it stays as it is.
KEEP = {"kept": [1, 2.5, "three"], "nested": {"ok": True}}
VERBOSE = False


class Fail(Exception):
    pass


def want(cond, msg):
    if not cond:
        raise Fail(msg)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "asan", "tarmac"))
    ap.add_argument("--only", default=None, help="walks whose name contains this")
    ap.add_argument("--max-alloc", type=int, default=0,
                    help="stop an alloc walk after this many runs (0: no bound)")
    ap.add_argument("--keep", action="store_true", help="keep the server's temp dir")
    ap.add_argument("--verbose", action="store_true")
    return ap.parse_args()


def multipart(parts):
    """parts: (name, value) for text, (name, filename, bytes) for files."""
    out = []
    for p in parts:
        out.append(("--%s\r\n" % BOUNDARY).encode())
        if len(p) == 2:
            out.append(('Content-Disposition: form-data; name="%s"\r\n\r\n' % p[0]).encode())
            out.append(p[1].encode())
        else:
            out.append(('Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                        'Content-Type: text/plain\r\n\r\n' % (p[0], p[1])).encode())
            out.append(p[2])
        out.append(b"\r\n")
    out.append(("--%s--\r\n" % BOUNDARY).encode())
    return b"".join(out)


class Client:
    """One keep-alive connection; reconnects when the server closed it after
    an answer (an error may close the connection: that is allowed)."""

    def __init__(self, server, timeout):
        self.server = server
        self.timeout = timeout
        self.conn = None
        self.token = None       # the superuser's
        self.user_token = None  # a user's: record writes go through rules and relations

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def call(self, method, path, body=None, ctype=None, auth=True, user=False):
        from tarmac import build_request
        if self.conn is None or self.conn.eof:
            self.close()
            self.conn = self.server.connect(timeout=self.timeout)
        h = {"Host": "fault", "Connection": "keep-alive"}
        if auth and (self.user_token if user else self.token):
            h["Authorization"] = self.user_token if user else self.token
        if body is not None:
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
                ctype = ctype or "application/json"
            h["Content-Type"] = ctype
            h["Content-Length"] = str(len(body))
        self.conn.send(build_request(method, path, h, body or b""))
        r = self.conn.read_response(head=(method == "HEAD"))
        if (r.header("Connection") or "").lower() == "close":
            self.close()
        return r

    def json(self, method, path, body=None, status=200, **kw):
        r = self.call(method, path, body, **kw)
        if r.status != status:
            raise Fail("%s %s -> %d %r (wanted %d)" % (method, path, r.status, r.body[:300], status))
        return r.json() if r.body else None


def check_answer(r):
    """A success, or a clean error in PocketBase's shape. Every operation is
    valid and succeeds unfaulted, so an error is the server's (5xx): a 4xx
    would tell the client its request was wrong. A batch says so with a 400
    around the failed item's answer, which must be a 5xx."""
    if 200 <= r.status < 300:
        if r.status != 204:
            try:
                r.json()
            except ValueError:
                raise Fail("success with a body that is not JSON: %r" % r.body[:200])
        return True
    want(400 <= r.status < 600, "status %d" % r.status)
    want((r.header("Content-Type") or "").startswith("application/json"),
         "error without a JSON content type: %r" % r.body[:200])
    try:
        b = r.json()
    except ValueError:
        raise Fail("error body is not JSON: %r" % r.body[:200])
    want(isinstance(b, dict) and b.get("status") == r.status and
         isinstance(b.get("message"), str) and isinstance(b.get("data"), dict),
         "error body not in the {status, message, data} shape: %r" % r.body[:300])
    inner = r.status
    items = b["data"].get("requests") if r.status == 400 else None
    if isinstance(items, dict) and len(items) == 1:
        inner = list(items.values())[0].get("response", {}).get("status")
    want(isinstance(inner, int) and inner >= 500,
         "a valid request answered %d (%s): a fault of the server's is no client error" % (
             r.status, "item %r" % inner if inner != r.status else "direct"))
    return False


class World:
    """The server, its data directory and the fixtures the operations use."""

    def __init__(self, server, client):
        self.server = server
        self.c = client
        self.db_path = os.path.join(server.datadir, "data.db")
        self.notes_id = None
        self.upd_id = None
        self.batch_upd_id = None
        self.point = None  # the walk's: part of every title it writes

    # -- direct reads of the file ------------------------------------------

    def db(self):
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        con.execute("PRAGMA query_only=ON")
        return con

    def integrity(self):
        con = self.db()
        try:
            rows = con.execute("PRAGMA integrity_check").fetchall()
            fk = con.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            con.close()
        want(rows == [("ok",)], "integrity_check: %r" % rows[:5])
        want(fk == [], "foreign_key_check: %r" % fk[:5])

    def sql(self, q, *args):
        con = self.db()
        try:
            return con.execute(q, args).fetchall()
        finally:
            con.close()

    def outbox(self):
        """(note ids, record ids of the webhook jobs) as the file holds them."""
        notes = {r[0] for r in self.sql('SELECT id FROM "notes"')}
        jobs = [r[0] for r in self.sql(
            "SELECT json_extract(payload, '$.body.record.id') FROM _jobs WHERE kind = 'webhook'")]
        return notes, jobs

    def check_outbox(self, before):
        """The jobs a run added are exactly one per note it created: none for
        a write that rolled back, none twice for a write the writer re-ran."""
        notes0, jobs0 = before
        notes1, jobs1 = self.outbox()
        added = list(jobs1)
        for j in jobs0:
            if j in added:
                added.remove(j)
        created = notes1 - notes0
        want(sorted(added) == sorted(created),
             "outbox: jobs added for %r, notes created %r" % (sorted(added), sorted(created)))

    def columns(self, table):
        return [r[1] for r in self.sql("SELECT * FROM pragma_table_info(?)", table)]

    def storage(self, coll_id, rec_id):
        d = os.path.join(self.server.datadir, "storage", coll_id, rec_id)
        try:
            return sorted(n for n in os.listdir(d) if not n.startswith("thumbs_"))
        except FileNotFoundError:
            return []

    def wait_storage(self, coll_id, rec_id, names, timeout=5.0):
        """Storage of a record equals names: removals run after the answer,
        on the pool, so give them a moment."""
        deadline = time.monotonic() + timeout
        while True:
            now = self.storage(coll_id, rec_id)
            if now == sorted(names):
                return
            if time.monotonic() > deadline:
                raise Fail("storage of %s holds %r, the record names %r" % (rec_id, now, sorted(names)))
            time.sleep(0.02)

    def storage_matches_records(self, timeout=5.0):
        """Every file under the notes collection's storage belongs to a record
        that names it, and every name a record holds is a file: no upload
        outlives a failed write, none the record uses is missing. Removals run
        on the pool after the answer, so give them a moment. An empty
        directory is no orphan file."""
        root = os.path.join(self.server.datadir, "storage", self.notes_id)
        deadline = time.monotonic() + timeout
        while True:
            want = {rid: sorted(json.loads(docs or "[]"))
                    for rid, docs in self.sql('SELECT id, docs FROM "notes"')}
            have = {}
            for rid in (os.listdir(root) if os.path.isdir(root) else []):
                names = self.storage(self.notes_id, rid)
                if names:
                    have[rid] = names
            want = {k: v for k, v in want.items() if v}
            if have == want:
                return
            if time.monotonic() > deadline:
                extra = {k: v for k, v in have.items() if want.get(k) != v}
                missing = {k: v for k, v in want.items() if have.get(k) != v}
                raise Fail("storage does not match the records: on disk %r, named %r" % (
                    extra, missing))
            time.sleep(0.02)

    # -- fixtures --------------------------------------------------------------

    def setup(self):
        c = self.c
        auth = c.json("POST", "/api/collections/_superusers/auth-with-password",
                      {"identity": SU_EMAIL, "password": SU_PASS}, auth=False)
        c.token = auth["token"]
        c.json("POST", "/api/collections/users/records", {
            "email": "walker@example.com", "password": "walker-password",
            "passwordConfirm": "walker-password"})
        c.user_token = c.json("POST", "/api/collections/users/auth-with-password",
                              {"identity": "walker@example.com", "password": "walker-password"},
                              auth=False)["token"]
        # an authRule that reads the account: the sign-in walk faults its read too
        c.json("PATCH", "/api/collections/users", {"authRule": "id != ''"})
        tags = c.json("POST", "/api/collections", {
            "name": "tags", "listRule": "", "viewRule": "",
            "fields": [{"name": "label", "type": "text"}],
        })
        self.tag_id = c.json("POST", "/api/collections/tags/records", {"label": "t"})["id"]
        signed_in = "@request.auth.id != ''"
        notes = c.json("POST", "/api/collections", {
            "name": "notes",
            "listRule": "", "viewRule": "", "createRule": signed_in, "updateRule": signed_in,
            "deleteRule": "",
            "fields": [
                {"name": "title", "type": "text", "required": True},
                {"name": "n", "type": "number"},
                {"name": "docs", "type": "file", "maxSelect": 3, "maxSize": 100000},
                {"name": "tag", "type": "relation", "collectionId": tags["id"], "maxSelect": 1},
                {"name": "keep", "type": "json"},
            ],
        })
        self.notes_id = notes["id"]
        # A view reading notes: every update of notes drops it and makes it
        # again in the same transaction (collection-update walks that).
        c.json("POST", "/api/collections", {
            "name": "note_stats", "type": "view", "listRule": "", "viewRule": "",
            "viewQuery": "SELECT n.id, n.title, count(t.id) AS tags FROM notes n "
                         "LEFT JOIN tags t ON t.id = n.tag GROUP BY n.id"})
        # A webhook on every create of notes: each write runs the outbox
        # listener under the faults, and check_outbox() holds its jobs to
        # exactly the creates that committed. Its target is refused
        # (loopback, no --allow-private-network): the jobs end dead at once.
        c.json("POST", "/api/collections/_webhooks/records", {
            "collection": "notes", "events": ["create"], "filter": "title != ''",
            "url": "http://127.0.0.1:9/hook", "secret": "s", "active": True})
        body = multipart([("title", "upd"), ("keep", json.dumps(KEEP)),
                          ("docs", "first.txt", b"first version\n")])
        rec = c.json("POST", "/api/collections/notes/records", body,
                     ctype="multipart/form-data; boundary=" + BOUNDARY)
        self.upd_id = rec["id"]
        self.batch_upd_id = c.json("POST", "/api/collections/notes/records",
                                   {"title": "b0", "keep": KEEP})["id"]
        # A searchable collection with a point (issue #18): its FTS5 tables
        # and R*Tree are written by triggers in the record's transaction,
        # made again by its changes.
        c.json("POST", "/api/collections", {
            "name": "finds", "listRule": "", "viewRule": "",
            "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "editor"},
                       {"name": "at", "type": "geoPoint"}],
            "search": {"fields": [{"name": "title"}]}})
        c.json("POST", "/api/collections/finds/records", {"title": "found seed",
                                                          "body": "<p>bodyword</p>"})
        # A vector field filled by embed jobs (issue #18, item 2): the job is
        # enqueued in the record's transaction.
        c.json("POST", "/api/collections", {
            "name": "vecs", "listRule": "", "viewRule": "",
            "fields": [{"name": "title", "type": "text"},
                       {"name": "emb", "type": "vector", "dimensions": 3}],
            "embedding": {"field": "emb", "source": ["title"]}})

    def record(self, rec_id):
        return self.c.json("GET", "/api/collections/notes/records/" + rec_id)


# --------------------------------------------------------------------------
# Operations: snapshot, run, check (ok: did the answer say success), restore
# --------------------------------------------------------------------------

class RecordCreate:
    """A create of a notes record: nothing to snapshot, and a success is
    deleted again."""

    def snapshot(self, w, n):
        return None

    def restore(self, w, n, ok, r):
        if ok:
            w.c.json("DELETE", "/api/collections/notes/records/" + r.json()["id"], status=204)


class Create(RecordCreate):
    name = "create"

    def run(self, w, n):
        return w.c.call("POST", "/api/collections/notes/records",
                        {"title": "%s-c%d" % (w.point, n), "n": n, "tag": w.tag_id}, user=True)

    def check(self, w, n, ok, r, before):
        rows = w.sql('SELECT id, title, n FROM "notes" WHERE title = ?', "%s-c%d" % (w.point, n))
        if ok:
            rec = r.json()
            want(len(rows) == 1 and rows[0][0] == rec["id"] and rows[0][2] == n and
                 rec["tag"] == w.tag_id,
                 "acknowledged create not stored as answered: %r vs %r" % (rows, rec))
            api = w.record(rec["id"])
            want(api["title"] == "%s-c%d" % (w.point, n), "read back %r" % api)
        else:
            want(rows == [], "failed create left rows %r" % rows)


class CreateFiles(RecordCreate):
    name = "create-files"

    def run(self, w, n):
        body = multipart([("title", "%s-f%d" % (w.point, n)), ("tag", w.tag_id),
                          ("docs", "a%d.txt" % n, b"a %d\n" % n),
                          ("docs", "b%d.txt" % n, b"b %d\n" % n)])
        return w.c.call("POST", "/api/collections/notes/records", body,
                        ctype="multipart/form-data; boundary=" + BOUNDARY, user=True)

    def check(self, w, n, ok, r, before):
        rows = w.sql('SELECT id, docs FROM "notes" WHERE title = ?', "%s-f%d" % (w.point, n))
        if ok:
            rec = r.json()
            want(len(rows) == 1 and rows[0][0] == rec["id"] and len(rec["docs"]) == 2 and
                 sorted(json.loads(rows[0][1])) == sorted(rec["docs"]),
                 "acknowledged create not stored as answered: %r vs %r" % (rows, rec))
        else:
            want(rows == [], "failed create left rows %r" % rows)


class UpdateFiles:
    name = "update-files"

    def snapshot(self, w, n):
        rec = w.record(w.upd_id)
        w.wait_storage(w.notes_id, w.upd_id, rec["docs"])
        return rec

    def run(self, w, n):
        body = multipart([("title", "%s-u%d" % (w.point, n)), ("n", str(n)), ("tag", w.tag_id),
                          ("docs", "v%d.txt" % n, b"version %d\n" % n)])
        return w.c.call("PATCH", "/api/collections/notes/records/" + w.upd_id, body,
                        ctype="multipart/form-data; boundary=" + BOUNDARY, user=True)

    def check(self, w, n, ok, r, before):
        rec = w.record(w.upd_id)
        want(rec["keep"] == KEEP, "a field the update does not name changed: %r" % rec["keep"])
        if ok:
            want(rec["title"] == "%s-u%d" % (w.point, n) and len(rec["docs"]) == 1 and
                 rec["docs"] != before["docs"] and rec["tag"] == w.tag_id,
                 "acknowledged update not stored: %r" % rec)
            path = os.path.join(w.server.datadir, "storage", w.notes_id, w.upd_id, rec["docs"][0])
            with open(path, "rb") as f:
                want(f.read() == b"version %d\n" % n, "stored file %s has other bytes" % path)
            want(r.json()["docs"] == rec["docs"], "answer %r, stored %r" % (r.json(), rec))
        else:
            keep = ("title", "n", "docs", "tag")
            want({k: rec[k] for k in keep} == {k: before[k] for k in keep},
                 "failed update changed the record: %r -> %r" % (before, rec))
        w.wait_storage(w.notes_id, w.upd_id, rec["docs"])

    def restore(self, w, n, ok, r):
        pass


def fields_of(coll):
    return [(f["name"], f["type"]) for f in coll["fields"]]


class CollectionUpdate:
    name = "collection-update"

    def snapshot(self, w, n):
        return {"api": w.c.json("GET", "/api/collections/notes"), "cols": w.columns("notes"),
                "view": w.c.json("GET", "/api/collections/note_stats")}

    def run(self, w, n):
        fields = self.base_fields + [{"name": "extra", "type": "text"}]
        return w.c.call("PATCH", "/api/collections/notes", {"fields": fields})

    def check(self, w, n, ok, r, before):
        coll = w.c.json("GET", "/api/collections/notes")
        cols = w.columns("notes")
        if ok:
            want("extra" in [f["name"] for f in coll["fields"]], "field missing after success")
            want("extra" in cols, "column missing after success: %r" % cols)
        else:
            want(coll == before["api"], "failed schema change changed the collection:\n%r\n%r" % (
                before["api"], coll))
            want(cols == before["cols"], "failed schema change changed the table: %r -> %r" % (
                before["cols"], cols))
        # The record API still works with the schema it reports.
        w.c.json("GET", "/api/collections/notes/records?perPage=1")
        # The view reading notes is there either way, as it was.
        want(w.c.json("GET", "/api/collections/note_stats") == before["view"],
             "the view's definition changed")
        rows = w.c.json("GET", "/api/collections/note_stats/records?perPage=500")["items"]
        want(len(rows) == len(w.sql('SELECT id FROM "notes"')), "the view lists %d rows" % len(rows))

    def restore(self, w, n, ok, r):
        if ok:
            w.c.json("PATCH", "/api/collections/notes", {"fields": self.base_fields})
            want("extra" not in w.columns("notes"), "restore left the column")


class CollectionCreate:
    name = "collection-create"

    def snapshot(self, w, n):
        return w.c.json("GET", "/api/collections?perPage=500")["totalItems"]

    def run(self, w, n):
        return w.c.call("POST", "/api/collections", {
            "name": "made", "listRule": "",
            "fields": [{"name": "label", "type": "text"}, {"name": "size", "type": "number"}],
        })

    def check(self, w, n, ok, r, before):
        tables = [t[0] for t in w.sql("SELECT name FROM sqlite_schema WHERE name = 'made'")]
        got = w.c.call("GET", "/api/collections/made")
        if ok:
            want(tables == ["made"] and got.status == 200, "created collection incomplete: %r %d" % (
                tables, got.status))
            want(w.columns("made")[:1] == ["id"], "table columns %r" % w.columns("made"))
            w.c.json("GET", "/api/collections/made/records")
        else:
            want(tables == [] and got.status == 404,
                 "failed collection create left table %r / API %d" % (tables, got.status))
            total = w.c.json("GET", "/api/collections?perPage=500")["totalItems"]
            want(total == before, "collections %d -> %d" % (before, total))

    def restore(self, w, n, ok, r):
        if ok:
            w.c.json("DELETE", "/api/collections/made", status=204)


class ViewCreate:
    name = "view-create"
    query = ("SELECT n.id, n.title, n.tag AS tagged, count(t.id) AS k FROM notes n "
             "LEFT JOIN tags t ON t.id = n.tag GROUP BY n.id")

    def snapshot(self, w, n):
        return w.c.json("GET", "/api/collections?perPage=500")["totalItems"]

    def run(self, w, n):
        return w.c.call("POST", "/api/collections", {
            "name": "made_view", "type": "view", "listRule": "", "viewQuery": self.query})

    def check(self, w, n, ok, r, before):
        views = [t[0] for t in w.sql("SELECT name FROM sqlite_schema WHERE name = 'made_view'")]
        got = w.c.call("GET", "/api/collections/made_view")
        if ok:
            want(views == ["made_view"] and got.status == 200, "created view incomplete: %r %d" % (
                views, got.status))
            want([f["name"] for f in json.loads(got.body)["fields"]] == ["id", "title", "tagged", "k"],
                 "view fields %r" % got.body[:300])
            w.c.json("GET", "/api/collections/made_view/records")
        else:
            want(views == [] and got.status == 404,
                 "failed view create left view %r / API %d" % (views, got.status))
            total = w.c.json("GET", "/api/collections?perPage=500")["totalItems"]
            want(total == before, "collections %d -> %d" % (before, total))

    def restore(self, w, n, ok, r):
        if ok:
            w.c.json("DELETE", "/api/collections/made_view", status=204)


class Batch:
    name = "batch"

    @staticmethod
    def titles(w, n):
        return ["%s-b%da" % (w.point, n), "%s-b%db" % (w.point, n)]

    def snapshot(self, w, n):
        return w.record(w.batch_upd_id)

    def run(self, w, n):
        a, b = self.titles(w, n)
        url = "/api/collections/notes/records"
        return w.c.call("POST", "/api/batch", {"requests": [
            {"method": "POST", "url": url, "body": {"title": a, "tag": w.tag_id}},
            {"method": "POST", "url": url, "body": {"title": b}},
            {"method": "PATCH", "url": url + "/" + w.batch_upd_id,
             "body": {"title": "%s-b%d" % (w.point, n), "n": n}},
        ]}, user=True)

    def made(self, w, n):
        return w.sql('SELECT id, title FROM "notes" WHERE title IN (?, ?) ORDER BY title',
                     *self.titles(w, n))

    def check(self, w, n, ok, r, before):
        made = [t for _, t in self.made(w, n)]
        rec = w.record(w.batch_upd_id)
        want(rec["keep"] == KEEP, "a field the update does not name changed: %r" % rec["keep"])
        if ok:
            want(made == self.titles(w, n), "acknowledged batch stored %r" % made)
            want(rec["title"] == "%s-b%d" % (w.point, n) and rec["n"] == n,
                 "acknowledged batch update not stored: %r" % rec)
            items = r.json()
            want(len(items) == 3, "batch answer %r" % r.body[:300])
            for x in items:
                # Committed: an item whose answer could not be made after the
                # commit says so in the error shape (the batch is still a 200).
                want(x["status"] == 200 or (x["status"] >= 500 and isinstance(x["body"], dict) and
                                            x["body"].get("status") == x["status"]),
                     "batch item answer %r" % x)
        else:
            want(made == [], "failed batch left %r" % made)
            want(rec["title"] == before["title"] and rec["n"] == before["n"],
                 "failed batch changed the record: %r -> %r" % (before, rec))

    def restore(self, w, n, ok, r):
        if ok:
            for rec_id, _ in self.made(w, n):
                w.c.json("DELETE", "/api/collections/notes/records/" + rec_id, status=204)


def found(w, text):
    q = "/api/collections/finds/records?perPage=1&search=" + urllib.parse.quote(text)
    return w.c.json("GET", q)["totalItems"]


def indexes_agree(w):
    """The search index and the point index hold every row of the table."""
    rows = len(w.sql('SELECT id FROM "finds"'))
    want(found(w, "found ") == rows, "the search index and the table disagree")
    q = "/api/collections/finds/records?perPage=1&filter=" + urllib.parse.quote(
        "geoDistance(at.lon, at.lat, 0.5, 0.5) < 100")
    want(w.c.json("GET", q)["totalItems"] == rows, "the point index and the table disagree")


class SearchCreate:
    """A create in a searchable collection: found by a search exactly when
    stored, and the index agrees with the table."""
    name = "search-create"

    @staticmethod
    def word(w, n):
        return "w%s%d" % ("".join(ch for ch in w.point if ch.isalpha()), n)

    def snapshot(self, w, n):
        return None

    def run(self, w, n):
        return w.c.call("POST", "/api/collections/finds/records",
                        {"title": "found " + self.word(w, n), "at": {"lon": 0.6, "lat": 0.4}})

    def check(self, w, n, ok, r, before):
        rows = w.sql('SELECT id FROM "finds" WHERE title = ?', "found " + self.word(w, n))
        hits = found(w, self.word(w, n) + " ")
        if ok:
            want(len(rows) == 1 and hits == 1, "stored %d, found %d" % (len(rows), hits))
        else:
            want(rows == [] and hits == 0, "failed create left %d rows, found %d" % (len(rows), hits))
        indexes_agree(w)

    def restore(self, w, n, ok, r):
        if ok:
            w.c.json("DELETE", "/api/collections/finds/records/" + r.json()["id"], status=204)


class SearchUpdate:
    """A change of the search (the index dropped, made again and filled from
    the rows): all or nothing."""
    name = "search-update"

    def snapshot(self, w, n):
        return w.c.json("GET", "/api/collections/finds")

    def run(self, w, n):
        return w.c.call("PATCH", "/api/collections/finds",
                        {"search": {"fields": [{"name": "title", "weight": 2}, {"name": "body"}]}})

    def check(self, w, n, ok, r, before):
        coll = w.c.json("GET", "/api/collections/finds")
        if ok:
            want(len(coll["search"]["fields"]) == 2, "search after success %r" % coll["search"])
            want(found(w, "bodyword ") == 1, "the body is not searched after a success")
        else:
            want(coll == before, "failed change changed the collection")
            want(found(w, "bodyword ") == 0, "a failed change searches the body")
        indexes_agree(w)

    def restore(self, w, n, ok, r):
        if ok:
            w.c.json("PATCH", "/api/collections/finds", {"search": {"fields": [{"name": "title"}]}})


class EmbedCreate:
    """A create with a vector and text to embed: the row, its vector's bytes
    and its embed job, or none of them."""
    name = "embed-create"

    @staticmethod
    def title(w, n):
        return "embed %s %d" % (w.point, n)

    def snapshot(self, w, n):
        return w.sql("SELECT count(*) FROM _jobs WHERE kind = 'embed'")[0][0]

    def run(self, w, n):
        return w.c.call("POST", "/api/collections/vecs/records",
                        {"title": self.title(w, n), "emb": [0.5, -1, 2]})

    def check(self, w, n, ok, r, before):
        rows = w.sql('SELECT id, emb FROM "vecs" WHERE title = ?', self.title(w, n))
        jobs = w.sql("SELECT count(*) FROM _jobs WHERE kind = 'embed'")[0][0]
        if ok:
            want(len(rows) == 1 and isinstance(rows[0][1], bytes) and len(rows[0][1]) == 12,
                 "stored %r" % (rows,))
            want(jobs == before + 1, "embed jobs %d, want %d" % (jobs, before + 1))
            got = w.c.json("GET", "/api/collections/vecs/records/" + rows[0][0])
            want(got["emb"] == [0.5, -1, 2], "vector read back %r" % got["emb"])
        else:
            want(rows == [] and jobs == before,
                 "failed create left %d rows and %d new jobs" % (len(rows), jobs - before))

    def restore(self, w, n, ok, r):
        if ok:
            w.c.json("DELETE", "/api/collections/vecs/records/" + r.json()["id"], status=204)


class SignIn:
    """A password sign-in: a fault in reading the account is the server's
    (5xx), never "Failed to authenticate" (a 400 that tells the user the
    password was wrong when it was never checked). Writes nothing."""
    name = "signin"

    def snapshot(self, w, n):
        return None

    def run(self, w, n):
        return w.c.call("POST", "/api/collections/users/auth-with-password",
                        {"identity": "walker@example.com", "password": "walker-password"},
                        auth=False)

    def check(self, w, n, ok, r, before):
        if ok:
            b = r.json()
            want(b.get("token") and b["record"]["email"] == "walker@example.com",
                 "a sign-in answered without its token and record: %r" % r.body[:200])

    def restore(self, w, n, ok, r):
        pass


OPS = (Create(), CreateFiles(), UpdateFiles(), CollectionUpdate(), CollectionCreate(), ViewCreate(),
       Batch(), SearchCreate(), SearchUpdate(), EmbedCreate(), SignIn())


# --------------------------------------------------------------------------
# The walk
# --------------------------------------------------------------------------

def one_run(w, op, point, nth, stats):
    """Arms the nth hit of point, runs op and checks the outcome. Returns
    (fired, hits, ok)."""
    before = op.snapshot(w, nth)
    outbox_before = w.outbox()
    w.c.json("POST", "/api/_test/fault?point=%s&nth=%d" % (point, nth), status=204)
    try:
        r = op.run(w, nth)
    except Exception as e:  # no answer: a crash, a hang or a dropped connection
        raise Fail("run %d: no answer (%s: %s); server alive=%s" % (
            nth, type(e).__name__, e, w.server.alive()))
    d = w.c.json("DELETE", "/api/_test/fault")
    if VERBOSE:
        print("#   %s/%s n=%d fired=%s hits=%d -> %d %s" % (
            op.name, point, nth, d["fired"], d["hits"], r.status, r.body[:160]))
    try:
        ok = check_answer(r)
        if not ok:
            stats.setdefault(r.status, 0)
            stats[r.status] += 1
        w.integrity()
        w.check_outbox(outbox_before)
        op.check(w, nth, ok, r, before)
        op.restore(w, nth, ok, r)
        w.storage_matches_records()
    except Fail as e:
        raise Fail("run %d (fault %s, %s): %s; answer %d %r" % (
            nth, "fired" if d["fired"] else "not fired", "hits=%d" % d["hits"], e,
            r.status, r.body[:300]))
    if not d["fired"]:
        want(ok, "run %d: no fault fired, yet the answer was %d %r" % (nth, r.status, r.body[:300]))
    return d["fired"], d["hits"], ok


def walk(w, op, point, max_runs, stats):
    """Fails the 1st, 2nd, ... hit of point in op until a run fires nothing.
    A fault-free run first counts the hits; past STRIDE_ABOVE of them the
    walk steps over them evenly (about STRIDE_ABOVE runs). H is the largest
    count of that run and of fault-free runs after failed ones; a walk still
    firing past 2H + 100 has hits that grow with n: a failure. max_runs
    (0: none) bounds the runs. Returns (runs, fired, errors, H, stride, bounded)."""
    w.point = point
    fired, hits, _ = one_run(w, op, point, NEVER, stats)
    want(not fired, "the fault-free run fired")
    # A failed run may leave more work for the next one (a schema change
    # rolled back makes SQLite drop the connection's parsed schema, and the
    # next statement parses it all again: a thousand allocations with the
    # search tables): H also counts fault-free runs after runs failed at a
    # quarter, half, three quarters and the end of the hits.
    stride = max(1, -(-hits // STRIDE_ABOVE))
    base = hits
    for k in (1, 2, 3, 4):
        if one_run(w, op, point, max(1, base * k // 4), stats)[0]:
            fired, after_fail, _ = one_run(w, op, point, NEVER, stats)
            want(not fired, "the fault-free run after a failed one fired")
            hits = max(hits, after_fail)
    errors = runs = 0
    nth = 1
    while True:
        if max_runs and runs >= max_runs:
            return runs, runs, errors, hits, stride, True
        if nth > 2 * hits + 100:
            raise Fail("still firing at hit %d; a fault-free run counts %d: the hits grow with n"
                       % (nth, hits))
        runs += 1
        fired, _, ok = one_run(w, op, point, nth, stats)
        errors += not ok
        if not fired:
            return runs, runs - 1, errors, hits, stride, False
        nth += stride


def ws_subscribe(w, token):
    """Subscribes over /api/realtime/ws with token; returns the answer's
    status, the HTTP status when the upgrade failed, or None when the
    connection dropped (allowed only where a fault fired: a 101 head or an
    answer frame that cannot be written for want of memory cannot be sent,
    and an answer that cannot be built closes the connection with 1011)."""
    from tarmac import Closed, build_request, ws_frame, ws_read
    c = w.server.connect(timeout=w.c.timeout)
    try:
        c.send(build_request("GET", "/api/realtime/ws", {
            "Host": "fault", "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}))
        status = c.read_head()[1]
        if status != 101:
            return status
        want(json.loads(ws_read(c)[1])["event"] == "PB_CONNECT", "no PB_CONNECT")
        c.send(ws_frame(1, json.dumps({"subscriptions": ["notes/*"],
                                       "authorization": token}).encode()))
        op, data = ws_read(c)
        if op == 8:
            # A close frame: the server could not build the answer. Only
            # 1011 (its own error) is a way to drop the client.
            code = int.from_bytes(data[:2], "big")
            want(code == 1011, "closed with %d, not 1011" % code)
            return None
        want(op == 1, "answer frame opcode %d" % op)
        return json.loads(data)["status"]
    except Closed:
        return None
    finally:
        c.close()


def ws_subscribe_walk(w, point):
    """A signed-in subscribe over the WebSocket under each fault: 204 or the
    server's 5xx, never a 4xx blaming the client (POST /api/realtime answers
    so too). Each run signs in a user of its own, so the worker has not seen
    the token: the requester's record is read, and that read fails too.
    Returns (runs, errors)."""
    errors = 0
    for n in range(1, MAX_RUNS + 1):
        email = "ws-%s-%d@example.com" % (point, n)
        user = w.c.json("POST", "/api/collections/users/records", {
            "email": email, "password": "ws-walk-password", "passwordConfirm": "ws-walk-password"})
        token = w.c.json("POST", "/api/collections/users/auth-with-password",
                         {"identity": email, "password": "ws-walk-password"}, auth=False)["token"]
        w.c.json("POST", "/api/_test/fault?point=%s&nth=%d" % (point, n), status=204)
        try:
            status = ws_subscribe(w, token)
        except Exception as e:
            raise Fail("run %d: no answer (%s: %s)" % (n, type(e).__name__, e))
        d = w.c.json("DELETE", "/api/_test/fault")
        w.c.json("DELETE", "/api/collections/users/records/" + user["id"], status=204)
        fired = "fired" if d["fired"] else "not fired"
        want(status is not None or d["fired"], "run %d (fault %s): dropped" % (n, fired))
        want(status in (None, 204) or status >= 500,
             "run %d (fault %s): answered %r" % (n, fired, status))
        errors += status != 204
        if not d["fired"]:
            want(status == 204, "run %d: no fault fired, yet the answer was %r" % (n, status))
            return n, errors
    raise Fail("no run without a fault after %d runs" % MAX_RUNS)


def fault_route_rejects(client):
    """The route's own bad input: each is a 400 in the error shape that arms
    nothing. Returns [(ok, name, why)]."""
    out = []
    bad = ["", "?point=alloc", "?nth=1", "?point=nope&nth=1", "?point=ALLOC&nth=1",
           "?point=alloc&nth=0", "?point=alloc&nth=-1", "?point=alloc&nth=abc",
           "?point=alloc&nth=", "?point=alloc&nth=1x", "?point=alloc&nth=+1",
           "?point=alloc&nth=18446744073709551616"]
    for q in bad:
        name = "POST /api/_test/fault%s is refused" % q
        r = client.call("POST", "/api/_test/fault" + q)
        try:
            want(r.status == 400, "answered %d %r" % (r.status, r.body[:200]))
            b = r.json()
            want(b.get("status") == 400 and isinstance(b.get("message"), str) and
                 isinstance(b.get("data"), dict), "body %r" % r.body[:200])
            d = client.json("DELETE", "/api/_test/fault")
            want(d == {"fired": False, "hits": 0}, "it armed a fault: %r" % d)
            out.append((True, name, ""))
        except (Fail, ValueError) as e:
            out.append((False, name, str(e)))
    r = client.call("GET", "/api/_test/fault")
    out.append((r.status == 405, "GET /api/_test/fault answers 405", "answered %d" % r.status))
    return out


def main():
    global VERBOSE
    args = parse_args()
    VERBOSE = args.verbose
    binary = os.path.abspath(args.bin)
    if "asan" in binary and not os.environ.get("TARMAC_TEST_SLOW"):
        os.environ["TARMAC_TEST_SLOW"] = "3"
    from tarmac import Server, SLOW, run_cli

    passed = failed = 0
    started = time.monotonic()

    def report(ok, name, why=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("ok - %s" % name)
        else:
            failed += 1
            print("FAIL - %s: %s" % (name, why))
        sys.stdout.flush()

    if not os.access(binary, os.X_OK):
        print("FAIL - setup: binary %s not found" % binary)
        print("0 passed, 1 failed")
        return 1

    env = {"TARMAC_FAULT_TRACE": "1"} if args.verbose else None
    server = Server(binary, flags=["--workers=2", "--rate-limits=auth-ip=0/1s,auth-identity=0/1s"], env=env, name="fault")
    try:
        os.makedirs(server.tmpdir, exist_ok=True)
        rc, out, err = run_cli(binary, ["superuser", "upsert", SU_EMAIL, SU_PASS,
                                        "--dir=" + server.datadir])
        if rc != 0:
            raise Fail("superuser upsert: %d %s %s" % (rc, out, err))
        server.start()
        client = Client(server, timeout=20.0 * SLOW)
        probe = client.call("DELETE", "/api/_test/fault")
        if probe.status == 404:
            # A release build: the route must not exist, and that is all.
            report(True, "the binary has no fault route (not a test build)")
            rc = server.stop()
            report(rc == 0, "the server stops cleanly (exit %s)" % rc)
            print("%d passed, %d failed" % (passed, failed))
            return 0 if failed == 0 else 1
        want(probe.status == 200, "fault route answers %d" % probe.status)
        for ok, name, why in fault_route_rejects(client):
            report(ok, name, why)
        w = World(server, client)
        w.setup()
        CollectionUpdate.base_fields = client.json("GET", "/api/collections/notes")["fields"]
    except Exception as e:
        print("FAIL - setup: %s: %s" % (type(e).__name__, e))
        if args.verbose:
            traceback.print_exc()
            sys.stdout.write(server.stderr_text()[-3000:])
        server.cleanup(keep=args.keep)
        print("%d passed, %d failed" % (passed, failed + 1))
        return 1

    total_runs = 0
    try:
        for op in OPS:
            for point in POINTS:
                name = "%s/%s" % (op.name, point)
                if args.only and args.only not in name:
                    continue
                if not server.alive():
                    report(False, name, "server is gone")
                    continue
                bound = args.max_alloc if point == "alloc" else 0
                stats = {}
                t0 = time.monotonic()
                try:
                    runs, fired, errors, hits, stride, bounded = walk(w, op, point, bound, stats)
                    total_runs += runs
                    report(True, "%s: %d faults%s%s of %d hits, %d answered an error %s, %.1fs" % (
                        name, fired, " (bounded)" if bounded else "",
                        " (every %dth)" % stride if stride > 1 else "", hits, errors,
                        json.dumps({str(k): v for k, v in stats.items()}, sort_keys=True),
                        time.monotonic() - t0))
                except Fail as e:
                    report(False, name, str(e))
                except Exception as e:
                    report(False, name, "%s: %s" % (type(e).__name__, e))
                    if args.verbose:
                        traceback.print_exc()
                if not server.alive():
                    tail = server.stderr_text()[-3000:]
                    report(False, name + " (server survived)",
                           "exited rc=%r; stderr tail: %s" % (server.proc.poll(),
                                                              tail.replace("\n", " | ")))
        for point in POINTS:
            name = "ws-subscribe/%s" % point
            if args.only and args.only not in name:
                continue
            try:
                runs, errors = ws_subscribe_walk(w, point)
                total_runs += runs
                report(True, "%s: %d faults, %d answered an error" % (name, runs - 1, errors))
            except Fail as e:
                report(False, name, str(e))
        client.close()
        if server.alive() and not args.only:
            why = server.stop_clean(excerpt=3000)
            report(not why, "server exits 0 on SIGTERM with no sanitizer report", why)
        if failed and args.verbose:
            sys.stdout.write(server.stderr_text()[-6000:])
    finally:
        server.cleanup(keep=args.keep)
    sys.stderr.write("fault walk: %d runs in %.1fs\n" % (total_runs, time.monotonic() - started))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
