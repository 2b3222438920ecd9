#!/usr/bin/python3
"""Lua hooks and custom routes (issue #13), against the built binary.

Each test writes its scripts to the default hooks folder (<dir>/../tarmac_hooks),
starts its own tarmac over a fresh data directory and talks to it over real
sockets. Ends with the "N passed, N failed" line tests/run reads.

  /usr/bin/python3 tests/hooks/run.py [--bin build/release/tarmac] [--only NAME] [-v]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.dont_write_bytecode = True

from tarmac import Server, build_request, run_cli, SLOW  # noqa: E402

SU_EMAIL, SU_PASS = "hooks@example.com", "hooks-pass-123456"


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


class Api:
    def __init__(self, server, login=True):
        self.base = "http://127.0.0.1:%d" % server.port
        self.token = None
        if login:
            st, j, _ = self.call("POST", "/api/collections/_superusers/auth-with-password",
                                 {"identity": SU_EMAIL, "password": SU_PASS})
            check(st == 200, "superuser login: %d %r" % (st, j))
            self.token = j["token"]

    def call(self, method, path, body=None, token=None, auth=True, raw=False):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        tok = token if token is not None else (self.token if auth else None)
        if tok:
            req.add_header("Authorization", tok)
        try:
            with urllib.request.urlopen(req, timeout=20 * SLOW) as r:
                body = r.read()
                headers = dict(r.headers)
                status = r.status
        except urllib.error.HTTPError as e:
            body = e.read()
            headers = dict(e.headers)
            status = e.code
        if raw:
            return status, body, headers
        return status, (json.loads(body) if body else None), headers

    def ok(self, method, path, body=None, want=(200, 201, 204), **kw):
        st, j, _ = self.call(method, path, body, **kw)
        check(st in want, "%s %s: %d %r" % (method, path, st, j))
        return j


SERVERS = []


def hooks_dir(server):
    return os.path.join(server.tmpdir, "tarmac_hooks")


def write_scripts(server, files):
    d = hooks_dir(server)
    os.makedirs(d, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)


def start(files, flags=(), name="hooks", expect_start=True):
    s = Server(BIN, list(flags), name=name)
    os.makedirs(s.tmpdir, exist_ok=True)
    rc, out, err = run_cli(BIN, ["superuser", "upsert", SU_EMAIL, SU_PASS, "--dir=" + s.datadir])
    check(rc == 0, "superuser upsert: %s %s" % (out, err))
    write_scripts(s, files)
    SERVERS.append(s)
    if expect_start:
        s.start()
        return s, Api(s)
    return s, None


def make_collections(api):
    api.ok("POST", "/api/collections", {
        "name": "orders", "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [{"name": "qty", "type": "number"}, {"name": "price", "type": "number"},
                   {"name": "total", "type": "number"}, {"name": "status", "type": "text"},
                   {"name": "note", "type": "text"}]})
    api.ok("POST", "/api/collections", {
        "name": "audit", "type": "base", "listRule": None, "viewRule": None,
        "createRule": None, "updateRule": None, "deleteRule": None,
        "fields": [{"name": "what", "type": "text"}, {"name": "ref", "type": "text"}]})


def user_token(api, email="u1@example.com"):
    api.ok("POST", "/api/collections/users/records",
           {"email": email, "password": "user-pass-1234", "passwordConfirm": "user-pass-1234"})
    j = api.ok("POST", "/api/collections/users/auth-with-password",
               {"identity": email, "password": "user-pass-1234"}, auth=False)
    return j["token"], j["record"]["id"]


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# --------------------------------------------------------------------------
# Custom routes
# --------------------------------------------------------------------------

ROUTES = r'''
tarmac.route("GET", "/api/app/hello/{name}", function(req)
  return 200, { hello = req.params.name, q = req.query.x, method = req.method,
                agent = req.headers.x_test }
end)
tarmac.route("POST", "/api/app/echo", function(req)
  return 201, { body = req.body, who = req.auth and req.auth.id or tarmac.null,
                coll = req.auth and req.auth.collection or tarmac.null }
end)
tarmac.route("GET", "/api/app/whoami", function(req)
  return 200, { auth = req.auth or tarmac.null }
end)
tarmac.route("GET", "/api/app/text", function(req)
  return 200, "plain words", { ["X-Extra"] = "yes" }
end)
tarmac.route("GET", "/api/app/empty", function(req) end)
tarmac.route("GET", "/api/app/fail", function(req) error("secret detail") end)
tarmac.route("GET", "/api/app/bad-return", function(req) return "nope" end)
tarmac.route("POST", "/api/app/refuse", function(req)
  tarmac.refuse(422, "Not like that.", { qty = { code = "too_many", message = "Too many." } })
end)
tarmac.middleware("/api/app/admin/", function(req)
  if not (req.auth and req.auth.superuser) then
    return 403, { message = "superusers only" }
  end
  req.checked = true
end)
tarmac.route("GET", "/api/app/admin/stats", function(req)
  return 200, { checked = req.checked == true }
end)
tarmac.route("GET", "/api/app/sandbox", function(req)
  local out = {}
  out.os_execute = os.execute == nil
  out.io = io == nil
  out.debug = debug == nil
  out.loadlib = package == nil
  out.dofile = dofile == nil
  out.dump = string.dump == nil
  out.binary = load("\27Lua", "x", "b") == nil
  return 200, out
end)
'''


@test
def routes_answer_with_status_body_and_headers():
    s, api = start({"routes.lua": ROUTES})
    st, j, _ = api.call("GET", "/api/app/hello/ada?x=1", auth=False)
    check(st == 200 and j == {"hello": "ada", "q": "1", "method": "GET"}, "hello: %d %r" % (st, j))
    tok, uid = user_token(api)
    st, j, _ = api.call("POST", "/api/app/echo", {"a": [1, 2], "b": {}}, token=tok)
    check(st == 201 and j["body"] == {"a": [1, 2], "b": {}} and j["who"] == uid and
          j["coll"] == "users", "echo: %d %r" % (st, j))
    st, j, _ = api.call("POST", "/api/app/echo", {"x": 1}, auth=False)
    check(st == 201 and j["who"] is None, "echo as guest: %d %r" % (st, j))
    # req.auth.record is the record as the REST API shows it: no password
    # hash, no tokenKey (hidden fields), so answering it leaks nothing.
    st, j, _ = api.call("GET", "/api/app/whoami", token=tok)
    rec = (j.get("auth") or {}).get("record") or {}
    check(st == 200 and rec.get("id") == uid and rec.get("email") == "u1@example.com" and
          "password" not in rec and "tokenKey" not in rec and "$argon2" not in json.dumps(j),
          "req.auth.record without hidden fields: %d %r" % (st, j))
    st, body, h = api.call("GET", "/api/app/text", raw=True)
    check(st == 200 and body == b"plain words" and h.get("X-Extra") == "yes" and
          h.get("Content-Type", "").startswith("text/plain"), "text: %d %r %r" % (st, body, h))
    st, body, _ = api.call("GET", "/api/app/empty", raw=True)
    check(st == 204 and body == b"", "empty: %d %r" % (st, body))
    st, j, _ = api.call("GET", "/api/app/fail")
    check(st == 500 and "secret" not in json.dumps(j) and j["status"] == 500,
          "an error is a 500 that reveals nothing: %d %r" % (st, j))
    wait_for(lambda: "secret detail" in s.stderr_text() and "routes.lua:" in s.stderr_text(),
             "the error and its place in the log")
    st, j, _ = api.call("GET", "/api/app/bad-return")
    check(st == 500, "a bad return value is a 500: %d %r" % (st, j))
    st, j, _ = api.call("POST", "/api/app/refuse", {})
    check(st == 422 and j["message"] == "Not like that." and j["data"]["qty"]["code"] == "too_many",
          "refuse: %d %r" % (st, j))
    st, j, _ = api.call("GET", "/api/app/admin/stats", auth=False)
    check(st == 403 and j == {"message": "superusers only"}, "a middleware's answer: %d %r" % (st, j))
    st, j, _ = api.call("GET", "/api/app/admin/stats")
    check(st == 200 and j == {"checked": True}, "a middleware let through: %d %r" % (st, j))
    st, j, _ = api.call("GET", "/api/app/sandbox")
    check(st == 200 and all(j.values()), "sandbox: %r" % j)
    # Not a script route: the server's own 404 and 405 stay.
    st, j, _ = api.call("GET", "/api/app/nothing")
    check(st == 404, "unknown path: %d" % st)
    st, j, _ = api.call("DELETE", "/api/app/echo")
    check(st == 404, "unregistered method on a script path: %d" % st)
    st, j, _ = api.call("GET", "/api/health")
    check(st == 200, "built-in routes unaffected: %d" % st)
    doc = api.ok("GET", "/api/docs/openapi.json")
    op = doc["paths"].get("/api/app/hello/{name}", {}).get("get")
    check(op and op["tags"] == ["custom routes"] and
          doc["paths"]["/api/app/hello/{name}"]["parameters"][0]["name"] == "name",
          "the OpenAPI document lists the script routes: %r" % op)
    check("requestBody" in doc["paths"]["/api/app/echo"]["post"], "a POST route takes a body")
    st, j, _ = api.call("POST", "/api/app/echo", token="garbage.token.here")
    check(st in (200, 201, 401), "a bad token: %d" % st)


@test
def req_fields_are_made_at_first_use_and_die_with_the_request():
    scripts = r"""
tarmac.route("GET", "/api/app/keep/{x}", function(req)
  kept = req
  local before = rawget(req, "query")
  return 200, { before = before == nil, q = req.query.a, x = req.params.x,
                again = rawget(req, "query") ~= nil, guest = req.auth == nil,
                nobody = req.nothing == nil }
end)
tarmac.route("GET", "/api/app/peek", function(req)
  return 200, { kept = kept ~= nil, method = kept and kept.method,
                headers = kept and kept.headers == nil, x = kept and kept.params.x }
end)
"""
    s, api = start({"keep.lua": scripts}, flags=["--workers=1"])
    st, j, _ = api.call("GET", "/api/app/keep/7?a=b", auth=False)
    check(st == 200 and j == {"before": True, "q": "b", "x": "7", "again": True,
                              "guest": True, "nobody": True}, "lazy fields: %d %r" % (st, j))
    st, j, _ = api.call("GET", "/api/app/peek")
    check(st == 200 and j == {"kept": True, "method": "GET", "headers": True, "x": "7"},
          "a req kept past its request keeps what was read, the rest is nil: %d %r" % (st, j))


@test
def route_with_bad_body_is_a_400():
    s, api = start({"routes.lua": ROUTES})
    req = urllib.request.Request(api.base + "/api/app/echo", data=b"{nope", method="POST")
    req.add_header("Content-Type", "application/json")
    try:
        urllib.request.urlopen(req, timeout=10)
        raise Fail("accepted a broken body")
    except urllib.error.HTTPError as e:
        check(e.code == 400, "broken JSON body: %d" % e.code)


# --------------------------------------------------------------------------
# The records API from routes
# --------------------------------------------------------------------------

RECORDS = r'''
tarmac.route("POST", "/api/app/orders", function(req)
  local o = tarmac.records.create("orders", { qty = req.body.qty, price = 2, note = "via route" })
  local again = tarmac.records.get("orders", o.id)
  return 200, { created = o, again = again }
end)
tarmac.route("GET", "/api/app/orders/big", function(req)
  local page = tarmac.records.list("orders", {
    filter = "qty >= {:min} && note = {:note}",
    params = { min = tonumber(req.query.min), note = req.query.note or "via route" },
    sort = "-qty", perPage = 50 })
  local first = tarmac.records.first("orders", "qty >= {:min}", { min = 1000000 })
  return 200, { n = page.totalItems, first_qty = page.items[1] and page.items[1].qty or 0,
                none = first == nil,
                count = tarmac.records.count("orders", "qty >= {:min}", { min = tonumber(req.query.min) }),
                all = tarmac.records.count("orders") }
end)
tarmac.route("GET", "/api/app/missing", function(req)
  return 200, { missing = tarmac.records.get("orders", "nosuchid1234567") == nil }
end)
tarmac.route("POST", "/api/app/audit", function(req)
  -- audit's rules are null: only a superuser may write it
  local ok, err = pcall(tarmac.records.create, "audit", { what = "as guest" })
  local rec = tarmac.records.create("audit", { what = "as superuser" }, { superuser = true })
  return 200, { guest_refused = not ok, status = err.status or 0, msg = err.message,
                id = rec.id }
end)
tarmac.route("POST", "/api/app/invalid", function(req)
  tarmac.records.create("users", { email = "not-an-email" })
  return 200, {}
end)
tarmac.route("GET", "/api/app/bad-filters", function(req)
  local out = {}
  for _, case in ipairs({
    { "qty > {:}", {} },              -- an empty name
    { "qty > {:min", { min = 1 } },   -- not closed
    { "qty > {:min}", nil },          -- no params
    { "qty > {:min}", {} },           -- the parameter is missing
    { "qty > {:m-n}", { ["m-n"] = 1 } },
  }) do
    local ok, err = pcall(tarmac.filter, case[1], case[2] or {})
    if case[2] == nil then
      ok, err = pcall(tarmac.records.list, "orders", { filter = case[1] })
    end
    out[#out + 1] = ok and "accepted" or tostring(err):match("tarmac%.records: (.*)")
  end
  out[#out + 1] = tarmac.filter("note = {:n} && qty = {:q}", { n = 'a"b', q = 2.5 })
  return 200, out
end)
tarmac.route("POST", "/api/app/inject", function(req)
  local page = tarmac.records.list("orders", { filter = "note = {:n}", params = { n = req.body.n } })
  return 200, { n = page.totalItems }
end)
'''


@test
def routes_read_and_write_records():
    s, api = start({"records.lua": RECORDS})
    make_collections(api)
    st, j, _ = api.call("POST", "/api/app/orders", {"qty": 7}, auth=False)
    check(st == 200 and j["created"]["qty"] == 7 and j["again"]["id"] == j["created"]["id"],
          "create from a route: %d %r" % (st, j))
    rec = api.ok("GET", "/api/collections/orders/records/" + j["created"]["id"])
    check(rec["note"] == "via route", "stored: %r" % rec)
    for q in (3, 12):
        api.call("POST", "/api/app/orders", {"qty": q}, auth=False)
    st, j, _ = api.call("GET", "/api/app/orders/big?min=5", auth=False)
    check(st == 200 and j["count"] == 2 and j["all"] == 3, "count: %d %r" % (st, j))
    del j["count"], j["all"]
    check(st == 200 and j == {"n": 2, "first_qty": 12, "none": True}, "list: %d %r" % (st, j))
    st, j, _ = api.call("GET", "/api/app/missing")
    check(st == 200 and j["missing"] is True, "get of a missing record is nil: %r" % j)
    st, j, _ = api.call("POST", "/api/app/audit", {}, auth=False)
    check(st == 200 and j["guest_refused"] and j["status"] == 403 and j["id"],
          "rules apply as the requester, superuser on request: %d %r" % (st, j))
    st, j, _ = api.call("POST", "/api/app/invalid", {}, auth=False)
    check(st == 400 and "email" in j["data"], "a failed write's 400 propagates: %d %r" % (st, j))
    st, j, _ = api.call("GET", "/api/app/bad-filters")
    check(st == 200 and j[:5] == [
        "a filter placeholder is {:name}", "a filter placeholder is {:name}",
        "the filter has {:min} and no params",
        "filter parameter {:min} is not a string, number or boolean",
        "a filter placeholder is {:name}"] and j[5] == 'note = "a\\"b" && qty = 2.5',
          "bad filter placeholders: %d %r" % (st, j))
    # A parameter is a value, never filter syntax.
    st, j, _ = api.call("POST", "/api/app/inject", {"n": "x' || note != '"}, auth=False)
    check(st == 200 and j["n"] == 0, "bound parameter: %d %r" % (st, j))
    st, j, _ = api.call("POST", "/api/app/inject", {"n": {"a": 1}}, auth=False)
    check(st == 500, "a table as a filter parameter is the script's error: %d %r" % (st, j))


# --------------------------------------------------------------------------
# Record hooks
# --------------------------------------------------------------------------

HOOKS = r'''
tarmac.on("before_create", "orders", function(e)
  local r = e.record
  r.total = (r.qty or 0) * (r.price or 0)
  if r.total > 1000 then
    tarmac.refuse(400, "Order too large.", { total = { code = "too_large",
      message = "The total may be at most 1000." } })
  end
  r.status = "placed"
end)
tarmac.on("before_update", "orders", function(e)
  if e.original.status == "delivered" then
    tarmac.refuse(403, "A delivered order is final.")
  end
  e.record.total = (e.record.qty or 0) * (e.record.price or 0)
end)
tarmac.on("before_delete", "orders", function(e)
  if e.record.status == "keep" then tarmac.refuse(400, "Kept.") end
end)
tarmac.on("before_create", "orders", function(e)
  if e.record.note == "twin" then
    -- reads inside the write's transaction
    local other = tarmac.records.get("orders", e.record.ref or "none")
    e.record.note = other and "twin of " .. other.id or "no twin"
  end
end)
tarmac.on("after_create", "orders", function(e)
  tarmac.records.create("audit", { what = "created", ref = e.record.id })
end)
tarmac.on("after_update", "orders", function(e)
  if e.original and e.original.qty ~= e.record.qty then
    tarmac.records.create("audit", { what = "qty " .. e.original.qty .. "->" .. e.record.qty,
                                     ref = e.record.id })
  end
end)
tarmac.on("after_delete", function(e)
  if e.collection == "orders" then
    tarmac.records.create("audit", { what = "deleted", ref = e.record.id })
  end
end)
tarmac.on("before_create", "audit", function(e)
  if e.record.what == "bad-type" then e.record.ref = { 1, 2 } end
  if e.record.what == "writes" then tarmac.records.create("orders", {}) end
end)
'''


def audits(api, ref):
    j = api.ok("GET", "/api/collections/audit/records?perPage=100&filter=" +
               urllib.request.quote("ref='%s'" % ref))
    return sorted(r["what"] for r in j["items"])


def wait_for(pred, what, timeout=10 * SLOW):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Fail("timed out waiting for " + what)
        time.sleep(0.05)


@test
def before_hooks_change_and_refuse_after_hooks_write():
    s, api = start({"hooks.lua": HOOKS})
    make_collections(api)
    st, j, _ = api.call("POST", "/api/collections/orders/records", {"qty": 3, "price": 5},
                        auth=False)
    check(st == 200 and j["total"] == 15 and j["status"] == "placed",
          "before_create changed the record: %d %r" % (st, j))
    oid = j["id"]
    stored = api.ok("GET", "/api/collections/orders/records/" + oid)
    check(stored["total"] == 15, "stored as changed: %r" % stored)
    wait_for(lambda: "created" in audits(api, oid), "the after_create audit")
    st, j, _ = api.call("POST", "/api/collections/orders/records", {"qty": 300, "price": 5},
                        auth=False)
    check(st == 400 and j["message"] == "Order too large." and
          j["data"]["total"]["code"] == "too_large", "refused with field errors: %d %r" % (st, j))
    n = api.ok("GET", "/api/collections/orders/records")["totalItems"]
    check(n == 1, "a refused create wrote nothing: %d" % n)
    st, j, _ = api.call("PATCH", "/api/collections/orders/records/" + oid, {"qty": 4}, auth=False)
    check(st == 200 and j["total"] == 20, "before_update: %d %r" % (st, j))
    wait_for(lambda: "qty 3->4" in audits(api, oid), "after_update sees e.original")
    api.ok("PATCH", "/api/collections/orders/records/" + oid, {"status": "delivered"})
    st, j, _ = api.call("PATCH", "/api/collections/orders/records/" + oid, {"qty": 1}, auth=False)
    check(st == 403 and j["message"] == "A delivered order is final.", "refused update: %d %r" %
          (st, j))
    # A delete refused by its hook, then allowed.
    o2 = api.ok("POST", "/api/collections/orders/records", {"qty": 1, "price": 1})["id"]
    api.ok("PATCH", "/api/collections/orders/records/" + o2, {"status": "keep"})
    st, j, _ = api.call("DELETE", "/api/collections/orders/records/" + o2, auth=False)
    check(st == 400 and j["message"] == "Kept.", "refused delete: %d %r" % (st, j))
    api.ok("PATCH", "/api/collections/orders/records/" + o2, {"status": "x"})
    api.ok("DELETE", "/api/collections/orders/records/" + o2)
    wait_for(lambda: audits(api, o2) == ["created", "deleted"], "the after_delete audit")
    # A before hook reads in the write's transaction.
    st, j, _ = api.call("POST", "/api/collections/orders/records",
                        {"qty": 1, "price": 1, "note": "twin"}, auth=False)
    check(st == 200 and j["note"] == "no twin", "read in a before hook: %d %r" % (st, j))
    # A value of the wrong type set by a hook is coerced and validated as
    # input is; a write from a before hook is refused (it runs inside a write).
    st, j, _ = api.call("POST", "/api/collections/audit/records", {"what": "bad-type"})
    direct = api.ok("POST", "/api/collections/audit/records", {"what": "direct", "ref": [1, 2]})
    check(st == 200 and j["ref"] == direct["ref"],
          "a hook's value is taken as input would be: %d %r vs %r" % (st, j, direct))
    st, j, _ = api.call("POST", "/api/collections/audit/records", {"what": "writes"})
    check(st == 500, "a write from a before hook: %d %r" % (st, j))
    # Batch writes run the hooks too, all or nothing.
    n_before_batch = api.ok("GET", "/api/collections/orders/records")["totalItems"]
    st, j, _ = api.call("POST", "/api/batch", {"requests": [
        {"method": "POST", "url": "/api/collections/orders/records", "body": {"qty": 1, "price": 2}},
        {"method": "POST", "url": "/api/collections/orders/records",
         "body": {"qty": 999, "price": 9}}]})
    check(st == 400, "a batch with a refused item: %d %r" % (st, j))
    n2 = api.ok("GET", "/api/collections/orders/records")["totalItems"]
    check(n2 == n_before_batch, "the batch wrote nothing: %d" % n2)


AUTH = r'''
tarmac.on("before_auth", "users", function(e)
  if e.record.password ~= nil or e.record.tokenKey ~= nil then error("hidden fields shown") end
  if e.record.email == "banned@example.com" then
    tarmac.refuse(403, "Account suspended.", { email = { code = "suspended", message = "Ask us." } })
  end
end)
tarmac.on("after_auth", function(e)
  if e.collection == "users" then
    tarmac.records.create("audit", { what = "login " .. e.method, ref = e.record.id })
  end
end)
'''


@test
def auth_hooks_refuse_a_sign_in_and_see_it_done():
    s, api = start({"auth.lua": AUTH})
    make_collections(api)
    for email in ("ok@example.com", "banned@example.com"):
        api.ok("POST", "/api/collections/users/records", {
            "email": email, "password": "user-pass-1234", "passwordConfirm": "user-pass-1234"})
    st, j, _ = api.call("POST", "/api/collections/users/auth-with-password",
                        {"identity": "ok@example.com", "password": "user-pass-1234"}, auth=False)
    check(st == 200 and j["token"], "a sign-in: %d %r" % (st, j))
    uid = j["record"]["id"]
    wait_for(lambda: audits(api, uid) == ["login password"], "the after_auth audit")
    st, j, _ = api.call("POST", "/api/collections/users/auth-with-password",
                        {"identity": "banned@example.com", "password": "user-pass-1234"},
                        auth=False)
    check(st == 403 and j["message"] == "Account suspended." and
          j["data"]["email"]["code"] == "suspended" and "token" not in j,
          "a refused sign-in: %d %r" % (st, j))
    st, j, _ = api.call("POST", "/api/collections/users/auth-with-password",
                        {"identity": "ok@example.com", "password": "wrong-pass-1234"}, auth=False)
    check(st == 400, "a bad password never reaches the hooks: %d %r" % (st, j))


SIGNUP = r'''
tarmac.on("before_create", "users", function(e)
  if e.record.phone == "+15550000001" then
    tarmac.refuse(400, "Not from there.", { phone = { code = "blocked", message = "Blocked." } })
  end
  if e.record.phone ~= nil and e.record.phone ~= "" then e.record.name = "via phone" end
end)
tarmac.on("after_create", "users", function(e)
  tarmac.records.create("audit", { what = "created", ref = e.record.id })
end)
tarmac.on("after_auth", function(e)
  if e.collection == "users" then
    tarmac.records.create("audit", { what = "login " .. e.method, ref = e.record.id })
  end
end)
'''


def texted_code(api, phone):
    """The code of the last `sms` job to phone (its payload holds the text)."""
    def find():
        j = api.ok("GET", "/api/jobs?kind=sms&perPage=100&sort=-created")
        for item in j["items"]:
            if item["payload"]["to"] == phone:
                return item["payload"]["text"].rsplit(" ", 1)[-1]
        return None
    wait_for(find, "the sms job to " + phone)
    return find()


@test
def phone_signup_runs_the_create_hooks():
    s, api = start({"signup.lua": SIGNUP})
    make_collections(api)
    users = api.ok("GET", "/api/collections/users")
    fields = [dict(f, required=False) if f["name"] == "email" else f for f in users["fields"]]
    api.ok("PATCH", "/api/collections/users", {
        "fields": fields + [{"name": "phone", "type": "text"}], "otp": {"enabled": True}})
    api.ok("PATCH", "/api/settings", {"sms": {"provider": "http", "http": {
        "url": "http://127.0.0.1:9/send", "body": '{"to":"{{to}}","text":"{{text}}"}'}}})
    phone = "+919800000001"
    otp = api.ok("POST", "/api/collections/users/request-otp", {"phone": phone}, auth=False)
    st, j, _ = api.call("POST", "/api/collections/users/auth-with-otp",
                        {"otpId": otp["otpId"], "password": texted_code(api, phone)}, auth=False)
    check(st == 200 and j["meta"] == {"isNew": True} and j["record"]["name"] == "via phone" and
          j["record"]["phone"] == phone, "signed up, the before hook ran: %d %r" % (st, j))
    uid = j["record"]["id"]
    wait_for(lambda: audits(api, uid) == ["created", "login otp"], "after_create and after_auth")
    blocked = "+15550000001"
    otp = api.ok("POST", "/api/collections/users/request-otp", {"phone": blocked}, auth=False)
    st, j, _ = api.call("POST", "/api/collections/users/auth-with-otp",
                        {"otpId": otp["otpId"], "password": texted_code(api, blocked)}, auth=False)
    check(st == 400 and j["message"] == "Not from there." and
          j["data"]["phone"]["code"] == "blocked", "the hook refused the sign-up: %d %r" % (st, j))
    n = api.ok("GET", "/api/collections/users/records?filter=" +
               urllib.request.quote("phone='%s'" % blocked))["totalItems"]
    check(n == 0, "no account for the refused number: %d" % n)


# --------------------------------------------------------------------------
# Outbound HTTP
# --------------------------------------------------------------------------

class SlowRemote:
    """A local HTTP server answering {"got": <path>, "body": <request body>}
    after `delay` seconds."""

    def __init__(self, delay):
        import http.server

        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode()
                time.sleep(outer.delay)
                out = json.dumps({"got": self.path, "body": body,
                                  "auth": self.headers.get("X-Key")}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.delay = delay
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


HTTP = r'''
tarmac.route("POST", "/api/app/call", function(req)
  local res, err = tarmac.http.request { method = "POST", url = req.body.url,
    headers = { ["X-Key"] = "k1" }, body = { n = 5 }, timeout = 5000 }
  if not res then return 502, { error = err } end
  return 200, { status = res.status, got = res.json.got, sent = res.json.body, key = res.json.auth }
end)
tarmac.on("before_create", "orders", function(e)
  if e.record.note == "call" then tarmac.http.request { url = "http://example.com" } end
end)
'''


@test
def http_calls_wait_without_blocking_the_loop():
    remote = SlowRemote(1.0)
    try:
        s, api = start({"http.lua": HTTP}, flags=["--workers=1", "--allow-private-network"])
        make_collections(api)
        url = "http://127.0.0.1:%d/hook" % remote.port
        out = {}

        def slow():
            out["r"] = api.call("POST", "/api/app/call", {"url": url})

        t = threading.Thread(target=slow)
        t0 = time.monotonic()
        t.start()
        time.sleep(0.2)
        # One worker: while the script waits for the remote, it serves others.
        lat = []
        for _ in range(5):
            a = time.monotonic()
            st, _, _ = api.call("GET", "/api/health")
            lat.append(time.monotonic() - a)
            check(st == 200, "health while a script waits: %d" % st)
        t.join(30)
        took = time.monotonic() - t0
        st, j, _ = out["r"]
        check(st == 200 and j == {"status": 201, "got": "/hook", "sent": '{"n":5}', "key": "k1"},
              "the call's answer: %d %r" % (st, j))
        check(took >= 1.0, "the call waited for the remote (%.2fs)" % took)
        check(max(lat) < 0.9, "other requests did not wait for it: %r" % lat)
        st, j, _ = api.call("POST", "/api/app/call", {"url": "ftp://x"})
        check(st == 502 and "http" in j["error"], "a bad URL: %d %r" % (st, j))
        st, j, _ = api.call("POST", "/api/collections/orders/records", {"note": "call"})
        check(st == 500, "no HTTP from a before hook: %d %r" % (st, j))
    finally:
        remote.close()


@test
def http_to_a_private_address_is_refused_without_the_flag():
    remote = SlowRemote(0)
    try:
        s, api = start({"http.lua": HTTP})
        st, j, _ = api.call("POST", "/api/app/call",
                            {"url": "http://127.0.0.1:%d/x" % remote.port})
        check(st == 502 and "refused" in j["error"], "private address: %d %r" % (st, j))
    finally:
        remote.close()


# --------------------------------------------------------------------------
# Job handlers and schedules in Lua
# --------------------------------------------------------------------------

JOBS = r'''
tarmac.job("audit.note", function(job)
  tarmac.records.create("audit", { what = job.payload.what, ref = job.id })
end)
tarmac.job("always.fails", function(job) error("boom") end)
tarmac.job("refuses", function(job) tarmac.refuse(400, "never") end)
tarmac.route("POST", "/api/app/enqueue", function(req)
  return 200, { id = tarmac.jobs.enqueue("audit.note", { what = req.body.what }) }
end)
tarmac.on("before_create", "orders", function(e)
  if e.record.note == "enqueue" then
    tarmac.jobs.enqueue("audit.note", { what = "from tx" })
  elseif e.record.note == "enqueue-refuse" then
    tarmac.jobs.enqueue("audit.note", { what = "rolled back" })
    tarmac.refuse(400, "No.")
  end
end)
'''


def audit_whats(api):
    j = api.ok("GET", "/api/collections/audit/records?perPage=200")
    return sorted(r["what"] for r in j["items"])


def wait_job(api, jid, status):
    def done():
        j = api.ok("GET", "/api/jobs/" + jid)
        return j if j["status"] == status else None
    return wait_for(done, "job %s %s" % (jid, status), timeout=30 * SLOW)


@test
def jobs_run_in_lua_from_routes_hooks_and_schedules():
    s, api = start({"jobs.lua": JOBS})
    make_collections(api)
    st, j, _ = api.call("POST", "/api/app/enqueue", {"what": "routed"}, auth=False)
    check(st == 200 and j["id"], "enqueue from a route: %d %r" % (st, j))
    wait_job(api, j["id"], "done")
    check("routed" in audit_whats(api), "the job wrote: %r" % audit_whats(api))
    # Through the jobs API, with the outcomes of a raise and a refusal.
    bad = api.ok("POST", "/api/jobs", {"kind": "always.fails", "maxAttempts": 1})
    dead = wait_job(api, bad["id"], "dead")
    check("boom" in (dead.get("lastError") or ""), "a raise is the error: %r" % dead)
    ref = api.ok("POST", "/api/jobs", {"kind": "refuses", "maxAttempts": 5})
    dead = wait_job(api, ref["id"], "dead")
    check(dead["attempts"] == 1, "a refusal is dead at once: %r" % dead)
    st, j, _ = api.call("POST", "/api/jobs", {"kind": "no.such.kind"})
    check(st == 400, "an unknown kind: %d %r" % (st, j))
    # Enqueued inside a write: only when the write commits.
    api.ok("POST", "/api/collections/orders/records", {"note": "enqueue"})
    st, j, _ = api.call("POST", "/api/collections/orders/records", {"note": "enqueue-refuse"})
    check(st == 400, "the refused write: %d" % st)
    wait_for(lambda: "from tx" in audit_whats(api), "the job enqueued in a write")
    # A schedule names a Lua kind; running it now runs the script.
    api.ok("POST", "/api/collections/_schedules/records", {
        "name": "nightly", "cron": "0 3 * * *", "kind": "audit.note",
        "payload": {"what": "cron"}, "active": True})
    api.ok("POST", "/api/crons/nightly")
    wait_for(lambda: "cron" in audit_whats(api), "the scheduled job")
    check("rolled back" not in audit_whats(api), "a rolled-back write enqueued nothing")


# --------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------

LIMITS = r'''
tarmac.route("GET", "/api/app/spin", function(req) while true do end end)
tarmac.route("GET", "/api/app/spin-pcall", function(req)
  while true do pcall(function() while true do end end) end
end)
tarmac.route("GET", "/api/app/bomb", function(req)
  local t = {}
  for i = 1, 1e9 do t[i] = string.rep("x", 1024) .. i end
end)
tarmac.route("GET", "/api/app/rep", function(req) return 200, { n = #string.rep("x", 1 << 40) } end)
tarmac.route("GET", "/api/app/ok", function(req) return 200, { ok = true } end)
'''


@test
def budget_and_memory_stop_a_call_and_the_worker_stays_healthy():
    s, api = start({"limits.lua": LIMITS}, flags=["--hooks-budget=100ms", "--hooks-memory=16MiB",
                                                   "--workers=2"])
    results = {}

    def spin(path):
        results[path] = api.call("GET", path)[0]

    threads = [threading.Thread(target=spin, args=(p,)) for p in ("/api/app/spin",
                                                                  "/api/app/spin-pcall")]
    for t in threads:
        t.start()
    st, _, _ = api.call("GET", "/api/health")
    check(st == 200, "health while scripts spin: %d" % st)
    for t in threads:
        t.join(30)
    check(results == {"/api/app/spin": 500, "/api/app/spin-pcall": 500},
          "a loop is stopped by the budget: %r" % results)
    for path in ("/api/app/bomb", "/api/app/rep"):
        st, j, _ = api.call("GET", path)
        check(st == 500, "%s is stopped by the memory cap: %d %r" % (path, st, j))
    for _ in range(4):
        st, j, _ = api.call("GET", "/api/app/ok")
        check(st == 200 and j == {"ok": True}, "the worker is healthy: %d %r" % (st, j))
    log = s.stderr_text()
    check("limits.lua" in log, "the log names the script")


# --------------------------------------------------------------------------
# Loading and reloading
# --------------------------------------------------------------------------

@test
def reload_on_sighup_keeps_the_old_scripts_when_new_ones_fail():
    v1 = 'tarmac.route("GET", "/api/app/v", function() return 200, { v = 1 } end)\n'
    v2 = 'tarmac.route("GET", "/api/app/v", function() return 200, { v = 2 } end)\n'
    s, api = start({"v.lua": v1}, flags=["--workers=2"])
    check(api.ok("GET", "/api/app/v") == {"v": 1}, "v1")
    write_scripts(s, {"v.lua": v2})
    s.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: all(api.ok("GET", "/api/app/v") == {"v": 2} for _ in range(6)), "v2")
    write_scripts(s, {"v.lua": "tarmac.route(\n"})
    s.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "scripts not reloaded" in s.stderr_text(), "the reload failure in the log")
    for _ in range(6):
        check(api.ok("GET", "/api/app/v") == {"v": 2}, "the previous scripts stay")
    check("v.lua:" in s.stderr_text(), "the log says where")


@test
def dev_mode_reloads_when_a_script_changes():
    v = 'tarmac.route("GET", "/api/app/v", function() return 200, { v = %d } end)\n'
    s, api = start({"v.lua": v % 1}, flags=["--dev"])
    check(api.ok("GET", "/api/app/v") == {"v": 1}, "v1")
    write_scripts(s, {"v.lua": v % 2})
    wait_for(lambda: api.ok("GET", "/api/app/v") == {"v": 2}, "v2 without a signal")
    write_scripts(s, {"notes.txt": "not a script"})
    write_scripts(s, {"w.lua": 'tarmac.route("GET", "/api/app/w", function() return 200, {} end)\n'})
    wait_for(lambda: api.call("GET", "/api/app/w")[0] == 200, "a new file is loaded")
    n = s.stderr_text().count("scripts reloaded")
    write_scripts(s, {"notes.txt": "still not a script"})
    time.sleep(0.5)
    check(s.stderr_text().count("scripts reloaded") == n, "other files do not reload")


@test
def requests_during_reloads_are_answered_by_old_or_new_scripts():
    """A reload that lands between a route's match and its call must not
    turn the request into an error: every answer is v1 or v2, never a 503."""
    v = 'tarmac.route("GET", "/api/app/v", function() return 200, { v = %d } end)\n'
    s, api = start({"v.lua": v % 1}, flags=["--workers=2"])
    stop = threading.Event()
    seen = []

    def hammer():
        while not stop.is_set():
            st, body, _ = api.call("GET", "/api/app/v")
            seen.append((st, body))

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for k in range(30):
            write_scripts(s, {"v.lua": v % (k % 2 + 1)})
            s.proc.send_signal(signal.SIGHUP)
            time.sleep(0.03)
    finally:
        stop.set()
        for t in threads:
            t.join()
    bad = [x for x in seen if x[0] != 200 or x[1] not in ({"v": 1}, {"v": 2})]
    check(len(seen) > 50 and not bad, "%d answers, bad: %s %s" % (len(seen), bad[:3], "\n".join(l for l in s.stderr_text().splitlines() if "status=200" not in l)[-4000:]))


class Sse:
    """A realtime client on its own connection: PB_CONNECT read, then
    subscribe() and next() (one event as (name, data))."""

    def __init__(self, s, api, token=None):
        self.s, self.api, self.token = s, api, token
        self.c = s.connect(timeout=10 * SLOW)
        self.c.send(build_request("GET", "/api/realtime", {"Host": "t"}, b""))
        self.c.read_head()
        name, data = self.next()
        check(name == "PB_CONNECT", "connect event: %r" % name)
        self.id = data["clientId"]

    def subscribe(self, subs):
        st, j, _ = self.api.call("POST", "/api/realtime",
                                 {"clientId": self.id, "subscriptions": subs},
                                 token=self.token or "", auth=bool(self.token))
        check(st == 204, "subscribe: %d %r" % (st, j))

    def next(self, timeout=5 * SLOW):
        while True:
            block = self.c.read_until(b"\n\n", timeout=timeout)[:-2].decode()
            lines = dict(ln.split(":", 1) for ln in block.split("\n") if ":" in ln)
            if "event" in lines:
                return lines["event"], json.loads(lines.get("data", "null"))

    def nothing(self, timeout=0.5):
        try:
            ev = self.next(timeout=timeout)
        except Exception:
            return True
        raise Fail("an unexpected event: %r" % (ev,))


@test
def mail_and_realtime_messages_go_out():
    scripts = r"""
tarmac.route("POST", "/api/app/notify", function(req)
  local b = req.body
  tarmac.realtime.publish(b.topic, { n = b.n }, b.to_me and { to = req.auth } or nil)
  return 200, { ok = true }
end)
tarmac.route("POST", "/api/app/topic", function(req)
  local ok, err = pcall(tarmac.realtime.publish, req.body.topic, {})
  return 200, { ok = ok, err = tostring(err) }
end)
tarmac.route("GET", "/api/app/bad-sends", function(req)
  local out = {}
  for _, case in ipairs({
    function() tarmac.realtime.publish("chat/x", {}, { to = 5 }) end,
    function() tarmac.realtime.publish("chat/x", {}, { to = { id = "a" } }) end,
    function() tarmac.realtime.publish("chat/x", function() end) end,
    function() tarmac.realtime.publish("chat/x", { string.rep("x", 2 * 1024 * 1024) }) end,
    function() tarmac.mail.send("to someone") end,
    function() tarmac.mail.send({ to = "a@example.com", text = "no subject" }) end,
    function() tarmac.mail.send({ to = "a@example.com", subject = "s" }) end,
    function() tarmac.mail.send({ to = "a@example.com", subject = "s", text = 5 }) end,
    function() tarmac.mail.send({ to = "a@example.com", subject = "a\nBcc: x@example.com", text = "t" }) end,
  }) do
    local ok, err = pcall(case)
    out[#out + 1] = ok and "accepted" or (type(err) == "string" and err:gsub("^[^:]*:%d+: ", "")
                                          or ("refused " .. err.status))
  end
  return 200, out
end)
tarmac.route("POST", "/api/app/mail", function(req)
  tarmac.mail.send({ to = req.body.to, subject = "Order shipped", text = "On its way." })
  return 200, { ok = true }
end)
tarmac.on("before_create", "audit", function(e)
  tarmac.mail.send({ to = "a@example.com", subject = "audit " .. e.record.what, text = "y" })
  if e.record.what == "refused" then tarmac.refuse(400, "No.") end
end)
"""
    s, api = start({"notify.lua": scripts}, flags=["--workers=2"])
    make_collections(api)
    tok, uid = user_token(api)
    # mail: no SMTP host, so the mailer's stand-in writes it to the log
    check(api.ok("POST", "/api/app/mail", {"to": "buyer@example.com"}) == {"ok": True}, "mail")
    wait_for(lambda: 'to=buyer@example.com subject="Order shipped"' in s.stderr_text(),
             "the mail in the log")
    j = api.ok("GET", "/api/app/bad-sends")
    want = ["opts.to is a record", "opts.to needs collectionId and id", "not a JSON value",
            "larger than 1 MiB", "table expected", "msg.subject is a string",
            "msg.text or msg.html is required", "msg.text is a string", "refused 400"]
    check(len(j) == len(want) and all(w in got for w, got in zip(want, j)),
          "bad sends refused, each with its reason: %r" % j)
    st, j, _ = api.call("POST", "/api/app/mail", {"to": "not an address"})
    check(st == 400 and "not sent" in j["message"], "a bad address: %d %r" % (st, j))
    # in a before hook the mail is written in the write's transaction
    st, j, _ = api.call("POST", "/api/collections/audit/records", {"what": "refused"})
    check(st == 400, "refused: %d %r" % (st, j))
    api.ok("POST", "/api/collections/audit/records", {"what": "kept"})
    wait_for(lambda: 'subject="audit kept"' in s.stderr_text(), "the committed write's mail")
    check('subject="audit refused"' not in s.stderr_text(), "no mail for a rolled back write")
    # realtime: a guest on two topics, a signed-in user on one
    guest, user = Sse(s, api), Sse(s, api, token=tok)
    guest.subscribe(["chat/room1", "chat/room2?options=%7B%7D", "orders/*"])
    user.subscribe(["chat/room1"])
    def notify(body, **kw):
        st, j, _ = api.call("POST", "/api/app/notify", body, **kw)
        check(st == 200, "publish: %d %r %s" % (st, j, s.stderr_text()[-1500:]))

    notify({"topic": "chat/room1", "n": 1})
    check(guest.next() == ("chat/room1", {"n": 1}), "the guest gets room1")
    check(user.next() == ("chat/room1", {"n": 1}), "the user gets room1")
    notify({"topic": "chat/room2", "n": 2})
    check(guest.next() == ("chat/room2?options=%7B%7D", {"n": 2}),
          "named by the whole subscription")
    user.nothing()
    # to = req.auth: only the clients signed in as that record
    notify({"topic": "chat/room1", "n": 3, "to_me": True}, token=tok)
    check(user.next() == ("chat/room1", {"n": 3}), "the addressee gets it")
    guest.nothing()
    # topics that are not custom ones are refused
    for topic in ["orders", "orders/abc", "@oauth2", "", "a?b"]:
        j = api.ok("POST", "/api/app/topic", {"topic": topic})
        check(j["ok"] is False and "tarmac.realtime.publish: the topic" in j["err"],
              "%r refused: %r" % (topic, j))
    j = api.ok("POST", "/api/app/topic", {"topic": "chat/room9"})
    check(j["ok"] is True, "a custom topic nobody follows: %r" % j)


@test
def jobs_enqueued_by_a_before_hook_run_right_after_the_commit():
    # Only a before hook: no after hook wants the write's events, and the
    # runners sleep an hour unless the commit wakes them.
    scripts = r"""
tarmac.on("before_create", "audit", function(e)
  tarmac.mail.send({ to = "b@example.com", subject = "woken " .. e.record.what, text = "y" })
end)
"""
    s, api = start({"wake.lua": scripts}, flags=["--job-poll=1h"])
    make_collections(api)
    time.sleep(0.5)  # the runners are asleep
    api.ok("POST", "/api/collections/audit/records", {"what": "now"})
    wait_for(lambda: 'subject="woken now"' in s.stderr_text(), "the mail, without waiting the hour",
             timeout=5 * SLOW)


@test
def transactions_write_all_or_nothing():
    scripts = r"""
tarmac.route("POST", "/api/app/tx", function(req)
  local ok, res = pcall(tarmac.records.transaction, req.body.writes,
                        { superuser = req.body.superuser })
  if ok then return 200, { ok = true, records = res } end
  if type(res) ~= "string" then
    return 200, { ok = false, status = res.status, message = res.message, data = res.data }
  end
  return 200, { ok = false, error = tostring(res) }
end)
"""
    s, api = start({"tx.lua": scripts})
    make_collections(api)
    tok, _ = user_token(api)
    oid = "txorder00000001"

    def tx(writes, token=None, superuser=False):
        return api.ok("POST", "/api/app/tx", {"writes": writes, "superuser": superuser},
                      token=token)

    j = tx([{"action": "create", "collection": "orders", "data": {"id": oid, "qty": 2}},
            {"action": "update", "collection": "orders", "id": oid, "data": {"status": "paid"}},
            {"action": "create", "collection": "orders", "data": {"qty": 5}}])
    check(j["ok"] and [r["id"] for r in j["records"]][0] == oid, "three writes: %r" % j)
    check(j["records"][1]["status"] == "paid" and j["records"][2]["qty"] == 5,
          "each write's record as the transaction left it: %r" % j)
    got = api.ok("GET", "/api/collections/orders/records/" + oid)
    check(got["qty"] == 2 and got["status"] == "paid", "committed: %r" % got)
    # a later write fails: nothing is written
    j = tx([{"action": "create", "collection": "orders", "data": {"id": "txorder00000002"}},
            {"action": "update", "collection": "orders", "id": "nosuchrecord000", "data": {}}])
    check(not j["ok"] and j.get("status") == 404, "the failing write's error: %r" % j)
    st, _, _ = api.call("GET", "/api/collections/orders/records/txorder00000002")
    check(st == 404, "the first write rolled back: %d" % st)
    # a bad value: the contract's field errors
    j = tx([{"action": "create", "collection": "users", "data": {"email": "not-an-address"}}])
    check(not j["ok"] and j["status"] == 400 and "email" in (j.get("data") or {}),
          "field errors: %r" % j)
    # rules apply as the requester: audit's createRule is null
    j = tx([{"action": "create", "collection": "audit", "data": {"what": "x"}}], token=tok)
    check(not j["ok"] and j["status"] in (400, 403), "a user may not write audit: %r" % j)
    j = tx([{"action": "create", "collection": "audit", "data": {"what": "x"}},
            {"action": "delete", "collection": "orders", "id": oid}], token=tok, superuser=True)
    check(j["ok"] and j["records"][1] is True, "opts.superuser, and a delete: %r" % j)
    st, _, _ = api.call("GET", "/api/collections/orders/records/" + oid)
    check(st == 404, "deleted: %d" % st)
    # a password is hashed off the loop before its write is parked
    pw = {"password": "tx-pass-12345", "passwordConfirm": "tx-pass-12345"}
    j = tx([{"action": "create", "collection": "users", "data": dict(email="t1@example.com", **pw)},
            {"action": "update", "collection": "orders", "id": "nosuchrecord000", "data": {}}])
    check(not j["ok"] and j.get("status") == 404, "after a hashed one: %r" % j)
    j = tx([{"action": "create", "collection": "users", "data": dict(email="t2@example.com", **pw)},
            {"action": "create", "collection": "users", "data": dict(email="t3@example.com", **pw)}])
    check(j["ok"] and [r["email"] for r in j["records"]] == ["t2@example.com", "t3@example.com"],
          "two hashed creates: %r" % j)
    emails = [r["email"] for r in api.ok("GET", "/api/collections/users/records?perPage=50")["items"]]
    check("t1@example.com" not in emails and "t3@example.com" in emails, "users: %r" % emails)
    # malformed lists are script errors
    for writes, words in [([], "1 to 100"), ([{"action": "upsert", "collection": "orders"}],
                                               "action is create"),
                          ([{"action": "update", "collection": "orders", "data": {}}], "id is"),
                          ([{"action": "create", "collection": "orders"}], "data")]:
        j = tx(writes)
        check(not j["ok"] and words in j.get("error", ""), "%r: %r" % (writes, j))
    j = tx([{"action": "create", "collection": "nope", "data": {}}])
    check(not j["ok"] and j["status"] == 404, "an unknown collection: %r" % j)


@test
def a_script_that_fails_to_load_stops_the_start():
    s, _ = start({"broken.lua": "local x = \n"}, expect_start=False)
    p = subprocess.run([BIN, "serve", "--http=127.0.0.1:0", "--dir=" + s.datadir],
                       capture_output=True, timeout=30 * SLOW)
    err = p.stderr.decode()
    check(p.returncode == 2 and "broken.lua:" in err, "start refused: %d %s" % (p.returncode, err))
    p = subprocess.run([BIN, "serve", "--http=127.0.0.1:0", "--dir=" + s.datadir,
                        "--hooks-dir=" + os.path.join(s.tmpdir, "nowhere"), "--hooks-budget=0"],
                       capture_output=True, timeout=30 * SLOW)
    check(p.returncode == 2 and "--hooks-budget" in p.stderr.decode(), "a zero budget is refused")


@test
def registration_errors_name_the_file():
    cases = {
        'tarmac.route("TRACE", "/x", function() end)': "method",
        'tarmac.route("GET", "x", function() end)': "starts with /",
        'tarmac.route("GET", "/a/{b/c}", function() end)': "whole segment",
        'tarmac.route("GET", "/a", function() end) tarmac.route("GET", "/a", function() end)':
            "twice",
        'tarmac.on("before_anything", function() end)': "no hook named",
        'tarmac.on("after_create", "x", 5)': "function",
    }
    for code, words in cases.items():
        s, _ = start({"reg.lua": code + "\n"}, expect_start=False)
        p = subprocess.run([BIN, "serve", "--http=127.0.0.1:0", "--dir=" + s.datadir],
                           capture_output=True, timeout=30 * SLOW)
        err = p.stderr.decode()
        check(p.returncode == 2 and "reg.lua:" in err and words in err,
              "%s: %d %s" % (code, p.returncode, err))


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
                for s in SERVERS[-1:]:
                    sys.stdout.write(s.stderr_text()[-3000:])
        finally:
            for s in SERVERS:
                s.cleanup()
            SERVERS.clear()
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


BIN = None
if __name__ == "__main__":
    sys.exit(main())
