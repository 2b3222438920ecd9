#!/usr/bin/python3
"""A restore interrupted at every step leaves the old data or the new, never
a mix (core/backup/restore.h, issue #15 item 3).

    /usr/bin/python3 tests/fault/restore.py [--bin build/asan/tarmac]

A data directory holds state B (a record titled "B" with a file "B") and a
backup of state A (the same record titled "A", its file "A"). For
n = 1, 2, ... a fresh copy of it is restored with `tarmac backup restore`
(the code the server runs after it stops), the test build's
TARMAC_TEST_RESTORE_CRASH=n ending the process at the nth step of the commit
and the roll forward (and, in a second walk, TARMAC_TEST_RESTORE_FAIL=n
failing it). Then `tarmac serve` opens the directory (finishing a committed
restore first) and the record, its file and the data directory must be all A
(the crash came after the commit point) or all B (before it): a title with
the other state's file, a file missing, a leftover restore directory or a
database that fails PRAGMA integrity_check fails the test. The walk ends with
the first n at which the restore ran to its end. On PostgreSQL
(TARMAC_TEST_ENGINE=postgresql with TARMAC_TEST_PG) each copy gets a database
of its own, made from the prepared one as a template. Both walks run twice:
with the files in DIR/storage, then in a --storage-dir beside DIR (whose
entries the roll forward swaps by renames, restore.c's swap_storage).

Given the release binary (no fault points), the restore is run once, plainly.
Prints `ok - ...` / `FAIL - ...` lines and, last, `N passed, N failed`.
"""

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ENGINE = os.environ.get("TARMAC_TEST_ENGINE", "sqlite")
PG = os.environ.get("TARMAC_TEST_PG", "")
EMAIL, PASSWORD = "admin@example.com", "adminpass123"
passed = failed = 0


def want(cond, msg):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + msg)
    else:
        failed += 1
        print("FAIL - " + msg)
    sys.stdout.flush()
    return cond


def env():
    e = {k: v for k, v in os.environ.items() if not k.startswith("TARMAC_")}
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:halt_on_error=1")
    return e


def psql(url, sql):
    subprocess.run(["psql", "-q", "-X", url, "-c", sql], check=True, capture_output=True)


def db_url(name):
    return PG.replace(":///tarmac?", ":///%s?" % name)


def files_of(d, shared):
    """The uploads' directory of data directory d."""
    return d + "-files" if shared else os.path.join(d, "storage")


def flags(d, db, shared):
    return (["--db=" + db] if db else []) + (["--storage-dir=" + files_of(d, True)] if shared else [])


class Server:
    def __init__(self, binary, d, db, shared=False):
        self.log = open(os.path.join(d, "..", os.path.basename(d) + ".log"), "w")
        args = [binary, "serve", "--http=127.0.0.1:0", "--dir=" + d, "--access-log=false"]
        args += flags(d, db, shared)
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, env=env(),
                                  text=True)
        line = ""
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.p.stdout.readline()
            m = re.search(r"server started at (http://[0-9.]+:\d+)", line)
            if m:
                self.url = m.group(1)
                break
            if not line and self.p.poll() is not None:
                raise RuntimeError("the server did not start (exit %s)" % self.p.returncode)
        self.token = self.call("POST", "/api/collections/_superusers/auth-with-password",
                               json.dumps({"identity": EMAIL, "password": PASSWORD}).encode(),
                               "application/json", auth=False)[1]["token"]

    def call(self, method, path, body=None, ctype=None, auth=True):
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if ctype:
            req.add_header("Content-Type", ctype)
        if auth:
            req.add_header("Authorization", self.token)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=60)
        self.log.close()
        return rc


def multipart(fields, files):
    b = "----tarmacrestore"
    out = b""
    for k, v in fields.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (b, k, v)).encode()
    for k, (name, data) in files.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                "Content-Type: text/plain\r\n\r\n" % (b, k, name)).encode() + data + b"\r\n"
    out += ("--%s--\r\n" % b).encode()
    return out, "multipart/form-data; boundary=" + b


def prepare(binary, d, db, shared=False):
    """State A, its backup a.zip, then state B; the server stopped."""
    r = subprocess.run([binary, "superuser", "upsert", EMAIL, PASSWORD, "--dir=" + d] +
                       (["--db=" + db] if db else []), env=env(), capture_output=True)
    if r.returncode:
        raise RuntimeError("superuser: " + r.stderr.decode())
    s = Server(binary, d, db, shared)
    st, _ = s.call("POST", "/api/collections", json.dumps({
        "name": "notes", "type": "base", "listRule": "", "viewRule": "",
        "fields": [{"name": "title", "type": "text"},
                   {"name": "doc", "type": "file", "maxSelect": 1}]}).encode(), "application/json")
    assert st == 200, st
    body, ct = multipart({"id": "aaaaaaaaaaaaaaa", "title": "A"}, {"doc": ("a.txt", b"A")})
    st, rec = s.call("POST", "/api/collections/notes/records", body, ct)
    assert st == 200, rec
    st, _ = s.call("POST", "/api/backups", json.dumps({"name": "a.zip"}).encode(), "application/json")
    assert st == 204, st
    body, ct = multipart({"title": "B"}, {"doc": ("b.txt", b"B")})
    st, rec = s.call("PATCH", "/api/collections/notes/records/aaaaaaaaaaaaaaa", body, ct)
    assert st == 200, rec
    assert s.stop() == 0


def state_of(binary, d, db, shared=False):
    """'A', 'B', or a sentence saying what is wrong."""
    try:
        s = Server(binary, d, db, shared)
    except Exception as e:  # noqa: BLE001 -- the reason goes into the failure
        return "no start: %s" % e
    try:
        st, rec = s.call("GET", "/api/collections/notes/records/aaaaaaaaaaaaaaa")
        if st != 200:
            return "record: %s %s" % (st, rec)
        st, raw = s.call("GET", "/api/files/notes/aaaaaaaaaaaaaaa/" + rec["doc"])
        if st != 200:
            return "file %s: %s" % (rec["doc"], st)
        content = raw.decode() if isinstance(raw, bytes) else str(raw)
        if rec["title"] != content or not rec["doc"].startswith(content.lower()):
            return "a mix: title %s, file %s (%s)" % (rec["title"], rec["doc"], content)
        files = os.listdir(os.path.join(files_of(d, shared), rec["collectionId"], "aaaaaaaaaaaaaaa"))
        if files != [rec["doc"]]:
            return "the record's folder holds %s" % files
        left = [x for x in ("pending", "old", "staged")
                if os.path.exists(os.path.join(d, ".tarmac_restore", x))]
        left += [x for x in (".tarmac_restore_staged", ".tarmac_restore_old")
                 if os.path.exists(os.path.join(files_of(d, shared), x))]
        if left:
            return "left behind: %s" % left
        if not db:
            con = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, "data.db"), uri=True)
            ok = con.execute("PRAGMA integrity_check").fetchone()[0]
            con.close()
            if ok != "ok":
                return "integrity_check: " + ok
        return rec["title"]
    finally:
        rc = s.stop()
        if rc != 0:
            return "the server exited %s" % rc


made_dbs = []


def walk(binary, base, base_db, var, shared=False):
    """Restores a copy with var=n for n = 1, 2, ...; returns the steps seen."""
    commit_at = None
    var_shown = var + (" --storage-dir" if shared else "")
    for n in range(1, 100):
        d = "%s-%s-%d" % (base, var.split("_")[-1].lower(), n)
        shutil.copytree(base, d, symlinks=True)
        if shared:
            shutil.copytree(files_of(base, True), files_of(d, True), symlinks=True)
        db = ""
        if base_db:
            name = "r%d_%s%s_%d" % (os.getpid(), var.split("_")[-1].lower(), "_s" if shared else "", n)
            psql(PG, 'CREATE DATABASE "%s" TEMPLATE "%s"' % (name, base_db))
            made_dbs.append(name)
            db = db_url(name)
        e = env()
        e[var] = str(n)
        args = [binary, "backup", "restore", "a.zip", "--dir=" + d] + flags(d, db, shared)
        r = subprocess.run(args, env=e, capture_output=True, text=True)
        m = re.search(r"restore: (?:crash|failure) at step (\d+) \(([^)]*)\)", r.stderr)
        if not m:
            want(r.returncode == 0, "%s=%d: the restore ran to its end (%s)" % (var_shown, n, r.stderr.strip()[-300:]))
            want(state_of(binary, d, db, shared) == "A", "%s=%d: restored: all A" % (var_shown, n))
            return n
        what = m.group(2)
        # The commit point: the rename on SQLite, psql's COMMIT on PostgreSQL
        # (a crash at the step after it finds the marker row at the next start).
        if what == ("psql" if base_db else "commit"):
            commit_at = n
        expect = "A" if commit_at is not None and n > commit_at else "B"
        got = state_of(binary, d, db, shared)
        want(got == expect, "%s=%d (%s, exit %d): %s, expected all %s" % (var_shown, n, what, r.returncode, got, expect))
    want(False, "%s: the walk did not end" % var_shown)
    return 0


def run_all(binary, base, shared):
    """Both walks (or, on a release build, one plain restore) of a fresh base."""
    base_db = ""
    if ENGINE == "postgresql":
        base_db = "rbase_%d_%d" % (os.getpid(), shared)
        psql(PG, 'CREATE DATABASE "%s"' % base_db)
        made_dbs.append(base_db)
    db = db_url(base_db) if base_db else ""
    prepare(binary, base, db, shared)
    shown = " --storage-dir" if shared else ""
    with_faults = subprocess.run(["nm", binary], capture_output=True, text=True).stdout
    if "fault_hit" not in with_faults:
        d = base + "-plain"
        shutil.copytree(base, d)
        if shared:
            shutil.copytree(files_of(base, True), files_of(d, True))
        r = subprocess.run([binary, "backup", "restore", "a.zip", "--dir=" + d] + flags(d, db, shared),
                           env=env(), capture_output=True, text=True)
        want(r.returncode == 0, "release build%s: a plain restore (%s)" % (shown, r.stderr.strip()))
        want(state_of(binary, d, db, shared) == "A", "release build%s: all A" % shown)
        return
    steps = walk(binary, base, base_db, "TARMAC_TEST_RESTORE_CRASH", shared)
    want(steps > 3, "the crash walk%s met %d steps" % (shown, steps - 1))
    walk(binary, base, base_db, "TARMAC_TEST_RESTORE_FAIL", shared)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "tarmac"))
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    top = tempfile.mkdtemp(prefix="tarmac-restore-fault-")
    if ENGINE == "postgresql" and not PG:
        print("TARMAC_TEST_ENGINE=postgresql needs TARMAC_TEST_PG")
        print("0 passed, 1 failed")
        return 1
    try:
        for shared in (False, True):
            run_all(binary, os.path.join(top, "shared" if shared else "base"), shared)
    except Exception as e:  # noqa: BLE001
        want(False, "setup: %s" % e)
    finally:
        if not os.environ.get("TARMAC_TEST_KEEP"):
            shutil.rmtree(top, ignore_errors=True)
            for name in made_dbs:
                subprocess.run(["psql", "-q", "-X", PG, "-c", 'DROP DATABASE IF EXISTS "%s"' % name],
                               capture_output=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
