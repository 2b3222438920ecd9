#!/usr/bin/python3
"""Migrations (issue #13 item 5): `tarmac migrate create|up|down|snapshot|history`
and `serve --automigrate`, against the built binary.

Each test makes its own data directory (a fresh tarmac_data and, beside it,
tarmac_migrations), runs the CLI, looks at the SQLite file and, where the API
matters, starts a server and asks it. Ends with the "N passed, N failed" line
tests/run reads.

  /usr/bin/python3 tests/migrate/run.py [--bin build/release/tarmac] [--only NAME] [-v]
"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import traceback
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.dont_write_bytecode = True

from tarmac import Server, run_cli, SLOW  # noqa: E402

SU_EMAIL, SU_PASS = "migrate@example.com", "migrate-pass-123456"


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


SERVERS = []
TMPDIRS = []
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Site:
    """A data directory and its migrations folder (the default one, beside it)."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="tarmac-migrate-")
        TMPDIRS.append(self.root)
        self.data = os.path.join(self.root, "data")
        self.mdir = os.path.join(self.root, "tarmac_migrations")

    def write(self, name, text):
        os.makedirs(self.mdir, exist_ok=True)
        with open(os.path.join(self.mdir, name), "w") as f:
            f.write(text)

    def cli(self, *args):
        return run_cli(BIN, ["migrate"] + list(args) + ["--dir=" + self.data], timeout=60 * SLOW)

    def ok(self, *args):
        rc, out, err = self.cli(*args)
        check(rc == 0, "migrate %s: rc=%d out=%r err=%r" % (" ".join(args), rc, out, err))
        return out

    def sql(self, q, params=()):
        db = sqlite3.connect(os.path.join(self.data, "data.db"))
        try:
            return db.execute(q, params).fetchall()
        finally:
            db.close()

    def tables(self):
        return {r[0] for r in self.sql("SELECT name FROM sqlite_master WHERE type='table'")}

    def collections(self):
        return {r[0] for r in self.sql("SELECT name FROM _collections")}

    def applied(self):
        return [r[0] for r in self.sql("SELECT file FROM _migrations ORDER BY applied, file")]

    def fields(self, collection):
        data = self.sql("SELECT data FROM _collections WHERE name = ?", (collection,))
        check(data, "no collection %s" % collection)
        return [f["name"] for f in json.loads(data[0][0])["fields"]]

    def server(self, flags=(), start=True):
        """A server over this data directory (superuser made first)."""
        rc, out, err = run_cli(BIN, ["superuser", "upsert", SU_EMAIL, SU_PASS,
                                     "--dir=" + self.data])
        check(rc == 0, "superuser upsert: %s %s" % (out, err))
        s = Server(BIN, list(flags), name="migrate")
        shutil.rmtree(s.tmpdir, ignore_errors=True)
        s.tmpdir = self.root  # serve's --dir and the default migrations folder are ours
        s.datadir = self.data
        s.stderr_path = os.path.join(self.root, "stderr-%d.log" % len(SERVERS))
        SERVERS.append(s)
        if start:
            s.start()
        return s


class Api:
    def __init__(self, server, login=True):
        self.base = "http://127.0.0.1:%d" % server.port
        self.token = None
        if login:
            st, j = self.call("POST", "/api/collections/_superusers/auth-with-password",
                              {"identity": SU_EMAIL, "password": SU_PASS})
            check(st == 200, "superuser login: %d %r" % (st, j))
            self.token = j["token"]

    def call(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        tok = token if token is not None else self.token
        if tok:
            req.add_header("Authorization", tok)
        try:
            with urllib.request.urlopen(req, timeout=20 * SLOW) as r:
                body, status = r.read(), r.status
        except urllib.error.HTTPError as e:
            body, status = e.read(), e.code
        return status, (json.loads(body) if body else None)

    def ok(self, method, path, body=None, want=(200, 201, 204)):
        st, j = self.call(method, path, body)
        check(st in want, "%s %s: %d %r" % (method, path, st, j))
        return j


def stop(server):
    why = server.stop_clean(excerpt=2000)
    check(not why, "server: %s" % why)


# --------------------------------------------------------------------------
# Migration files used by several tests

POSTS = """return {
  up = function(m)
    m.collections.save({
      name = "posts", type = "base",
      listRule = "", viewRule = "",
      fields = {{name = "title", type = "text", required = true}},
    })
  end,
  down = function(m)
    m.collections.delete("posts")
  end,
}
"""

# Needs POSTS applied first: adds a field to it, and back.
POSTS_BODY = """return {
  up = function(m)
    local c = m.collections.get("posts")
    assert(c, "posts is missing")
    table.insert(c.fields, {name = "body", type = "editor"})
    m.collections.save(c)
  end,
  down = function(m)
    local c = m.collections.get("posts")
    local kept = tarmac.json.array({})
    for _, f in ipairs(c.fields) do
      if f.name ~= "body" then kept[#kept + 1] = f end
    end
    c.fields = kept
    m.collections.save(c)
  end,
}
"""

COMMENTS = """return {
  up = function(m)
    local posts = m.collections.get("posts")
    m.collections.save({
      name = "comments", type = "base", listRule = "",
      fields = {
        {name = "post", type = "relation", collectionId = posts.id, maxSelect = 1},
        {name = "text", type = "text"},
      },
    })
  end,
  down = function(m)
    m.collections.delete("comments")
  end,
}
"""


# --------------------------------------------------------------------------


@test
def create_writes_a_template():
    s = Site()
    out = s.ok("create", "add_posts")
    m = re.search(r"Created (\S+)", out)
    check(m, "no path in %r" % out)
    path = m.group(1)
    name = os.path.basename(path)
    check(re.fullmatch(r"\d{10}_add_posts\.lua", name), "file name %r" % name)
    check(os.path.realpath(os.path.dirname(path)) == os.path.realpath(s.mdir),
          "not in tarmac_migrations: %s" % path)
    text = open(path).read()
    for want in ("up = function(m)", "down = function(m)", "m.collections.save",
                 "m.records.create"):
        check(want in text, "template lacks %r" % want)
    # the template applies and reverts as it is
    out = s.ok("up")
    check("Applied " + name in out, out)
    check(s.applied() == [name], "applied: %r" % s.applied())
    s.ok("down")
    check(s.applied() == [], "after down: %r" % s.applied())
    # names outside [a-z0-9_]+ are refused, and write nothing
    for bad in ("Add-Posts", "add posts", "../x", "ä"):
        rc, out, err = s.cli("create", bad)
        check(rc == 2 and "invalid name" in err, "create %r: %d %r" % (bad, rc, err))
    rc, out, err = s.cli("create")
    check(rc == 2, "create without NAME: %d" % rc)
    rc, out, err = s.cli("frobnicate")
    check(rc == 2 and "unknown subcommand" in err, "unknown: %d %r" % (rc, err))
    check(os.listdir(s.mdir) == [name], "files: %r" % os.listdir(s.mdir))


@test
def up_applies_in_order_and_records():
    s = Site()
    # written out of order: the names decide
    s.write("300_comments.lua", COMMENTS)
    s.write("100_posts.lua", POSTS)
    s.write("200_posts_body.lua", POSTS_BODY)
    out = s.ok("up")
    lines = [ln for ln in out.splitlines() if ln.startswith("Applied ")]
    check(lines == ["Applied 100_posts.lua", "Applied 200_posts_body.lua",
                    "Applied 300_comments.lua", "Applied 3 migrations."], "output %r" % out)
    check(s.applied() == ["100_posts.lua", "200_posts_body.lua", "300_comments.lua"],
          "rows %r" % s.applied())
    check(s.fields("posts")[-2:] == ["title", "body"], "posts fields %r" % s.fields("posts"))
    check({"posts", "comments"} <= s.tables(), "tables %r" % s.tables())
    # applied times follow the order
    times = [r[0] for r in s.sql("SELECT applied FROM _migrations ORDER BY file")]
    check(times == sorted(times) and times[0] > 1e15, "applied times %r" % times)
    # again: nothing to do, nothing changed
    before = s.sql("SELECT file, applied FROM _migrations ORDER BY file")
    out = s.ok("up")
    check("No pending migrations." in out, out)
    check(s.sql("SELECT file, applied FROM _migrations ORDER BY file") == before, "rows changed")
    out = s.ok("history")
    check(out.count("applied  ") == 3 and "3 applied, 0 pending" in out, out)
    # the API sees them
    srv = s.server()
    api = Api(srv)
    posts = api.ok("GET", "/api/collections/posts")
    check([f["name"] for f in posts["fields"]][-2:] == ["title", "body"], posts)
    comments = api.ok("GET", "/api/collections/comments")
    rel = [f for f in comments["fields"] if f["name"] == "post"][0]
    check(rel["collectionId"] == posts["id"], rel)
    api.ok("POST", "/api/collections/posts/records", {"title": "t", "body": "<p>b</p>"})
    stop(srv)


@test
def up_and_down_take_a_count():
    s = Site()
    s.write("100_posts.lua", POSTS)
    s.write("200_posts_body.lua", POSTS_BODY)
    s.write("300_comments.lua", COMMENTS)
    out = s.ok("up", "1")
    check(s.applied() == ["100_posts.lua"] and "Applied 1 migration." in out, out)
    out = s.ok("history")
    check("1 applied, 2 pending" in out and "pending" in out, out)
    s.ok("up")
    out = s.ok("down", "2")
    check(out.splitlines()[:2] == ["Reverted 300_comments.lua", "Reverted 200_posts_body.lua"],
          "order %r" % out)
    check(s.applied() == ["100_posts.lua"], "rows %r" % s.applied())
    for bad in ("0", "-1", "x", "1.5"):
        rc, out, err = s.cli("up", bad)
        check(rc == 2, "up %s: %d" % (bad, rc))
    check(s.applied() == ["100_posts.lua"], "a bad N changed something")


@test
def down_reverts():
    s = Site()
    s.write("100_posts.lua", POSTS)
    s.write("200_posts_body.lua", POSTS_BODY)
    s.write("300_comments.lua", COMMENTS)
    s.ok("up")
    # the last one: its table goes
    out = s.ok("down")
    check("Reverted 300_comments.lua" in out and "Reverted 1 migration." in out, out)
    check("comments" not in s.tables() and "comments" not in s.collections(),
          "comments still there")
    check(s.applied() == ["100_posts.lua", "200_posts_body.lua"], "rows %r" % s.applied())
    # the next: the field goes, the table stays
    s.ok("down")
    check("body" not in s.fields("posts") and "posts" in s.tables(), s.fields("posts"))
    cols = [r[1] for r in s.sql("PRAGMA table_info(posts)")]
    check("body" not in cols and "title" in cols, "columns %r" % cols)
    # and up brings both back
    s.ok("up")
    check("body" in s.fields("posts") and "comments" in s.tables(), "up after down")
    srv = s.server()
    api = Api(srv)
    api.ok("GET", "/api/collections/comments")
    stop(srv)
    s.ok("down", "3")
    check(s.applied() == [] and not ({"posts", "comments"} & s.tables()), "all reverted")
    out = s.ok("down")
    check("No applied migrations to revert." in out, out)


@test
def builtin_notify_collections_take_new_fields_on_start():
    """A data directory of an earlier version: `_notifyPrefs` without
    quietHours, `_notifyTriggers` whose title was required. The next start
    gives them this version's fields, keeping ids and rows; a start with
    nothing to change changes nothing."""
    s = Site()
    srv = s.server()
    api = Api(srv)
    st, u = api.call("POST", "/api/collections/users/records",
                     {"email": "old@example.com", "password": "userpass123",
                      "passwordConfirm": "userpass123"})
    check(st == 200, "user: %r" % (u,))
    api.ok("POST", "/api/collections/_notifyPrefs/records", {"user": u["id"], "muted": {"*": ["sms"]}})
    stop(srv)
    for name, drop, required in (("_notifyPrefs", "quietHours", None),
                                 ("_notifyTriggers", "template", "title")):
        d = json.loads(s.sql("SELECT data FROM _collections WHERE name = ?", (name,))[0][0])
        d["fields"] = [f for f in d["fields"] if f["name"] != drop]
        for f in d["fields"]:
            if f["name"] == required:
                f["required"] = True
        db = sqlite3.connect(os.path.join(s.data, "data.db"))
        db.execute("UPDATE _collections SET data = ? WHERE name = ?", (json.dumps(d), name))
        db.execute('ALTER TABLE "%s" DROP COLUMN "%s"' % (name, drop))
        db.commit()
        db.close()
    ids_before = {f["name"]: f["id"] for f in json.loads(s.sql(
        "SELECT data FROM _collections WHERE name = '_notifyPrefs'")[0][0])["fields"]}
    srv = s.server()
    api = Api(srv)
    check("quietHours" in s.fields("_notifyPrefs"), "quietHours added: %r" % s.fields("_notifyPrefs"))
    check(s.fields("_notifyPrefs")[0] == "id", "id stays first")
    ids_after = {f["name"]: f["id"] for f in json.loads(s.sql(
        "SELECT data FROM _collections WHERE name = '_notifyPrefs'")[0][0])["fields"]}
    check(all(ids_after[k] == v for k, v in ids_before.items()), "field ids kept")
    prefs = api.ok("GET", "/api/collections/_notifyPrefs/records")["items"]
    check(len(prefs) == 1 and prefs[0]["muted"] == {"*": ["sms"]}, "rows kept: %r" % prefs)
    api.ok("PATCH", "/api/collections/_notifyPrefs/records/" + prefs[0]["id"],
           {"quietHours": {"start": "22:00", "end": "07:00", "utcOffset": 0}})
    trig = json.loads(s.sql("SELECT data FROM _collections WHERE name = '_notifyTriggers'")[0][0])
    title = [f for f in trig["fields"] if f["name"] == "title"][0]
    check(not title.get("required"), "title no longer required")
    updated = s.sql("SELECT updated FROM _collections WHERE name LIKE '_notify%' ORDER BY name")
    stop(srv)
    srv = s.server()
    check(s.sql("SELECT updated FROM _collections WHERE name LIKE '_notify%' ORDER BY name") == updated,
          "a start with nothing to change changes nothing")
    stop(srv)


def assert_untouched(s, tables_before, collections_before, applied_before):
    check(s.tables() == tables_before, "tables %r -> %r" % (tables_before, s.tables()))
    check(s.collections() == collections_before,
          "collections %r -> %r" % (collections_before, s.collections()))
    check(s.applied() == applied_before, "rows %r -> %r" % (applied_before, s.applied()))


@test
def a_lua_error_rolls_back_and_stops():
    s = Site()
    s.write("100_posts.lua", POSTS)
    s.ok("up")
    t0, c0, a0 = s.tables(), s.collections(), s.applied()
    s.write("200_ok.lua", """return {
  up = function(m) m.collections.save({name = "kept", type = "base"}) end,
  down = function(m) m.collections.delete("kept") end,
}
""")
    s.write("300_boom.lua", """return {
  up = function(m)
    m.collections.save({name = "things", type = "base", fields = {{name = "a", type = "text"}}})
    m.records.create("things", {a = "x"})
    m.records.create("posts", {title = "seeded"})
    local c = m.collections.get("posts")
    table.insert(c.fields, {name = "extra", type = "number"})
    m.collections.save(c)
    error("boom")
  end,
}
""")
    s.write("400_after.lua", """return {
  up = function(m) m.collections.save({name = "after", type = "base"}) end,
}
""")
    rc, out, err = s.cli("up")
    check(rc == 1, "rc %d" % rc)
    check("300_boom.lua:9:" in err and "boom" in err, "message %r" % err)
    check("Applied 200_ok.lua" in out, "the earlier one of the run: %r" % out)
    # 200 stays applied; 300 left nothing (table, row, schema, records); 400 never ran
    assert_untouched(s, t0 | {"kept"}, c0 | {"kept"}, a0 + ["200_ok.lua"])
    check("extra" not in s.fields("posts"), "posts field kept")
    check(s.sql("SELECT COUNT(*) FROM posts") == [(0,)], "seeded record kept")
    out = s.ok("history")
    check("2 applied, 2 pending" in out, out)
    # the server sees the schema as it was (no "things", no "extra")
    srv = s.server()
    api = Api(srv)
    st, _ = api.call("GET", "/api/collections/things")
    check(st == 404, "things: %d" % st)
    check("extra" not in [f["name"] for f in api.ok("GET", "/api/collections/posts")["fields"]],
          "extra in the API")
    stop(srv)
    # a syntax error names the file and line too
    os.remove(os.path.join(s.mdir, "300_boom.lua"))
    s.write("300_boom.lua", "return {\n  up = function(m)\n    local x = = 1\n  end,\n}\n")
    rc, out, err = s.cli("up")
    check(rc == 1 and "300_boom.lua:3:" in err, "syntax: %d %r" % (rc, err))
    # a file that returns no table
    s.write("300_boom.lua", "return 42\n")
    rc, out, err = s.cli("up")
    check(rc == 1 and "300_boom.lua" in err and "not a table" in err, "no table: %r" % err)
    # the sandbox: no io, no os.execute
    s.write("300_boom.lua", "return { up = function(m) io.open('/etc/passwd') end }\n")
    rc, out, err = s.cli("up")
    check(rc == 1 and "300_boom.lua:1:" in err, "io: %d %r" % (rc, err))
    s.write("300_boom.lua", "return { up = function(m) os.execute('true') end }\n")
    rc, out, err = s.cli("up")
    check(rc == 1 and "300_boom.lua:1:" in err, "os.execute: %d %r" % (rc, err))
    assert_untouched(s, t0 | {"kept"}, c0 | {"kept"}, a0 + ["200_ok.lua"])


@test
def an_invalid_collection_rolls_back():
    s = Site()
    s.write("100_posts.lua", POSTS)
    s.ok("up")
    t0, c0, a0 = s.tables(), s.collections(), s.applied()
    s.write("200_bad.lua", """return {
  up = function(m)
    m.collections.save({name = "good", type = "base", fields = {{name = "a", type = "text"}}})
    m.records.create("good", {a = "x"})
    m.collections.save({name = "bad", type = "base", fields = {{name = "a", type = "nosuchtype"}}})
  end,
}
""")
    rc, out, err = s.cli("up")
    check(rc == 1, "rc %d" % rc)
    check("200_bad.lua:5:" in err and "m.collections.save" in err, "message %r" % err)
    assert_untouched(s, t0, c0, a0)
    # caught with pcall: still a failed migration (the transaction may hold half of it)
    s.write("200_bad.lua", """return {
  up = function(m)
    m.collections.save({name = "good", type = "base"})
    local ok, e = pcall(m.collections.save, {name = "posts2", type = "base",
      fields = {{name = "x", type = "relation", collectionId = "nope"}}})
    assert(not ok)
  end,
}
""")
    rc, out, err = s.cli("up")
    check(rc == 1 and "200_bad.lua:4:" in err, "pcall: %d %r" % (rc, err))
    assert_untouched(s, t0, c0, a0)
    # a refused record write (validation) fails it the same way
    s.write("200_bad.lua", """return {
  up = function(m)
    m.collections.save({name = "good", type = "base"})
    m.records.create("posts", {})
  end,
}
""")
    rc, out, err = s.cli("up")
    check(rc == 1 and "200_bad.lua:4:" in err and "m.records.create" in err and "title" in err,
          "record: %d %r" % (rc, err))
    assert_untouched(s, t0, c0, a0)
    # a filter that does not compile, and a placeholder without its parameter
    for bad, words in [('m.records.first("posts", "title ~")', "m.records.first"),
                       ('m.records.first("posts", "title = {:t}", {})', "{:t}")]:
        s.write("200_bad.lua", "return { up = function(m)\n"
                               "  m.collections.save({name = 'good', type = 'base'})\n"
                               "  " + bad + "\nend }\n")
        rc, out, err = s.cli("up")
        check(rc == 1 and "200_bad.lua:3:" in err and words in err, "%s: %d %r" % (bad, rc, err))
        assert_untouched(s, t0, c0, a0)
    # deleting a system collection is refused as the API refuses it
    s.write("200_bad.lua", "return { up = function(m) m.collections.delete('_superusers') end }\n")
    rc, out, err = s.cli("up")
    check(rc == 1 and "System collections cannot be deleted" in err, "system: %r" % err)
    assert_untouched(s, t0, c0, a0)


@test
def down_refuses_what_it_cannot_revert():
    s = Site()
    s.write("100_posts.lua", POSTS)
    s.write("200_no_down.lua", "return { up = function(m) m.collections.save({name = 'x1', "
                               "type = 'base'}) end }\n")
    s.ok("up")
    rc, out, err = s.cli("down")
    check(rc == 1 and "200_no_down.lua" in err and "cannot be reverted" in err,
          "no down: %d %r" % (rc, err))
    check(s.applied() == ["100_posts.lua", "200_no_down.lua"] and "x1" in s.tables(),
          "changed: %r" % s.applied())
    # recorded as applied, but the file is gone
    os.remove(os.path.join(s.mdir, "200_no_down.lua"))
    rc, out, err = s.cli("down")
    check(rc == 1 and "200_no_down.lua" in err and "not in" in err, "missing: %d %r" % (rc, err))
    out = s.ok("history")
    check("200_no_down.lua  (file missing)" in out, out)
    check(s.applied() == ["100_posts.lua", "200_no_down.lua"], "changed")
    # a down that fails rolls back too: the row and the table stay
    s.write("200_no_down.lua", "return { up = function(m) end, down = function(m) "
                               "m.collections.delete('x1'); error('nope') end }\n")
    rc, out, err = s.cli("down")
    check(rc == 1 and "200_no_down.lua:1:" in err and "nope" in err, "failing down: %r" % err)
    check("x1" in s.tables() and s.applied() == ["100_posts.lua", "200_no_down.lua"], "changed")


@test
def snapshot_reproduces_the_collections():
    s = Site()
    srv = s.server()
    api = Api(srv)
    tags = api.ok("POST", "/api/collections", {
        "name": "tags", "type": "base", "listRule": "", "viewRule": "",
        "fields": [{"name": "label", "type": "text", "required": True, "max": 40}],
        "indexes": ["CREATE UNIQUE INDEX idx_tags_label ON tags (label)"]})
    api.ok("POST", "/api/collections", {
        "name": "notes", "type": "base", "listRule": "@request.auth.id != ''",
        "fields": [{"name": "text", "type": "editor"},
                   {"name": "tags", "type": "relation", "collectionId": tags["id"],
                    "maxSelect": 5},
                   {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_",
                    "maxSelect": 1},
                   {"name": "state", "type": "select", "values": ["a", "b"], "maxSelect": 1},
                   {"name": "at", "type": "autodate", "onCreate": True}]})
    api.ok("PATCH", "/api/collections/users", {
        "fields": api.ok("GET", "/api/collections/users")["fields"] +
        [{"name": "nickname", "type": "text"}]})
    want = api.ok("GET", "/api/collections?perPage=500&sort=name")
    stop(srv)
    out = s.ok("snapshot")
    m = re.search(r"Created (\S+)", out)
    check(m and re.fullmatch(r"\d+_collections_snapshot\.lua", os.path.basename(m.group(1))),
          out)
    snap = m.group(1)
    text = open(snap).read()
    check("m.collections.import(collections, false)" in text and '"notes"' in text, "contents")
    rc, out, err = s.cli("snapshot", "Bad")
    check(rc == 2, "bad snapshot name: %d" % rc)
    # on a fresh data directory the snapshot gives the same collections
    f = Site()
    f.write(os.path.basename(snap), text)
    out = f.ok("up")
    check("Applied 1 migration." in out, out)
    srv2 = f.server()
    api2 = Api(srv2)
    got = api2.ok("GET", "/api/collections?perPage=500&sort=name")

    def strip(page):
        return [{k: v for k, v in c.items() if k not in ("created", "updated")}
                for c in page["items"]]
    check(strip(got) == strip(want), "collections differ:\n%s\n%s" % (
        json.dumps(strip(want))[:3000], json.dumps(strip(got))[:3000]))
    st, _ = api2.call("POST", "/api/collections/tags/records", {"label": "x"})
    check(st == 200, "create in the snapshot's collection: %d" % st)
    st, _ = api2.call("POST", "/api/collections/tags/records", {"label": "x"})
    check(st == 400, "its unique index: %d" % st)
    stop(srv2)
    # applied where it was taken: a no-op that succeeds; its down does nothing
    s.ok("up")
    check(s.applied() == [os.path.basename(snap)], "rows %r" % s.applied())
    s.ok("down")
    check("notes" in s.tables() and s.applied() == [], "snapshot down")


@test
def serve_automigrate():
    s = Site()
    s.write("100_posts.lua", POSTS)
    s.write("200_posts_body.lua", POSTS_BODY)
    # without the flag: it serves, says what waits, applies nothing
    srv = s.server()
    check(srv.wait_stderr(r"migrations pending.*count=2"), "no pending line")
    stop(srv)
    check(s.applied() == [], "applied without --automigrate")
    srv = s.server(["--automigrate"])
    api = Api(srv)
    posts = api.ok("GET", "/api/collections/posts")
    check("body" in [f["name"] for f in posts["fields"]], posts)
    stop(srv)
    check(s.applied() == ["100_posts.lua", "200_posts_body.lua"], "rows %r" % s.applied())
    # a bad one: serve does not start, exits 1 naming the file
    s.write("300_bad.lua", "return { up = function(m)\n  m.collections.save({name = 'zz', "
                           "type = 'base'})\n  error('no way')\nend }\n")
    srv = s.server(["--automigrate"], start=False)
    try:
        srv.start(timeout=20 * SLOW)
        check(False, "served with a failing migration")
    except Exception as e:
        if isinstance(e, Fail):
            raise
    check(srv.proc.wait(10 * SLOW) == 1, "exit code %r" % srv.proc.returncode)
    err = srv.stderr_text()
    if isinstance(err, bytes):
        err = err.decode("utf-8", "replace")
    check("300_bad.lua:3:" in err and "no way" in err, "stderr %r" % err[-2000:])
    check("zz" not in s.tables() and s.applied() == ["100_posts.lua", "200_posts_body.lua"],
          "bad migration left something")
    # --migrations-dir elsewhere, through the environment too
    other = tempfile.mkdtemp(prefix="tarmac-migrate-other-")
    TMPDIRS.append(other)
    os.remove(os.path.join(s.mdir, "300_bad.lua"))
    with open(os.path.join(other, "900_elsewhere.lua"), "w") as fh:
        fh.write("return { up = function(m) m.collections.save({name = 'elsewhere', "
                 "type = 'base'}) end }\n")
    srv = s.server(["--automigrate", "--migrations-dir=" + other])
    stop(srv)
    check("elsewhere" in s.tables() and s.applied()[-1] == "900_elsewhere.lua",
          "--migrations-dir: %r" % s.applied())


@test
def record_writes_commit_and_roll_back_with_the_migration():
    s = Site()
    s.write("100_seed.lua", """return {
  up = function(m)
    m.collections.save({
      name = "plans", type = "base", listRule = "", viewRule = "",
      fields = {{name = "code", type = "text", required = true},
                {name = "price", type = "number"}},
      indexes = {"CREATE UNIQUE INDEX idx_plans_code ON plans (code)"},
    })
    local free = m.records.create("plans", {code = "free", price = 0})
    local pro = m.records.create("plans", {code = "pro", price = 10})
    assert(free.id and free.code == "free" and pro.price == 10)
    -- the migration sees its own writes
    local found = m.records.first("plans", "code = {:c}", {c = "pro"})
    assert(found and found.id == pro.id, "first")
    assert(m.records.first("plans", "code = 'none'") == nil, "first: none")
    local upd = m.records.update("plans", pro.id, {price = 12})
    assert(upd.price == 12 and m.records.get("plans", pro.id).price == 12, "update")
    assert(m.records.get("plans", "nosuchid") == nil, "get: none")
    local tmp = m.records.create("plans", {code = "tmp"})
    m.records.delete("plans", tmp.id)
    assert(m.records.get("plans", tmp.id) == nil, "delete")
    -- an auth record: its password is hashed on the way in
    m.records.create("users", {email = "seed@example.com", password = "seed-pass-1234",
                               passwordConfirm = "seed-pass-1234", verified = true})
  end,
  down = function(m)
    local u = m.records.first("users", "email = {:e}", {e = "seed@example.com"})
    if u then m.records.delete("users", u.id) end
    m.collections.delete("plans")
  end,
}
""")
    s.ok("up")
    rows = s.sql("SELECT code, price FROM plans ORDER BY code")
    check(rows == [("free", 0), ("pro", 12)], "rows %r" % rows)
    pw = s.sql("SELECT password FROM users WHERE email = 'seed@example.com'")
    check(pw and pw[0][0].startswith("$argon2id$"), "password not hashed: %r" % pw)
    # a later migration seeds, then fails: none of its records stay
    s.write("200_more.lua", """return {
  up = function(m)
    m.records.create("plans", {code = "team", price = 50})
    m.records.update("plans", m.records.first("plans", "code = 'free'").id, {price = 1})
    m.records.create("plans", {code = "pro"}) -- the unique index refuses it
  end,
}
""")
    rc, out, err = s.cli("up")
    check(rc == 1 and "200_more.lua:5:" in err and "m.records.create" in err,
          "unique: %d %r" % (rc, err))
    rows = s.sql("SELECT code, price FROM plans ORDER BY code")
    check(rows == [("free", 0), ("pro", 12)], "rolled back? %r" % rows)
    # the API sees the seeds; the seeded user signs in
    srv = s.server()
    api = Api(srv)
    page = api.ok("GET", "/api/collections/plans/records?sort=code")
    check([r["code"] for r in page["items"]] == ["free", "pro"], page)
    st, j = api.call("POST", "/api/collections/users/auth-with-password",
                     {"identity": "seed@example.com", "password": "seed-pass-1234"}, token="")
    check(st == 200, "seeded user login: %d %r" % (st, j))
    stop(srv)
    os.remove(os.path.join(s.mdir, "200_more.lua"))
    s.ok("down")
    check("plans" not in s.tables(), "plans kept")
    check(s.sql("SELECT COUNT(*) FROM users WHERE email = 'seed@example.com'") == [(0,)],
          "user kept")


@test
def migrate_refuses_a_served_directory():
    s = Site()
    s.write("100_posts.lua", POSTS)
    srv = s.server()
    rc, out, err = s.cli("up")
    check(rc == 1 and "in use" in err, "up while served: %d %r" % (rc, err))
    out = s.ok("history")  # reading is fine
    check("0 applied, 1 pending" in out, out)
    stop(srv)
    check(s.applied() == [], "applied while served")


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "tarmac"))
    ap.add_argument("--only")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    BIN = os.path.abspath(args.bin)
    passed = failed = 0
    for fn in TESTS:
        if args.only and args.only not in fn.__name__:
            continue
        try:
            fn()
            for srv in SERVERS:  # a clean stop: exit 0, no sanitizer report
                if srv.proc is None or not srv.alive():
                    continue
                why = srv.stop_clean(excerpt=2000)
                check(not why, "%s: %s" % (srv.name, why))
            passed += 1
            print("ok - %s" % fn.__name__)
        except Exception as e:
            failed += 1
            print("FAIL - %s: %s: %s" % (fn.__name__, type(e).__name__, e))
            if args.verbose:
                traceback.print_exc()
                for srv in SERVERS[-1:]:
                    t = srv.stderr_text()
                    sys.stdout.write((t.decode("utf-8", "replace") if isinstance(t, bytes)
                                      else t)[-3000:])
        finally:
            for srv in SERVERS:
                if srv.proc is not None and srv.alive():
                    srv.kill()
            SERVERS.clear()
            for d in TMPDIRS:
                shutil.rmtree(d, ignore_errors=True)
            TMPDIRS.clear()
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


BIN = None
if __name__ == "__main__":
    sys.exit(main())
