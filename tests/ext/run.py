#!/usr/bin/python3
"""The C extension API (include/tarmac.h, issue #13 item 6), end to end.

Builds examples/ext-c/ext.c into a binary with `make EXT=... MODE=<mode>`
(build/ext-<mode>/tarmac), starts it over a fresh data directory and talks to
it over real sockets: every hook point (before/after create, update, delete),
a refusal with field errors, the routes as owner, other user and guest, an
asynchronous write from a route, Lua routes next to the extension's, the plain
binary without the extension, and a binary whose extension was built for
another API version. Ends with the "N passed, N failed" line tests/run reads.

  /usr/bin/python3 tests/ext/run.py [--mode release|asan] [--no-build] [--only NAME] [-v]
"""
import argparse
import json
import os
import subprocess
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

SU_EMAIL, SU_PASS = "ext@example.com", "ext-pass-1234567"
EXAMPLE = "examples/ext-c/ext.c"


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


class Api:
    def __init__(self, server):
        self.base = "http://127.0.0.1:%d" % server.port
        self.token = None
        st, j, _ = self.call("POST", "/api/collections/_superusers/auth-with-password",
                             {"identity": SU_EMAIL, "password": SU_PASS})
        check(st == 200, "superuser login: %d %r" % (st, j))
        self.token = j["token"]

    def call(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        tok = self.token if token is None else token
        if tok:
            req.add_header("Authorization", tok)
        try:
            with urllib.request.urlopen(req, timeout=20 * SLOW) as r:
                raw, headers, status = r.read(), dict(r.headers), r.status
        except urllib.error.HTTPError as e:
            raw, headers, status = e.read(), dict(e.headers), e.code
        return status, (json.loads(raw) if raw else None), headers

    def ok(self, method, path, body=None, token=None, want=(200, 201, 204)):
        st, j, _ = self.call(method, path, body, token)
        check(st in want, "%s %s: %d %r" % (method, path, st, j))
        return j


SERVERS = []


def start(binary, scripts=None):
    s = Server(binary, [], name="ext")
    os.makedirs(s.tmpdir, exist_ok=True)
    rc, out, err = run_cli(binary, ["superuser", "upsert", SU_EMAIL, SU_PASS,
                                    "--dir=" + s.datadir])
    check(rc == 0, "superuser upsert: %s %s" % (out, err))
    if scripts:
        d = os.path.join(s.tmpdir, "tarmac_hooks")
        os.makedirs(d, exist_ok=True)
        for name, text in scripts.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
    SERVERS.append(s)
    s.start()
    return s, Api(s)


OWNER = "owner = @request.auth.id"


def setup(api):
    api.ok("POST", "/api/collections", {
        "name": "orders", "type": "base",
        "listRule": OWNER, "viewRule": OWNER, "createRule": "@request.auth.id != ''",
        "updateRule": OWNER, "deleteRule": OWNER,
        "fields": [{"name": "qty", "type": "number"}, {"name": "price", "type": "number"},
                   {"name": "total", "type": "number"}, {"name": "status", "type": "text"},
                   {"name": "owner", "type": "text"}]})
    api.ok("POST", "/api/collections", {
        "name": "audit", "type": "base", "listRule": None, "viewRule": None,
        "createRule": None, "updateRule": None, "deleteRule": None,
        "fields": [{"name": "what", "type": "text"}, {"name": "ref", "type": "text"}]})
    users = []
    for email in ("u1@example.com", "u2@example.com"):
        api.ok("POST", "/api/collections/users/records",
               {"email": email, "password": "user-pass-1234", "passwordConfirm": "user-pass-1234"})
        j = api.ok("POST", "/api/collections/users/auth-with-password",
                   {"identity": email, "password": "user-pass-1234"}, token="")
        users.append((j["token"], j["record"]["id"]))
    return users


def audits(api, ref):
    j = api.ok("GET", "/api/collections/audit/records?perPage=50&filter="
               + urllib.request.quote("ref='%s'" % ref))
    return [it["what"] for it in j["items"]]


def wait_audits(api, ref, want):
    # after hooks run after the commit answered: their writes land a moment later
    import time
    deadline = time.time() + 10 * SLOW
    got = []
    while time.time() < deadline:
        got = audits(api, ref)
        if got == want:
            return
        time.sleep(0.05)
    check(False, "audit of %s: %r, want %r" % (ref, got, want))


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def test_before_create_computes_and_refuses():
    s, api = start(EXT_BIN)
    (tok, uid), _ = setup(api)
    rec = api.ok("POST", "/api/collections/orders/records",
                 {"qty": 3, "price": 12.5, "total": 1, "owner": uid}, token=tok)
    check(rec["total"] == 37.5, "total computed by the before hook: %r" % rec)
    st, j, _ = api.call("POST", "/api/collections/orders/records",
                        {"qty": 100, "price": 20, "owner": uid}, token=tok)
    check(st == 400, "over the limit: %d %r" % (st, j))
    check(j["message"] == "The order is not valid.", "message: %r" % j)
    check(j["data"]["total"]["code"] == "validation_total_limit", "field error: %r" % j)
    check(j["data"]["total"]["message"] == "The total may be at most 1000.", "%r" % j)
    st, j, _ = api.call("POST", "/api/collections/orders/records",
                        {"qty": 0, "price": 20, "owner": uid}, token=tok)
    check(st == 400 and j["data"]["qty"]["code"] == "validation_min_qty", "qty: %d %r" % (st, j))
    lst = api.ok("GET", "/api/collections/orders/records")
    check(lst["totalItems"] == 1, "refused writes were rolled back: %r" % lst)
    wait_audits(api, rec["id"], ["created"])


@test
def test_update_and_delete_hooks():
    s, api = start(EXT_BIN)
    (tok, uid), _ = setup(api)
    rec = api.ok("POST", "/api/collections/orders/records",
                 {"qty": 2, "price": 10, "owner": uid}, token=tok)
    upd = api.ok("PATCH", "/api/collections/orders/records/" + rec["id"], {"qty": 5}, token=tok)
    check(upd["total"] == 50, "before_update computed the total again: %r" % upd)
    st, j, _ = api.call("PATCH", "/api/collections/orders/records/" + rec["id"], {"qty": 500},
                        token=tok)
    check(st == 400 and "total" in j["data"], "update refused: %d %r" % (st, j))
    api.ok("PATCH", "/api/collections/orders/records/" + rec["id"], {"status": "shipped"},
           token=tok)
    st, j, _ = api.call("DELETE", "/api/collections/orders/records/" + rec["id"], token=tok)
    check(st == 403 and j["message"] == "A shipped order cannot be deleted.",
          "before_delete refused: %d %r" % (st, j))
    api.ok("PATCH", "/api/collections/orders/records/" + rec["id"], {"status": "open"}, token=tok)
    api.ok("DELETE", "/api/collections/orders/records/" + rec["id"], token=tok)
    st, _, _ = api.call("GET", "/api/collections/orders/records/" + rec["id"])
    check(st == 404, "deleted: %d" % st)
    wait_audits(api, rec["id"], ["created", "updated", "updated", "updated", "deleted"])


@test
def test_summary_route():
    s, api = start(EXT_BIN)
    (tok, uid), (tok2, uid2) = setup(api)
    rec = api.ok("POST", "/api/collections/orders/records",
                 {"qty": 4, "price": 2.5, "owner": uid}, token=tok)
    wait_audits(api, rec["id"], ["created"])
    path = "/api/ext/orders/%s/summary" % rec["id"]
    st, j, h = api.call("GET", path, token=tok)
    check(st == 200, "owner: %d %r" % (st, j))
    check(j["order"]["id"] == rec["id"] and j["total"] == 10 and j["audits"] == 1,
          "summary: %r" % j)
    check(j["viewer"] == uid, "viewer: %r" % j)
    check(h.get("X-Extension") == "orders", "header: %r" % h)
    check(h.get("Content-Type", "").startswith("application/json"), "type: %r" % h)
    st, j, _ = api.call("GET", path, token="")
    check(st == 401 and j["message"] == "Sign in to see an order's summary.",
          "guest: %d %r" % (st, j))
    check(j["status"] == 401 and j["data"] == {}, "the contract's error shape: %r" % j)
    st, j, _ = api.call("GET", path, token=tok2)
    check(st == 404, "another user: the view rule hides it: %d %r" % (st, j))
    st, j, _ = api.call("GET", "/api/ext/orders/nosuchid123456/summary", token=tok)
    check(st == 404, "missing: %d %r" % (st, j))
    st, j, _ = api.call("POST", path, token=tok)
    check(st in (404, 405), "method: %d %r" % (st, j))


@test
def test_cancel_route_writes_asynchronously():
    s, api = start(EXT_BIN)
    (tok, uid), (tok2, uid2) = setup(api)
    rec = api.ok("POST", "/api/collections/orders/records",
                 {"qty": 1, "price": 9, "owner": uid}, token=tok)
    path = "/api/ext/orders/%s/cancel" % rec["id"]
    st, j, _ = api.call("POST", path, token=tok2)
    check(st == 404, "another user cannot update it (rule): %d %r" % (st, j))
    st, j, _ = api.call("POST", path, token="")
    check(st in (401, 403, 404), "a guest cannot: %d %r" % (st, j))
    # a malformed body is the client's 400 before the extension runs
    req = urllib.request.Request(api.base + path, data=b'{"reason": ', method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", tok)
    try:
        urllib.request.urlopen(req, timeout=20 * SLOW)
        check(False, "a malformed body was accepted")
    except urllib.error.HTTPError as e:
        check(e.code == 400 and b"invalid formatting" in e.read(), "malformed body: %d" % e.code)
    st, j, _ = api.call("GET", path, token=tok)
    check(st == 404, "a method the extension did not register: %d %r" % (st, j))
    j = api.ok("POST", path, token=tok)
    check(j["status"] == "cancelled" and j["total"] == 9, "cancelled: %r" % j)
    got = api.ok("GET", "/api/collections/orders/records/" + rec["id"])
    check(got["status"] == "cancelled", "stored: %r" % got)
    wait_audits(api, rec["id"], ["created", "updated"])
    # many at once: each answers after its own write
    import concurrent.futures as cf
    ids = [api.ok("POST", "/api/collections/orders/records",
                  {"qty": 1, "price": 1, "owner": uid}, token=tok)["id"] for _ in range(8)]
    with cf.ThreadPoolExecutor(8) as ex:
        res = list(ex.map(lambda i: api.call("POST", "/api/ext/orders/%s/cancel" % i,
                                             token=tok), ids))
    check(all(st == 200 and j["status"] == "cancelled" for st, j, _ in res),
          "concurrent cancels: %r" % [(st, j) for st, j, _ in res if st != 200])


@test
def test_lua_routes_next_to_extension_routes():
    scripts = {"app.lua": 'tarmac.route("GET", "/api/app/ping", function(req) '
                          'return 200, { pong = true } end)\n'}
    s, api = start(EXT_BIN, scripts)
    (tok, uid), _ = setup(api)
    j = api.ok("GET", "/api/app/ping")
    check(j == {"pong": True}, "a script route still answers: %r" % j)
    st, j, _ = api.call("GET", "/api/ext/orders/x/summary", token="")
    check(st == 401, "the extension's route: %d %r" % (st, j))
    st, j, _ = api.call("GET", "/api/nothing/here")
    check(st == 404, "neither: %d" % st)


@test
def test_plain_binary_has_no_extension():
    s, api = start(PLAIN_BIN)
    (tok, uid), _ = setup(api)
    rec = api.ok("POST", "/api/collections/orders/records",
                 {"qty": 3, "price": 2, "total": 1, "owner": uid}, token=tok)
    check(rec["total"] == 1, "no hook in the plain build: %r" % rec)
    st, _, _ = api.call("GET", "/api/ext/orders/%s/summary" % rec["id"], token=tok)
    check(st == 404, "no extension route in the plain build: %d" % st)


@test
def test_other_api_version_refuses_to_start():
    # An extension built against another header version: the server must not
    # start (built into its own folder, next to the example's binary).
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "old.c")
        with open(src, "w") as f:
            f.write('#include "tarmac.h"\n'
                    'static int init(struct tarmac_ext *ext) { (void)ext; return 0; }\n'
                    'static const struct tarmac_ext_def def = {99, "old", init};\n'
                    '__attribute__((constructor)) static void declare(void)'
                    ' { tarmac_ext_declare(&def); }\n')
        out = "build/ext-test-" + MODE
        r = subprocess.run(["make", "-s", "-j2", "MODE=" + MODE, "EXT=" + src,
                            "EXT_OUT=" + out], cwd=ROOT, capture_output=True, text=True)
        check(r.returncode == 0, "build: %s %s" % (r.stdout[-2000:], r.stderr[-2000:]))
    binary = os.path.join(ROOT, out, "tarmac")
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([binary, "serve", "--dir=" + d, "--http=127.0.0.1:0"],
                           capture_output=True, text=True, timeout=30 * SLOW)
    check(r.returncode != 0, "started anyway: %d %s" % (r.returncode, r.stdout))
    check("extension old was built for API version 99; this binary has version 1" in r.stderr,
          "the reason: %r" % r.stderr[-1000:])


def build(mode):
    r = subprocess.run(["make", "-s", "-j2", "MODE=" + mode, "all"], cwd=ROOT,
                       capture_output=True, text=True)
    if r.returncode == 0:
        r = subprocess.run(["make", "-s", "-j2", "MODE=" + mode, "EXT=" + EXAMPLE], cwd=ROOT,
                           capture_output=True, text=True)
    if r.returncode:
        print(r.stdout[-3000:], r.stderr[-3000:])
        print("FAIL - build")
        print("0 passed, 1 failed")
        sys.exit(1)


def main():
    global EXT_BIN, PLAIN_BIN, MODE
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="release", choices=("release", "asan"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    MODE = args.mode
    if not args.no_build:
        build(MODE)
    EXT_BIN = os.path.join(ROOT, "build", "ext-" + MODE, "tarmac")
    PLAIN_BIN = os.path.join(ROOT, "build", MODE, "tarmac")
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


EXT_BIN = PLAIN_BIN = MODE = None
if __name__ == "__main__":
    sys.exit(main())
