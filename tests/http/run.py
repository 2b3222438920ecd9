#!/usr/bin/python3
"""HTTP integration suite for tarmac.

    /usr/bin/python3 tests/http/run.py [--bin build/release/tarmac] [--only SUBSTR]

Prints `ok - name` / `FAIL - name: reason` per test and, last, exactly one
line `N passed, N failed`.  Exit code 1 if anything failed.

Servers are shared: a handful of processes with different flags are started
lazily and reused by every test that needs those flags.  Tests that kill or
signal the server start their own.  All socket reads have timeouts (scaled by
TARMAC_TEST_SLOW, see tests/lib/tarmac.py) so a hang is a failure, not a
stuck suite.  The only timing assertions are generous upper bounds.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.dont_write_bytecode = True  # no __pycache__ litter in the work tree

from tarmac import (Server, build_request, run_cli, db_flags, Closed,  # noqa: E402
                    SLOW, ws_frame, ws_read)
import fdflood  # noqa: E402

HEALTH_BODY = b'{"message":"API is healthy.","code":200,"data":{}}'
NOT_FOUND_MSG = "The requested resource wasn't found."
IMF_FIXDATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} GMT$")
RID_GENERATED = re.compile(r"^[0-9a-fA-F]{16}$")
ALLOW_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE"

# Generous upper bounds (seconds) for "should happen soon".
SOON = 8.0 * SLOW


# --------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------

class Fail(Exception):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise Fail(msg)


def eq(got, want, what="value"):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


TESTS = []


def test(server=None):
    """Register a test.  server: key into SERVER_FLAGS (shared server passed
    as the only argument) or None (the test gets the Suite)."""
    def deco(fn):
        TESTS.append((fn.__name__, fn, server))
        return fn
    return deco


SERVER_FLAGS = {
    "default": [],
    "limits": ["--max-body=1KiB", "--max-target=1KiB", "--max-header=4KiB"],
    "timeouts": ["--header-timeout=1s", "--body-timeout=1s",
                 "--idle-timeout=2s"],
    "cors": ["--cors=https://app.example"],
}


class Suite:
    def __init__(self, binary):
        self.binary = binary
        self.servers = {}
        self.extra = []  # servers started by individual tests

    def shared(self, key):
        s = self.servers.get(key)
        if s is None or not s.alive():
            if s is not None:
                s.cleanup(keep=True)
            s = Server(self.binary, SERVER_FLAGS[key], name=key)
            s.start()
            self.servers[key] = s
        return s

    def new_server(self, flags=(), env=None, name="private", wrapper=()):
        s = Server(self.binary, flags, env=env, name=name, wrapper=wrapper)
        self.extra.append(s)
        return s.start()

    def teardown(self):
        for s in list(self.servers.values()) + self.extra:
            s.cleanup(keep=getattr(s, "keep", False))
            if getattr(s, "keep", False):
                print("# kept %s logs: %s" % (s.name, s.stderr_path))


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def req(method, target, headers=None, body=b"", version="HTTP/1.1",
        host="test"):
    """Build request bytes.  headers: list of (name, value); Host first
    unless host is None."""
    h = []
    if host is not None:
        h.append(("Host", host))
    h += list(headers or [])
    return build_request(method, target, h, body, version)


def get(path="/api/health", headers=None, **kw):
    return req("GET", path, headers, **kw)


def json_error(r, status):
    """Assert r is a JSON error body {status, message, data:{}}."""
    ct = r.header("Content-Type", "")
    check(ct.startswith("application/json"),
          "status %d: Content-Type %r" % (r.status, ct))
    try:
        j = r.json()
    except Exception as e:
        raise Fail("status %d: body not JSON (%s): %r" % (r.status, e, r.body))
    check(isinstance(j, dict), "JSON body not an object: %r" % (j,))
    eq(j.get("status"), status, "JSON status")
    check(isinstance(j.get("message"), str) and j["message"],
          "JSON message missing: %r" % (j,))
    eq(j.get("data"), {}, "JSON data")
    return j


def common_headers(r):
    d = r.header("Date")
    check(d is not None, "no Date header in %r" % (r,))
    check(IMF_FIXDATE.match(d), "Date not IMF-fixdate: %r" % d)
    vary = r.header_all("Vary")
    check(any("origin" in [x.strip().lower() for x in v.split(",")]
              for v in vary), "no Vary: Origin in %r" % (r.headers,))
    rid = r.header("X-Request-Id")
    check(rid is not None, "no X-Request-Id in %r" % (r.headers,))
    if r.has("Content-Length") and not r.head:
        eq(len(r.body), int(r.header("Content-Length")), "body length")
    return rid


def is_close(r):
    v = r.header("Connection", "")
    return "close" in [x.strip().lower() for x in v.split(",")]


def expect_closed(c, what="connection", timeout=SOON):
    check(c.is_closed(timeout=timeout),
          "%s not closed by the server within %.0fs" % (what, timeout))
    check(c.buf == b"", "%s: unexpected bytes before close: %r"
          % (what, c.buf[:200]))


def one(srv, data, head=False, allow_1xx=False):
    """Send raw bytes on a fresh connection, return (response, conn)."""
    c = srv.connect()
    c.send(data)
    return c.read_response(head=head, allow_1xx=allow_1xx), c


# --------------------------------------------------------------------------
# Basic routes
# --------------------------------------------------------------------------

@test("default")
def health_get(srv):
    r, c = one(srv, get(headers=[("Connection", "close")]))
    c.close()
    eq(r.status, 200, "status")
    eq(r.version, "HTTP/1.1", "version")
    check(r.header("Content-Type", "").startswith("application/json"),
          "Content-Type %r" % r.header("Content-Type"))
    eq(r.body, HEALTH_BODY, "body")
    eq(r.header("Content-Length"), str(len(HEALTH_BODY)), "Content-Length")
    common_headers(r)


@test("default")
def health_head(srv):
    with srv.connect() as c:
        c.send(req("HEAD", "/api/health"))
        r = c.read_response(head=True)
        eq(r.status, 200, "status")
        eq(r.header("Content-Length"), "50", "Content-Length")
        common_headers(r)
        # No body may follow: the next response must start right away.
        c.send(get())
        r2 = c.read_response()
        eq(r2.status, 200, "status after HEAD")
        eq(r2.body, HEALTH_BODY, "body after HEAD")


@test("default")
def not_found(srv):
    for path in ("/api/nope", "/", "/api/health/", "/api/healthz",
                 "/API/health", "/api/health/x"):
        r, c = one(srv, get(path, [("Connection", "close")]))
        c.close()
        eq(r.status, 404, "status for %s" % path)
        j = json_error(r, 404)
        eq(j.get("message"), NOT_FOUND_MSG, "message for %s" % path)
        eq(set(j), {"status", "message", "data"}, "keys for %s" % path)
        common_headers(r)


@test("default")
def health_trailing_slash_404(srv):
    r, c = one(srv, get("/api/health/", [("Connection", "close")]))
    c.close()
    eq(r.status, 404, "status")
    json_error(r, 404)


@test("default")
def health_query_string(srv):
    r, c = one(srv, get("/api/health?x=1&y=%20", [("Connection", "close")]))
    c.close()
    eq(r.status, 200, "status")
    eq(r.body, HEALTH_BODY, "body")


@test("default")
def method_not_allowed(srv):
    for m in ("POST", "PUT", "DELETE", "PATCH"):
        r, c = one(srv, req(m, "/api/health",
                            [("Content-Length", "0"), ("Connection", "close")]))
        c.close()
        eq(r.status, 405, "%s status" % m)
        eq(r.header("Allow"), "GET, HEAD", "%s Allow" % m)
        json_error(r, 405)
        common_headers(r)


# --------------------------------------------------------------------------
# Common headers / request id
# --------------------------------------------------------------------------

@test("default")
def date_vary_requestid_everywhere(srv):
    with srv.connect() as c:
        c.send(get())
        r = c.read_response()
        rid1 = common_headers(r)
        check(RID_GENERATED.match(rid1), "generated id %r" % rid1)
        c.send(get("/api/nope"))
        r = c.read_response()
        rid2 = common_headers(r)
        check(RID_GENERATED.match(rid2), "generated id %r" % rid2)
        check(rid1 != rid2, "request ids repeat: %r" % rid1)
        c.send(req("OPTIONS", "/api/health"))
        r = c.read_response()
        common_headers(r)
        c.send(req("POST", "/api/health", [("Content-Length", "0")]))
        r = c.read_response()
        common_headers(r)


@test("default")
def request_id_echo(srv):
    good = ["abc", "r1", "A.b_c-9", "x" * 64, "0123456789abcdef", "-", "."]
    with srv.connect() as c:
        for rid in good:
            c.send(get(headers=[("X-Request-Id", rid)]))
            r = c.read_response()
            eq(r.status, 200, "status")
            eq(r.header("X-Request-Id"), rid, "echoed id")
        # also on a 404
        c.send(get("/api/nope", [("X-Request-Id", "nf-1")]))
        r = c.read_response()
        eq(r.header("X-Request-Id"), "nf-1", "echoed id on 404")


@test("default")
def request_id_invalid_replaced(srv):
    bad = ["has space", 'quo"te', "x" * 65, "semi;colon", "a/b", "a,b",
           "caf\xe9", "tab\there"]
    with srv.connect() as c:
        for rid in bad:
            c.send(get(headers=[("X-Request-Id", rid)]))
            r = c.read_response()
            eq(r.status, 200, "status for id %r" % rid)
            got = r.header("X-Request-Id")
            check(got is not None and got != rid.strip(),
                  "invalid id %r echoed: %r" % (rid, got))
            check(RID_GENERATED.match(got or ""),
                  "replacement for %r not 16 hex: %r" % (rid, got))


@test("default")
def request_id_empty_replaced(srv):
    with srv.connect() as c:
        c.send(get(headers=[("X-Request-Id", "")]))
        r = c.read_response()
        eq(r.status, 200, "status")
        check(RID_GENERATED.match(r.header("X-Request-Id", "")),
              "empty id not replaced: %r" % r.header("X-Request-Id"))


# --------------------------------------------------------------------------
# CORS
# --------------------------------------------------------------------------

@test("default")
def cors_wildcard(srv):
    with srv.connect() as c:
        c.send(get(headers=[("Origin", "http://a.example")]))
        r = c.read_response()
        eq(r.status, 200, "status")
        eq(r.header("Access-Control-Allow-Origin"), "*", "ACAO")
        c.send(get())
        r = c.read_response()
        eq(r.header("Access-Control-Allow-Origin"), None, "ACAO without Origin")
        c.send(get("/api/nope", [("Origin", "http://a.example")]))
        r = c.read_response()
        eq(r.status, 404, "status")
        eq(r.header("Access-Control-Allow-Origin"), "*", "ACAO on 404")


@test("default")
def cors_preflight(srv):
    with srv.connect() as c:
        for path in ("/api/health", "/api/does-not-exist", "/"):
            c.send(req("OPTIONS", path, [
                ("Origin", "http://a.example"),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type,x-custom")]))
            r = c.read_response()
            eq(r.status, 204, "OPTIONS %s status" % path)
            eq(r.body, b"", "OPTIONS body")
            check(r.header("Content-Length") in (None, "0"),
                  "204 with Content-Length %r" % r.header("Content-Length"))
            eq(r.header("Access-Control-Allow-Methods"), ALLOW_METHODS, "ACAM")
            eq(r.header("Access-Control-Allow-Headers"), "content-type,x-custom",
               "ACAH")
            eq(r.header("Access-Control-Allow-Origin"), "*", "ACAO")
            common_headers(r)
        # connection still in sync after 204s
        c.send(get())
        r = c.read_response()
        eq(r.body, HEALTH_BODY, "body after preflights")


@test("default")
def cors_preflight_no_origin(srv):
    # "Any OPTIONS" -> 204, even without an Origin header.
    with srv.connect() as c:
        c.send(req("OPTIONS", "/api/nope"))
        r = c.read_response()
        eq(r.status, 204, "status")
        eq(r.body, b"", "body")
        eq(r.header("Access-Control-Allow-Methods"), ALLOW_METHODS, "ACAM")


@test("cors")
def cors_restricted(srv):
    with srv.connect() as c:
        c.send(get(headers=[("Origin", "https://app.example")]))
        r = c.read_response()
        eq(r.status, 200, "status")
        eq(r.header("Access-Control-Allow-Origin"), "https://app.example",
           "ACAO for the allowed origin")
        common_headers(r)
        for o in ("http://a.example", "https://app.example.evil",
                  "https://evil.example", "http://app.example"):
            c.send(get(headers=[("Origin", o)]))
            r = c.read_response()
            eq(r.status, 200, "status")
            eq(r.header("Access-Control-Allow-Origin"), None,
               "ACAO for origin %s" % o)
            common_headers(r)
        c.send(get())
        r = c.read_response()
        eq(r.header("Access-Control-Allow-Origin"), None, "ACAO without Origin")
        c.send(req("OPTIONS", "/api/health", [
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "GET")]))
        r = c.read_response()
        eq(r.status, 204, "preflight status")
        eq(r.header("Access-Control-Allow-Origin"), "https://app.example",
           "preflight ACAO")


# --------------------------------------------------------------------------
# Connection management
# --------------------------------------------------------------------------

@test("default")
def keepalive_many(srv):
    with srv.connect() as c:
        for i in range(50):
            c.send(get(headers=[("X-Request-Id", "ka%d" % i)]))
            r = c.read_response()
            eq(r.status, 200, "status #%d" % i)
            eq(r.body, HEALTH_BODY, "body #%d" % i)
            eq(r.header("X-Request-Id"), "ka%d" % i, "id #%d" % i)
            check(not is_close(r), "Connection: close on keep-alive #%d" % i)


@test("default")
def http10_close(srv):
    with srv.connect() as c:
        c.send(b"GET /api/health HTTP/1.0\r\n\r\n")
        r = c.read_response()
        eq(r.status, 200, "status")
        eq(r.body, HEALTH_BODY, "body")
        check(is_close(r), "HTTP/1.0 response without Connection: close: %r"
              % r.header("Connection"))
        expect_closed(c, "HTTP/1.0 connection")


@test("default")
def http10_keepalive(srv):
    with srv.connect() as c:
        for i in range(3):
            c.send(b"GET /api/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
            eq(r.status, 200, "status #%d" % i)
            eq(r.body, HEALTH_BODY, "body #%d" % i)
            eq((r.header("Connection") or "").lower(), "keep-alive",
               "Connection #%d" % i)
        c.send(b"GET /api/health HTTP/1.0\r\n\r\n")
        r = c.read_response()
        check(is_close(r), "final HTTP/1.0 response lacks Connection: close")
        expect_closed(c)


@test("default")
def http11_connection_close(srv):
    with srv.connect() as c:
        c.send(get(headers=[("Connection", "close")]))
        r = c.read_response()
        eq(r.status, 200, "status")
        check(is_close(r), "no Connection: close in response")
        expect_closed(c)


@test("default")
def http11_connection_close_token_list(srv):
    with srv.connect() as c:
        c.send(get(headers=[("Connection", "foo, Close")]))
        r = c.read_response()
        eq(r.status, 200, "status")
        check(is_close(r), "no Connection: close in response")
        expect_closed(c)


@test("default")
def pipelining(srv):
    batch = []
    kinds = []
    for i in range(1, 17):
        rid = "r%d" % i
        k = i % 4
        if k == 0:
            batch.append(get(headers=[("X-Request-Id", rid)]))
        elif k == 1:
            batch.append(get("/api/nope", [("X-Request-Id", rid)]))
        elif k == 2:
            batch.append(req("HEAD", "/api/health", [("X-Request-Id", rid)]))
        else:
            batch.append(req("HEAD", "/api/nope", [("X-Request-Id", rid)]))
        kinds.append(k)
    with srv.connect() as c:
        c.send(b"".join(batch))
        for i, k in enumerate(kinds, 1):
            r = c.read_response(head=(k in (2, 3)))
            eq(r.header("X-Request-Id"), "r%d" % i, "response order at #%d" % i)
            want = {0: 200, 1: 404, 2: 200, 3: 404}[k]
            eq(r.status, want, "status #%d" % i)
            if k == 0:
                eq(r.body, HEALTH_BODY, "body #%d" % i)
            if k == 1:
                json_error(r, 404)
        c.send(get(headers=[("X-Request-Id", "after")]))
        r = c.read_response()
        eq(r.header("X-Request-Id"), "after", "id after pipeline")
        check(c.buf == b"", "stray bytes: %r" % c.buf[:100])


# --------------------------------------------------------------------------
# Request bodies
# --------------------------------------------------------------------------

@test("default")
def body_content_length_then_pipelined(srv):
    body = b'{"hello":"world","pad":"' + b"x" * 3000 + b'"}'
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("X-Request-Id", "post1")], body)
            + get(headers=[("X-Request-Id", "next1")]))
        r = c.read_response()
        eq(r.status, 405, "POST status")
        eq(r.header("X-Request-Id"), "post1", "POST id")
        json_error(r, 405)
        check(not is_close(r), "POST response closed the connection")
        r = c.read_response()
        eq(r.header("X-Request-Id"), "next1", "next id")
        eq(r.status, 200, "next status")
        eq(r.body, HEALTH_BODY, "next body")


@test("default")
def body_content_length_zero_and_get_with_body(srv):
    with srv.connect() as c:
        # GET with a body: the body must be consumed, not parsed as a request
        c.send(req("GET", "/api/health", [("Content-Length", "18")],
                   b"GET /evil HTTP/1.1") + get(headers=[("X-Request-Id", "n2")]))
        r = c.read_response()
        eq(r.status, 200, "GET-with-body status")
        r = c.read_response()
        eq(r.header("X-Request-Id"), "n2", "next id")
        eq(r.status, 200, "next status")


CHUNKED_BODY = (b"5\r\nhello\r\n"
                b"6;name=value;other=\"quoted;str\"\r\n world\r\n"
                b"A\r\n0123456789\r\n"
                b"1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                b"0;last=1\r\n"
                b"X-Trailer: yes\r\n"
                b"X-Other: 2\r\n"
                b"\r\n")


@test("default")
def body_chunked_then_pipelined(srv):
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [
            ("Transfer-Encoding", "chunked"),
            ("X-Request-Id", "chunk1")]) + CHUNKED_BODY
            + get(headers=[("X-Request-Id", "next2")]))
        r = c.read_response()
        eq(r.status, 405, "POST status")
        eq(r.header("X-Request-Id"), "chunk1", "POST id")
        check(not is_close(r), "chunked POST response closed the connection")
        r = c.read_response()
        eq(r.header("X-Request-Id"), "next2", "next id")
        eq(r.status, 200, "next status")
        eq(r.body, HEALTH_BODY, "next body")


@test("default")
def body_chunked_uppercase_hex_no_trailers(srv):
    with srv.connect() as c:
        c.send(req("POST", "/api/nope", [("Transfer-Encoding", "chunked")])
               + b"1F\r\n" + b"y" * 31 + b"\r\n0\r\n\r\n"
               + get(headers=[("X-Request-Id", "next3")]))
        r = c.read_response()
        eq(r.status, 404, "POST /api/nope status")
        r = c.read_response()
        eq(r.header("X-Request-Id"), "next3", "next id")
        eq(r.status, 200, "next status")


@test("default")
def body_chunked_tiny_pieces(srv):
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [
            ("Transfer-Encoding", "chunked"), ("X-Request-Id", "slow1")]))
        c.send_slowly(CHUNKED_BODY, piece=3, delay=0.005)
        c.send(get(headers=[("X-Request-Id", "next4")]))
        r = c.read_response()
        eq(r.status, 405, "status")
        eq(r.header("X-Request-Id"), "slow1", "id")
        r = c.read_response()
        eq(r.header("X-Request-Id"), "next4", "next id")
        eq(r.status, 200, "next status")


@test("default")
def body_content_length_tiny_pieces(srv):
    body = b"z" * 200
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [
            ("Content-Length", str(len(body))), ("X-Request-Id", "slow2")]))
        c.send_slowly(body, piece=7, delay=0.003)
        c.send(get(headers=[("X-Request-Id", "next5")]))
        r = c.read_response()
        eq(r.status, 405, "status")
        r = c.read_response()
        eq(r.header("X-Request-Id"), "next5", "next id")
        eq(r.status, 200, "next status")


@test("default")
def head_sent_byte_by_byte(srv):
    with srv.connect() as c:
        c.send_slowly(get(headers=[("X-Request-Id", "bytewise")]), piece=1,
                      delay=0.002)
        r = c.read_response()
        eq(r.status, 200, "status")
        eq(r.header("X-Request-Id"), "bytewise", "id")


@test("default")
def expect_100_continue(srv):
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [
            ("Content-Length", "5"), ("Expect", "100-continue"),
            ("X-Request-Id", "exp1")]))
        r = c.read_interim()
        eq(r.status, 100, "interim status (got %r)" % (r.raw_head,))
        eq(r.version, "HTTP/1.1", "interim version")
        c.send(b"hello")
        r = c.read_response()
        eq(r.status, 405, "final status")
        eq(r.header("X-Request-Id"), "exp1", "id")
        c.send(get(headers=[("X-Request-Id", "exp2")]))
        r = c.read_response()
        eq(r.status, 200, "next status")
        eq(r.header("X-Request-Id"), "exp2", "next id")


@test("default")
def expect_100_continue_case_insensitive(srv):
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [
            ("Content-Length", "3"), ("Expect", "100-Continue")]))
        r = c.read_interim()
        eq(r.status, 100, "interim status")
        c.send(b"abc")
        r = c.read_response()
        eq(r.status, 405, "final status")


@test("default")
def expect_unknown_417(srv):
    r, c = one(srv, req("POST", "/api/health", [
        ("Content-Length", "5"), ("Expect", "something")]))
    with c:
        eq(r.status, 417, "status")
        json_error(r, 417)
        check(is_close(r), "417 without Connection: close")
        expect_closed(c)


@test("limits")
def expect_100_over_limit_413(srv):
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [
            ("Content-Length", "5000"), ("Expect", "100-continue")]))
        try:
            r = c.read_response(allow_1xx=True)
        except Closed as e:
            raise Fail("closed without a response: %s" % e)
        check(not r.interim, "got interim %r before 413" %
              [x.raw_head for x in r.interim])
        eq(r.status, 413, "status")
        json_error(r, 413)
        check(is_close(r), "413 without Connection: close")


@test("limits")
def body_too_large_413(srv):
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [("Content-Length", "2048")]))
        c.try_send(b"q" * 2048)
        r = c.read_response()
        eq(r.status, 413, "status")
        json_error(r, 413)
        check(is_close(r), "413 without Connection: close")
        common_headers(r)
        check(c.is_closed(timeout=SOON), "not closed after 413")


@test("limits")
def body_at_limit_ok(srv):
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [("Content-Length", "1024")],
                   b"q" * 1024) + get(headers=[("X-Request-Id", "lim")]))
        r = c.read_response()
        eq(r.status, 405, "status for exactly --max-body")
        r = c.read_response()
        eq(r.header("X-Request-Id"), "lim", "next id")


@test("limits")
def body_chunked_too_large_413(srv):
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [("Transfer-Encoding", "chunked")]))
        ok = True
        for _ in range(6):
            ok = c.try_send(b"100\r\n" + b"c" * 256 + b"\r\n")
            if not ok:
                break
        if ok:
            c.try_send(b"0\r\n\r\n")
        r = c.read_response()
        eq(r.status, 413, "status")
        json_error(r, 413)
        check(is_close(r), "413 without Connection: close")


# --------------------------------------------------------------------------
# Malformed requests
# --------------------------------------------------------------------------

def malformed(srv, data, status, name):
    c = srv.connect()
    with c:
        c.send(data)
        try:
            r = c.read_response()
        except Closed as e:
            raise Fail("%s: closed without a response (%s)" % (name, e))
        except socket.timeout:
            raise Fail("%s: no response (timeout)" % name)
        eq(r.status, status, "%s: status" % name)
        json_error(r, status)
        check(is_close(r), "%s: no Connection: close (%r)"
              % (name, r.header("Connection")))
        expect_closed(c, name)
    return r


MALFORMED = [
    ("cl_and_te", b"POST /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te_and_cl", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
    ("repeated_content_length", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
    ("content_length_list", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 5, 5\r\n\r\nhello", 400),
    ("content_length_abc", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: abc\r\n\r\n", 400),
    ("content_length_negative", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: -1\r\n\r\n", 400),
    ("content_length_plus", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: +5\r\n\r\nhello", 400),
    ("te_gzip_chunked_501", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("te_chunked_gzip_400", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    ("obs_fold", b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n"
     b" folded\r\n\r\n", 400),
    ("obs_fold_tab", b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n"
     b"\tfolded\r\n\r\n", 400),
    ("space_before_colon", b"GET /api/health HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("bare_cr_in_value", b"GET /api/health HTTP/1.1\r\nHost: x\r\n"
     b"X-A: a\rb\r\n\r\n", 400),
    ("nul_in_header", b"GET /api/health HTTP/1.1\r\nHost: x\r\n"
     b"X-A: a\x00b\r\n\r\n", 400),
    ("missing_host", b"GET /api/health HTTP/1.1\r\nX-A: 1\r\n\r\n", 400),
    ("two_hosts", b"GET /api/health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
    ("http2_version", b"GET /api/health HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("bad_chunk_size", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    ("empty_chunk_ext", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n2;\r\nhi\r\n0\r\n\r\n", 400),
    ("empty_last_chunk_ext", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n2;a=1\r\nhi\r\n0;\r\n\r\n", 400),
    ("chunk_ext_trailing_space", b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n2;a \r\nhi\r\n0\r\n\r\n", 400),
    ("garbage_request_line", b"HELLO\r\n\r\n", 400),
    ("header_without_colon", b"GET /api/health HTTP/1.1\r\nHost: x\r\n"
     b"NoColonHere\r\n\r\n", 400),
]


def _make_malformed(name, data, status):
    def fn(srv):
        malformed(srv, data, status, name)
    fn.__name__ = "malformed_" + name
    return fn


for _n, _d, _s in MALFORMED:
    test("default")(_make_malformed(_n, _d, _s))


@test("default")
def bad_percent_escape_400_keeps_connection(srv):
    # A malformed %-escape is a routing error, not a framing error: 400 with
    # the contract's JSON, and the connection stays usable.
    for target in ("/api/%zz", "/api/health%4", "/api/%00"):
        with srv.connect() as c:
            c.send(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target).encode() + get())
            r = c.read_response()
            eq(r.status, 400, target + " status")
            body = json.loads(r.body)
            eq(body.get("status"), 400, target + " body status")
            eq(body.get("data"), {}, target + " body data")
            r = c.read_response()
            eq(r.status, 200, target + " next request")


@test("default")
def malformed_response_has_common_headers(srv):
    c = srv.connect()
    with c:
        c.send(b"GET /api/health HTTP/1.1\r\nHost : x\r\n\r\n")
        r = c.read_response()
        eq(r.status, 400, "status")
        common_headers(r)


@test("default")
def malformed_after_good_request(srv):
    # A good request, then a malformed one pipelined: the first is answered
    # normally, the second gets 400 + close.
    with srv.connect() as c:
        c.send(get(headers=[("X-Request-Id", "good")])
               + b"GET /api/health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n")
        r = c.read_response()
        eq(r.status, 200, "first status")
        eq(r.header("X-Request-Id"), "good", "first id")
        r = c.read_response()
        eq(r.status, 400, "second status")
        check(is_close(r), "no Connection: close")
        expect_closed(c)


@test("limits")
def target_too_long_414(srv):
    malformed(srv, get("/api/" + "a" * 1100), 414, "414")


@test("limits")
def target_at_limit_not_414(srv):
    # A target of exactly 1024 bytes is allowed (it 404s).
    path = "/api/" + "a" * (1024 - 5)
    r, c = one(srv, get(path, [("Connection", "close")]))
    c.close()
    eq(r.status, 404, "status")


@test("limits")
def header_too_large_431(srv):
    malformed(srv, get(headers=[("X-Big", "b" * 5000)]), 431, "431 one header")
    malformed(srv, get(headers=[("X-H%d" % i, "v" * 90) for i in range(60)]),
              431, "431 many headers")


@test("limits")
def limits_server_still_serves(srv):
    r, c = one(srv, get(headers=[("Connection", "close")]))
    c.close()
    eq(r.status, 200, "status")
    eq(r.body, HEALTH_BODY, "body")


# --------------------------------------------------------------------------
# Timeouts
# --------------------------------------------------------------------------

def expect_408_or_close(c, what, timeout=SOON):
    """Stalled client: server answers 408 (then closes) or just closes."""
    t0 = time.monotonic()
    try:
        r = c.read_response(timeout=timeout)
    except Closed:
        return None
    except socket.timeout:
        raise Fail("%s: neither 408 nor close within %.0fs" % (what, timeout))
    except ConnectionResetError:
        return None
    eq(r.status, 408, "%s: status" % what)
    json_error(r, 408)
    check(is_close(r), "%s: 408 without Connection: close" % what)
    left = max(1.0, timeout - (time.monotonic() - t0))
    expect_closed(c, what, timeout=left)
    return r


@test("timeouts")
def timeout_half_head(srv):
    with srv.connect() as c:
        c.send(b"GET /api/health HTTP/1.1\r\nHo")
        expect_408_or_close(c, "half head")


@test("timeouts")
def timeout_slowloris(srv):
    # One byte every 300 ms; the whole head would take ~20 s.  The header
    # timeout (1 s) runs from the first byte, so the server must cut us off
    # long before that.
    # Long enough that sending it all takes well past SOON, however slow the build.
    data = get(headers=[("X-Slow", "s" * int(10 * SOON))])
    check(len(data) * 0.3 > 3 * SOON, "slowloris head too short")
    with srv.connect() as c:
        t0 = time.monotonic()
        cut = False
        for b in data:
            if time.monotonic() - t0 > SOON:
                break
            if not c.try_send(bytes([b])):
                cut = True
                break
            # anything readable (a 408 or EOF) means we were cut off
            c.sock.settimeout(0.3)
            try:
                chunk = c.sock.recv(65536)
                c.buf += chunk
                if not chunk:
                    c.eof = True
                cut = True
                break
            except socket.timeout:
                pass
            except OSError:
                cut = True
                break
        check(cut, "slowloris not cut off after %.1fs" % (time.monotonic() - t0))
        if c.buf:
            try:
                r = c.read_response(timeout=SOON)
                eq(r.status, 408, "status")
            except Closed:
                pass  # partial or no response before close is acceptable


@test("timeouts")
def timeout_idle_keepalive(srv):
    with srv.connect() as c:
        c.send(get())
        r = c.read_response()
        eq(r.status, 200, "status")
        check(c.is_closed(timeout=SOON),
              "idle keep-alive connection not closed within %.0fs" % SOON)
        # An idle close sends nothing (no unsolicited 408 is required, but if
        # one was sent it must be a 408).
        if c.buf:
            check(c.buf.startswith(b"HTTP/1.1 408"), "unexpected bytes on idle "
                  "close: %r" % c.buf[:200])


@test("timeouts")
def timeout_idle_before_first_request(srv):
    with srv.connect() as c:
        check(c.is_closed(timeout=SOON),
              "silent connection not closed within %.0fs" % SOON)


@test("timeouts")
def timeout_body_stall(srv):
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [("Content-Length", "10")], b"12345"))
        expect_408_or_close(c, "stalled body")


@test("timeouts")
def timeout_chunked_body_stall(srv):
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [("Transfer-Encoding", "chunked")],
                   b"5\r\nhel"))
        expect_408_or_close(c, "stalled chunked body")


@test("timeouts")
def timeout_server_still_fine(srv):
    # Requests that are quick are not affected by the short timeouts; a
    # keep-alive connection used promptly keeps working.
    with srv.connect() as c:
        for i in range(5):
            c.send(get(headers=[("X-Request-Id", "t%d" % i)]))
            r = c.read_response()
            eq(r.status, 200, "status")
            eq(r.header("X-Request-Id"), "t%d" % i, "id")


@test("default")
def slow_clients_do_not_block(srv):
    slow = []
    try:
        for i in range(100):
            c = srv.connect(timeout=SOON)
            c.send(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow-%d: " % i)
            slow.append(c)
        t0 = time.monotonic()
        c = srv.connect(timeout=5.0 * SLOW)
        with c:
            c.send(get(headers=[("Connection", "close")]))
            try:
                r = c.read_response(timeout=5.0 * SLOW)
            except socket.timeout:
                raise Fail("normal client starved by 100 slow clients")
            eq(r.status, 200, "status")
            eq(r.body, HEALTH_BODY, "body")
        _ = time.monotonic() - t0
        # The slow clients are still connected (not collateral damage) and
        # can finish their requests.
        for c in slow[:5]:
            c.send(b"1\r\n\r\n")
            r = c.read_response()
            eq(r.status, 200, "slow client status")
    finally:
        for c in slow:
            c.close()


# --------------------------------------------------------------------------
# Connection caps and descriptor exhaustion (issue #20 item 2)
# --------------------------------------------------------------------------
# The new settings come from the environment (TARMAC_*), which a binary from
# before them ignores: it then runs the same test and fails on what it does,
# not on an unknown flag. cli_conn_caps_from_env_and_flags checks the flags.

FD_LIMIT = 256


def fd_attack(suite, flags, name, env=None):
    """bench/fd-exhaustion.py's attack against a server limited to FD_LIMIT
    descriptors: 20 idle connections, then 300 slow-body holders from three
    addresses and a connect flood from two more; then everybody leaves.
    Returns (server, figures); the server is still running."""
    srv = suite.new_server(["--workers=2", "--header-timeout=2s",
                            "--body-timeout=5s"] + flags, name=name, env=env,
                           wrapper=["prlimit", "--nofile=%d:%d" % (FD_LIMIT, FD_LIMIT),
                                    "--"])
    pid = srv.proc.pid
    fig = {}
    before = fdflood.open_fds(pid)
    idle = [srv.connect(timeout=SOON) for _ in range(20)]
    # Wait until the server has accepted them: one still in the kernel's
    # backlog when the cap is reached is never seen, so never timed out.
    until = time.monotonic() + SOON
    while fdflood.open_fds(pid) < before + 20 and time.monotonic() < until:
        time.sleep(0.02)
    idle_at = time.monotonic()
    atk = fdflood.Attack(srv.host, srv.port, ["127.0.0.2", "127.0.0.3", "127.0.0.4"], 100,
                         ["127.0.0.10", "127.0.0.11"])
    try:
        atk.start()
        fig["holders"] = len(atk.holders)
        time.sleep(0.5)
        fig["fds_attack"] = fdflood.open_fds(pid)
        # Timers keep running meanwhile: the header timeout (2 s) closes
        # the idle connections the server had accepted.
        fig["idle_closed"] = 0
        for c in idle:
            if c.is_closed(timeout=max(0.01, idle_at + 2 + SOON - time.monotonic())):
                fig["idle_closed"] += 1
        fig["alive_attack"] = srv.alive()
    finally:
        atk.release()
        for c in idle:
            c.close()
    fig["health_after"] = fdflood.first_health(srv.host, srv.port, 10 * SLOW)
    time.sleep(0.2)
    fig["cpu_after"] = fdflood.cpu_share(pid, 1.0)
    return srv, fig


def check_recovered(srv, fig):
    eq(fig["idle_closed"], 20, "idle connections closed by the header timeout "
       "while descriptors ran out (figures %r)" % fig)
    check(fig["health_after"] is not None and fig["health_after"] < 1.0 * SLOW,
          "/api/health after the attack: %r s (figures %r)" % (fig["health_after"], fig))
    check(fig["cpu_after"] < 0.10, "server CPU once the attacker left: %.0f%% (figures %r)"
          % (100 * fig["cpu_after"], fig))
    r = srv.request("GET", "/api/health")
    eq(r.status, 200, "health")
    eq(srv.stop(timeout=SOON), 0, "exit code on SIGTERM")


@test()
def fd_exhaustion_accepting_pauses(suite):
    # --max-conns=0: connections alone exhaust the descriptors, so accept4
    # fails with EMFILE. Before the fix libuv's accept loop spun on it for
    # good: no timer ran, nothing closed, health never came back.
    # (The cap is set from the environment so that a binary from before the
    # fix, which ignores it, runs the same attack and fails on its effects.)
    srv, fig = fd_attack(suite, [], "fd-emfile", env={"TARMAC_MAX_CONNS": "0"})
    check(fig["alive_attack"], "server died")
    check(srv.wait_stderr(r"cannot accept.*error=EMFILE", timeout=1) or
          fig["fds_attack"] >= FD_LIMIT - 1,
          "descriptors were not exhausted (figures %r)" % fig)
    check_recovered(srv, fig)
    check(srv.wait_stderr(r"cannot accept.*error=EMFILE", timeout=1), "no log line")


@test()
def fd_exhaustion_default_cap(suite):
    # The default --max-conns keeps connections below the descriptor limit:
    # accepting waits at the cap, EMFILE never comes.
    srv, fig = fd_attack(suite, [], "fd-cap")
    check_recovered(srv, fig)
    m = srv.wait_stderr(r"server started.* fd_limit=(\d+) max_conns=(\d+)", timeout=1)
    check(m, "no max_conns in the start-up line")
    eq(int(m.group(1)), FD_LIMIT, "fd_limit")
    eq(int(m.group(2)), 120, "max_conns for 256 descriptors and 2 workers")
    check(srv.wait_stderr(r"connection cap reached", timeout=1), "cap never reached")
    check(not re.search(r"cannot accept", srv.stderr_text()), "accept failed: %s"
          % srv.stderr_text()[-500:])
    check(fig["fds_attack"] < FD_LIMIT - 40, "descriptors in use at the cap: %d"
          % fig["fds_attack"])


def is_refused(c, timeout=SOON):
    """The server closed c without answering its request."""
    c.try_send(get())
    try:
        return c.is_closed(timeout=timeout) and c.buf == b""
    except OSError:
        return True


@test()
def conn_cap_per_ip(suite):
    srv = suite.new_server(["--workers=2"], env={"TARMAC_MAX_CONNS_PER_IP": "3"},
                           name="per-ip")
    held = []
    try:
        for _ in range(3):
            c = srv.connect(source="127.0.0.2")
            c.send(get())
            eq(c.read_response().status, 200, "one of the first three")
            held.append(c)
        with srv.connect(source="127.0.0.2") as c:
            check(is_refused(c), "a 4th connection from 127.0.0.2 was served")
        check(srv.wait_stderr(r"per-IP cap.* ip=127\.0\.0\.2 ", timeout=SOON), "no log line")
        with srv.connect(source="127.0.0.3") as c:  # another client is not affected
            c.send(get())
            eq(c.read_response().status, 200, "from 127.0.0.3")
        for c in held:  # nor are the three
            c.send(get())
            eq(c.read_response().status, 200, "held connection")
        held.pop().close()
        deadline = time.monotonic() + SOON
        while True:  # the slot comes back once the server has closed its side
            with srv.connect(source="127.0.0.2") as c:
                c.try_send(get())
                try:
                    if c.read_response(timeout=1).status == 200:
                        break
                except (Closed, OSError):
                    pass
            check(time.monotonic() < deadline, "slot of a closed connection not given back")
            time.sleep(0.05)
    finally:
        for c in held:
            c.close()
    eq(srv.stop(timeout=SOON), 0, "exit code")


@test()
def conn_cap_total_waits(suite):
    # Past --max-conns (all workers together) a connection waits in the
    # kernel's queue until one closes, then is served.
    srv = suite.new_server(["--workers=2"], env={"TARMAC_MAX_CONNS": "4"}, name="max-conns")
    held = []
    try:
        for _ in range(4):
            c = srv.connect()
            c.send(get())
            eq(c.read_response().status, 200, "one of the first four")
            held.append(c)
        extra = srv.connect()
        extra.send(get())
        try:
            r = extra.read_response(timeout=1.0)
            raise Fail("a 5th connection was served at once: %r" % r)
        except socket.timeout:
            pass
        held.pop(0).close()
        r = extra.read_response(timeout=SOON)
        eq(r.status, 200, "the 5th, once one closed")
        extra.close()
    finally:
        for c in held:
            c.close()
    check(srv.wait_stderr(r"connection cap reached.* max_conns=4", timeout=1), "no log line")
    eq(srv.stop(timeout=SOON), 0, "exit code")


def trickle_until_cut(c, data, every, limit):
    """Sends data a byte per `every` seconds until the server answers or
    closes; returns the seconds that took (None: not within limit)."""
    t0 = time.monotonic()
    for b in data:
        if time.monotonic() - t0 > limit:
            return None
        if not c.try_send(bytes([b])):
            return time.monotonic() - t0
        c.sock.settimeout(every)
        try:
            chunk = c.sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
        c.buf += chunk
        if not chunk:
            c.eof = True
        return time.monotonic() - t0
    return None


@test()
def body_deadline_trickle(suite):
    # A byte every 0.5 s never trips --body-timeout=2s; --body-deadline=3s
    # ends the body anyway: 408 and close.
    srv = suite.new_server(["--body-timeout=2s"], env={"TARMAC_BODY_DEADLINE": "3s"},
                           name="body-deadline")
    for head, body in [
            ([("Content-Length", "1000")], b"x" * 1000),
            ([("Transfer-Encoding", "chunked")], b"1\r\nx\r\n" * 200)]:
        with srv.connect() as c:
            c.send(req("POST", "/api/health", head))
            dt = trickle_until_cut(c, body, 0.5, 3 + SOON)
            check(dt is not None, "%s: trickled body not cut within %.0fs" % (head, 3 + SOON))
            check(dt >= 2.5, "%s: cut after %.1fs, before the deadline" % (head, dt))
            r = expect_408_or_close(c, "trickled body")
            check(r is not None, "%s: closed without a 408" % (head,))
    eq(srv.stop(timeout=SOON), 0, "exit code")


@test()
def body_deadline_off(suite):
    # --body-deadline=0: only the pause between bytes counts (as before).
    srv = suite.new_server(["--body-timeout=1s"], env={"TARMAC_BODY_DEADLINE": "0"},
                           name="no-body-deadline")
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [("Content-Length", "8")]))
        for b in b"12345678":
            time.sleep(0.4)
            c.send(bytes([b]))
        r = c.read_response()
        eq(r.status, 405, "status of the whole request")
    eq(srv.stop(timeout=SOON), 0, "exit code")


# --------------------------------------------------------------------------
# SIGTERM drain
# --------------------------------------------------------------------------

def wait_refused(srv, timeout=SOON):
    """True once connect() to the server's port is refused."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            s = socket.create_connection((srv.host, srv.port), timeout=1)
        except ConnectionRefusedError:
            return True
        except OSError:
            return True
        s.close()
        time.sleep(0.05)
    return False


@test()
def startup_listening_when_announced(suite):
    # Once "server started at http://..." is printed the port must accept
    # connections.  A race is timing dependent, so try a few fresh servers.
    refused = 0
    tries = 5
    for i in range(tries):
        srv = Server(suite.binary, [], name="startup%d" % i)
        suite.extra.append(srv)
        srv.start(wait_ready=False)
        try:
            s = socket.create_connection((srv.host, srv.port), timeout=SOON)
            s.close()
        except ConnectionRefusedError:
            refused += 1
        srv.kill()
    check(refused == 0, "connection refused right after the startup line "
          "in %d of %d starts" % (refused, tries))


@test()
def second_server_refused_on_port_and_data_dir(suite):
    # SO_REUSEPORT would let a second tarmac share the port and take half
    # of the connections; two on one data directory would share a database
    # but not its realtime clients. Both are refused, exit code 1.
    first = Server(suite.binary, [], name="first")
    suite.extra.append(first)
    first.start()
    try:
        for flags, want in [
                (["--http=127.0.0.1:%d" % first.port], "address already in use"),
                (["--http=127.0.0.1:0", "--dir=" + first.datadir], "in use by another tarmac"),
        ]:
            argv = [suite.binary, "serve"] + flags
            if not any(f.startswith("--dir=") for f in flags):
                argv.append("--dir=" + first.datadir + "-other")
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=SOON * 4)
            eq(p.returncode, 1, "exit code of %r" % flags)
            check(want.encode() in p.stderr, "stderr of %r: %r" % (flags, p.stderr[-300:]))
        r, c = one(first, get())
        eq(r.status, 200, "the first server still answers")
        c.close()
    finally:
        first.kill()


@test()
def startup_sigterm_right_after_announce(suite):
    # A SIGTERM sent as soon as the startup line appears must still be a
    # clean stop (exit 0), not death by the default signal action.
    bad = []
    tries = 5
    for i in range(tries):
        srv = Server(suite.binary, [], name="startsig%d" % i)
        suite.extra.append(srv)
        srv.start(wait_ready=False)
        srv.signal(signal.SIGTERM)
        rc = srv.wait(SOON)
        if rc != 0:
            bad.append(rc)
        srv.kill()
    check(not bad, "exit codes %r (want 0) in %d of %d starts"
          % (bad, len(bad), tries))


@test()
def drain_inflight_request(suite):
    srv = suite.new_server(["--grace=5s"], name="drain1")
    with srv.connect() as c:
        # make sure the connection is established and served
        c.send(get(headers=[("X-Request-Id", "pre")]))
        eq(c.read_response().status, 200, "pre status")
        c.send(req("POST", "/api/health", [
            ("Content-Length", "10"), ("X-Request-Id", "inflight")], b"12345"))
        time.sleep(0.3)
        srv.signal(signal.SIGTERM)
        check(wait_refused(srv), "new connections still accepted after SIGTERM")
        check(srv.alive(), "server exited before the in-flight request ended")
        c.send(b"67890")
        try:
            r = c.read_response()
        except Closed as e:
            raise Fail("in-flight request dropped: %s" % e)
        eq(r.status, 405, "status")
        eq(r.header("X-Request-Id"), "inflight", "id")
        check(is_close(r), "drained response without Connection: close: %r"
              % r.header("Connection"))
        expect_closed(c, "drained connection")
    rc = srv.wait(SOON)
    eq(rc, 0, "exit code after drain")


@test()
def drain_idle_connections_closed(suite):
    srv = suite.new_server(["--grace=30s"], name="drain2")
    conns = []
    try:
        for i in range(3):
            c = srv.connect()
            c.send(get())
            eq(c.read_response().status, 200, "status")
            conns.append(c)
        time.sleep(0.1)
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        for i, c in enumerate(conns):
            check(c.is_closed(timeout=SOON),
                  "idle connection #%d not closed on SIGTERM" % i)
        rc = srv.wait(SOON)
        check(rc is not None, "server did not exit within %.0fs of SIGTERM "
              "with only idle connections (grace 30s)" % SOON)
        eq(rc, 0, "exit code")
        _ = time.monotonic() - t0
        try:
            s = socket.create_connection((srv.host, srv.port), timeout=2)
            s.close()
            raise Fail("connection accepted after exit")
        except OSError:
            pass
    finally:
        for c in conns:
            c.close()


@test()
def drain_fresh_connection_may_send_request(suite):
    # A connection accepted but silent when SIGTERM arrives is given the
    # chance to send its first request (within the header timeout); it is
    # answered with Connection: close and the server then exits 0.
    srv = suite.new_server(["--grace=30s", "--header-timeout=5s"],
                           name="drain-fresh")
    with srv.connect() as c:
        time.sleep(0.2)
        srv.signal(signal.SIGTERM)
        check(wait_refused(srv), "new connections still accepted after SIGTERM")
        c.send(get(headers=[("X-Request-Id", "late")]))
        try:
            r = c.read_response()
        except Closed as e:
            raise Fail("fresh connection dropped on SIGTERM: %s" % e)
        eq(r.status, 200, "status")
        eq(r.header("X-Request-Id"), "late", "id")
        check(is_close(r), "no Connection: close while draining")
        expect_closed(c)
    eq(srv.wait(SOON), 0, "exit code")


@test()
def drain_no_connections_exit0(suite):
    srv = suite.new_server(["--grace=30s"], name="drain3")
    r, c = one(srv, get(headers=[("Connection", "close")]))
    c.close()
    eq(r.status, 200, "status")
    eq(srv.stop(timeout=SOON), 0, "exit code on SIGTERM")


@test()
def drain_sigint_exit0(suite):
    srv = suite.new_server(["--grace=30s"], name="drain4")
    srv.signal(signal.SIGINT)
    eq(srv.wait(SOON), 0, "exit code on SIGINT")


@test()
def drain_grace_expires(suite):
    # A request that never completes does not hold the process forever: after
    # --grace the server exits anyway (exit code not asserted).
    srv = suite.new_server(["--grace=1s", "--body-timeout=60s"], name="drain5")
    with srv.connect() as c:
        c.send(req("POST", "/api/health", [("Content-Length", "10")], b"12"))
        time.sleep(0.2)
        srv.signal(signal.SIGTERM)
        rc = srv.wait(SOON)
        check(rc is not None, "server still running %.0fs after SIGTERM "
              "with --grace=1s" % SOON)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

@test()
def cli_version(suite):
    rc, out, err = run_cli(suite.binary, ["--version"])
    eq(rc, 0, "exit code")
    check(out.startswith("tarmac version "), "stdout %r" % out)


@test()
def cli_help(suite):
    rc, out, err = run_cli(suite.binary, ["help"])
    eq(rc, 0, "exit code")
    check("serve" in out, "help does not mention serve: %r" % out)


@test()
def cli_serve_help(suite):
    rc, out, err = run_cli(suite.binary, ["serve", "--help"])
    eq(rc, 0, "exit code")
    check("--http" in out + err, "serve --help does not mention --http")
    for flag, env in [("--max-conns=", "TARMAC_MAX_CONNS)"),
                      ("--max-conns-per-ip=", "TARMAC_MAX_CONNS_PER_IP)"),
                      ("--body-deadline=", "TARMAC_BODY_DEADLINE)")]:
        check(flag in out and env in out, "serve --help lacks %s / %s" % (flag, env))


@test()
def cli_unknown_flag(suite):
    rc, out, err = run_cli(suite.binary, ["serve", "--bogus"])
    eq(rc, 2, "exit code")
    check(err.strip(), "no message on stderr")
    check("bogus" in err, "stderr does not name the flag: %r" % err)


@test()
def cli_bad_workers(suite):
    rc, out, err = run_cli(suite.binary, ["serve", "--workers=abc"])
    eq(rc, 2, "exit code")
    check(err.strip(), "no message on stderr")


@test()
def cli_bad_values(suite):
    for args in (["serve", "--max-body=lots"], ["serve", "--grace=forever"],
                 ["serve", "--header-timeout=-1s"], ["serve", "--workers=-1"],
                 ["serve", "--http=127.0.0.1:99999"], ["serve", "--max-conns=many"],
                 ["serve", "--max-conns-per-ip=-1"], ["serve", "--body-deadline=soon"],
                 ["serve", "--db-max-conns=257"], ["serve", "--db-max-conns=some"],
                 ["serve", "--db-pooler=bouncer"], ["serve", "--db-pooler="]):
        rc, out, err = run_cli(suite.binary, args)
        eq(rc, 2, "exit code for %s" % " ".join(args))
        check(err.strip(), "no message on stderr for %s" % " ".join(args))
        if args[1].startswith("--db-pooler"):
            check("--db-pooler" in err, "stderr does not name the flag: %r" % err)


@test()
def cli_unknown_command(suite):
    rc, out, err = run_cli(suite.binary, ["frobnicate"])
    eq(rc, 2, "exit code")
    check(err.strip(), "no message on stderr")


@test()
def cli_bad_env_http(suite):
    rc, out, err = run_cli(suite.binary, ["serve"],
                           env={"TARMAC_HTTP": "nonsense"})
    eq(rc, 2, "exit code")
    check(err.strip(), "no message on stderr")


@test()
def cli_port_in_use(suite):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        rc, out, err = run_cli(suite.binary, [
            "serve", "--http=127.0.0.1:%d" % port, "--dir=data"])
        eq(rc, 1, "exit code")
        check(err.strip(), "no message on stderr")
    finally:
        s.close()


@test()
def cli_env_workers(suite):
    srv = suite.new_server([], env={"TARMAC_WORKERS": "1"}, name="workers1")
    r, c = one(srv, get(headers=[("Connection", "close")]))
    c.close()
    eq(r.status, 200, "status")
    m = srv.wait_stderr(r"workers=(\d+)", timeout=1)
    if m:
        eq(m.group(1), "1", "workers in log")
    eq(srv.stop(timeout=SOON), 0, "exit code")


@test()
def cli_conn_caps_from_env_and_flags(suite):
    srv = suite.new_server(["--max-conns-per-ip=5"], name="capsenv",
                           env={"TARMAC_MAX_CONNS": "9", "TARMAC_MAX_CONNS_PER_IP": "7"})
    m = srv.wait_stderr(r"server started.* max_conns=(\d+) max_conns_per_ip=(\d+)", timeout=1)
    check(m, "no caps in the start-up line")
    eq(m.group(1), "9", "max_conns from TARMAC_MAX_CONNS")
    eq(m.group(2), "5", "max_conns_per_ip: the flag wins over the environment")
    eq(srv.stop(timeout=SOON), 0, "exit code")


@test()
def cli_env_flags(suite):
    # Settings from the environment apply (here: a CORS allow-list).
    srv = suite.new_server([], env={"TARMAC_CORS": "https://env.example"},
                           name="envcors")
    with srv.connect() as c:
        c.send(get(headers=[("Origin", "https://env.example")]))
        r = c.read_response()
        eq(r.header("Access-Control-Allow-Origin"), "https://env.example", "ACAO")
        c.send(get(headers=[("Origin", "https://other.example")]))
        r = c.read_response()
        eq(r.header("Access-Control-Allow-Origin"), None, "ACAO other")
    eq(srv.stop(timeout=SOON), 0, "exit code")


# --------------------------------------------------------------------------
# Access log
# --------------------------------------------------------------------------

@test("default")
def access_log(srv):
    with srv.connect() as c:
        c.send(get(headers=[("X-Request-Id", "log-check-1")]))
        eq(c.read_response().status, 200, "status")
        c.send(get("/api/nope", [("X-Request-Id", "log-check-2")]))
        eq(c.read_response().status, 404, "status")
    m = srv.wait_stderr(r"(?m)^.*rid=\"?log-check-1\b.*$")
    check(m, "no access-log line with rid=log-check-1 in stderr")
    line = m.group(0)
    check("msg=request method=GET path=/api/health status=200" in line,
          "access-log line: %r" % line)
    m = srv.wait_stderr(r"(?m)^.*rid=\"?log-check-2\b.*$")
    check(m, "no access-log line with rid=log-check-2")
    check("method=GET path=/api/nope status=404" in m.group(0),
          "access-log line: %r" % m.group(0))


@test("default")
def access_log_one_line_per_request(srv):
    with srv.connect() as c:
        for i in range(5):
            c.send(get(headers=[("X-Request-Id", "once-%d" % i)]))
            eq(c.read_response().status, 200, "status")
    srv.wait_stderr(r"rid=\"?once-4\b")
    text = srv.stderr_text()
    for i in range(5):
        n = len(re.findall(r"msg=request .*rid=\"?once-%d\b" % i, text))
        eq(n, 1, "access-log lines for once-%d" % i)


@test()
def log_format_json(suite):
    srv = suite.new_server(["--log-format=json", "--workers=1"], name="logjson")
    with srv.connect() as c:
        c.send(get(headers=[("X-Request-Id", "json-log-1")]))
        eq(c.read_response().status, 200, "status")
    check(srv.wait_stderr(r"json-log-1"), "no access-log line")
    lines = [ln for ln in srv.stderr_text().split("\n") if ln]
    objs = []
    for ln in lines:
        try:
            objs.append(json.loads(ln))
        except ValueError:
            check(False, "not a JSON line: %r" % ln)
    for o in objs:
        check(isinstance(o, dict) and list(o)[:2] == ["t", "level"] and "msg" in o,
              "keys of %r" % o)
    started = [o for o in objs if o["msg"] == "server started"]
    check(started and started[0]["port"].isdigit(), "server started line: %r" % objs[:5])
    req = [o for o in objs if o.get("rid") == "json-log-1"]
    eq(len(req), 1, "one access-log object")
    want = {"level": "info", "msg": "request", "method": "GET", "path": "/api/health",
            "status": "200"}
    eq({k: req[0].get(k) for k in want}, want, "access-log object")


@test()
def log_format_refuses_unknown(suite):
    rc, out, err = run_cli(suite.binary, ["serve", "--log-format=xml"])
    eq(rc, 2, "exit code")
    check("--log-format" in err, "stderr names the flag: %r" % err)


# --------------------------------------------------------------------------
# Realtime wire format: SSE (spec §7.1) and the WebSocket endpoint
# --------------------------------------------------------------------------

SERVER_FLAGS["realtime"] = ["--realtime-ping=1s", "--realtime-idle=3s"]


def read_sse_event(c, timeout=SOON):
    """One SSE block ("...\n\n") as a list of lines."""
    block = c.read_until(b"\n\n", timeout=timeout)
    return block[:-2].decode().split("\n")


@test("default")
def sse_head_and_connect_event(srv):
    c = srv.connect()
    c.send(get("/api/realtime"))
    version, status, _, headers, _ = c.read_head()
    h = {k.lower(): v for k, v in headers}
    eq(status, 200, "status")
    eq(h.get("content-type"), "text/event-stream", "Content-Type")
    eq(h.get("cache-control"), "no-store", "Cache-Control")
    eq(h.get("x-accel-buffering"), "no", "X-Accel-Buffering")
    check("content-length" not in h, "a stream has no Content-Length: %r" % h)
    lines = read_sse_event(c)
    eq(len(lines), 3, "PB_CONNECT lines")
    check(re.match(r"^id:[A-Za-z0-9]{40}$", lines[0]), "id line %r" % lines[0])
    eq(lines[1], "event:PB_CONNECT", "event line")
    cid = lines[0][3:]
    eq(json.loads(lines[2][5:]), {"clientId": cid}, "data")
    # Subscribing from the same address works; the stream stays open.
    body = json.dumps({"clientId": cid, "subscriptions": ["x/*"]}).encode()
    r = srv.request("POST", "/api/realtime",
                    [("Content-Type", "application/json"),
                     ("Content-Length", str(len(body)))], body)
    eq(r.status, 204, "subscribe")
    c.close()
    # A dropped stream's client is gone: its id no longer subscribes.
    deadline = time.monotonic() + SOON
    while True:
        r = srv.request("POST", "/api/realtime",
                        [("Content-Type", "application/json"),
                         ("Content-Length", str(len(body)))], body)
        if r.status == 404 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    eq(r.status, 404, "subscribe after the stream closed")


@test("realtime")
def sse_ping_then_idle_close(srv):
    c = srv.connect()
    c.send(get("/api/realtime"))
    c.read_head()
    read_sse_event(c)
    eq(read_sse_event(c, timeout=SOON), [":ping"], "keep-alive comment")
    # --realtime-idle=3s: no message delivered, so the server ends the stream.
    rest = c.read_to_close(timeout=SOON)
    check(all(b == b":ping" for b in rest.split(b"\n\n") if b),
          "only pings before the close: %r" % rest[:200])


SERVER_FLAGS["realtime_age"] = ["--realtime-ping=1s", "--realtime-max-age=2s"]
SERVER_FLAGS["realtime_no_age"] = ["--realtime-ping=1s"]


def sse_open(srv):
    c = srv.connect()
    c.send(get("/api/realtime"))
    c.read_head()
    read_sse_event(c)
    return c


@test("realtime_age")
def sse_max_age_closes_an_old_stream(srv):
    # --realtime-max-age=2s: a stream that keeps receiving pings is still
    # closed once it is that old.
    c = sse_open(srv)
    started = time.monotonic()
    rest = c.read_to_close(timeout=SOON)
    check(time.monotonic() - started < SOON, "the stream was not closed")
    check(all(b == b":ping" for b in rest.split(b"\n\n") if b),
          "only pings before the close: %r" % rest[:200])


@test("realtime_no_age")
def sse_max_age_is_off_by_default(srv):
    # PocketBase has no age limit (issue #11): without the flag a stream
    # outlives what --realtime-max-age=2s allows, pings and all.
    c = sse_open(srv)
    deadline = time.monotonic() + 4.5 * SLOW
    pings = 0
    while time.monotonic() < deadline:
        eq(read_sse_event(c, timeout=SOON), [":ping"], "keep-alive comment")
        pings += 1
    check(pings >= 3, "pings in 4.5 s: %d" % pings)
    c.close()


WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's example


def ws_upgrade(srv, extra=(), key=WS_KEY, version="13"):
    c = srv.connect()
    hs = [("Upgrade", "websocket"), ("Connection", "keep-alive, Upgrade")]
    if key is not None:
        hs.append(("Sec-WebSocket-Key", key))
    if version is not None:
        hs.append(("Sec-WebSocket-Version", version))
    c.send(get("/api/realtime/ws", hs + list(extra)))
    return c


@test("default")
def ws_handshake_and_connect_message(srv):
    c = ws_upgrade(srv)
    version, status, _, headers, _ = c.read_head()
    h = {k.lower(): v for k, v in headers}
    eq(status, 101, "status")
    eq(h.get("upgrade", "").lower(), "websocket", "Upgrade")
    eq(h.get("connection", "").lower(), "upgrade", "Connection")
    eq(h.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "accept")
    op, data = ws_read(c)
    eq(op, 1, "text frame")
    msg = json.loads(data)
    eq(msg["event"], "PB_CONNECT", "event")
    check(re.match(r"^[A-Za-z0-9]{40}$", msg["clientId"]), "clientId")
    c.send(ws_frame(9, b"hi"))  # ping
    eq(ws_read(c), (10, b"hi"), "pong")
    c.send(ws_frame(1, b"{not json"))
    op, data = ws_read(c)
    eq(json.loads(data)["status"], 400, "bad message answer")
    c.send(ws_frame(1, json.dumps({"subscriptions": ["a/*", 7]}).encode()))
    ans = json.loads(ws_read(c)[1])
    eq(ans["status"], 400, "bad list answer")
    check("subscriptions" in ans["data"], "field errors: %r" % ans)
    c.send(ws_frame(1, json.dumps({"subscriptions": ["a/*"]}).encode()))
    eq(json.loads(ws_read(c)[1])["status"], 204, "subscribe answer")
    c.send(ws_frame(8, (1000).to_bytes(2, "big")))
    op, data = ws_read(c)
    eq(op, 8, "close echoed")
    c.read_to_close(timeout=SOON)


@test("default")
def ws_bad_handshakes(srv):
    for extra, key, version, want in [
            ((), WS_KEY, "8", 426),
            ((), "short", "13", 400),
            ((), "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "13", 400),
            ((), None, "13", 400),
    ]:
        c = ws_upgrade(srv, extra, key, version)
        r = c.read_response()
        eq(r.status, want, "status for key=%r version=%r" % (key, version))
        json_error(r, want)
        if want == 426:
            eq(r.header("Sec-WebSocket-Version"), "13", "advertised version")
        c.close()
    r, c = one(srv, get("/api/realtime/ws"))
    eq(r.status, 400, "plain GET")
    c.close()


@test("default")
def ws_protocol_violations_close(srv):
    # RFC 6455 §5.1: a client frame must be masked.
    c = ws_upgrade(srv)
    c.read_head()
    ws_read(c)
    c.send(ws_frame(1, b'{"subscriptions":[]}', masked=False))
    op, data = ws_read(c)
    eq(op, 8, "close frame")
    eq(int.from_bytes(data[:2], "big"), 1002, "protocol error")
    c.read_to_close(timeout=SOON)
    # A message over the limit: 1009.
    c = ws_upgrade(srv)
    c.read_head()
    ws_read(c)
    c.send(ws_frame(1, b"[" + b" " * (300 * 1024) + b"]"))
    op, data = ws_read(c)
    eq(op, 8, "close frame")
    eq(int.from_bytes(data[:2], "big"), 1009, "message too big")
    c.read_to_close(timeout=SOON)
    # The server is fine afterwards.
    r, c = one(srv, get())
    eq(r.status, 200, "health")
    c.close()


@test("default")
def stream_endpoints_other_methods_and_versions(srv):
    hs = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
          ("Sec-WebSocket-Key", WS_KEY), ("Sec-WebSocket-Version", "13")]
    # RFC 6455 §4.1: only a GET of HTTP/1.1 becomes a WebSocket.
    for method, version in [("HEAD", "HTTP/1.1"), ("GET", "HTTP/1.0")]:
        r, c = one(srv, req(method, "/api/realtime/ws", hs, version=version),
                   head=(method == "HEAD"))
        eq(r.status, 400, "%s %s upgrade" % (method, version))
        c.close()
    # A HEAD of the event stream is its head alone, and the connection
    # goes on with the next request.
    c = srv.connect()
    c.send(req("HEAD", "/api/realtime") + get())
    r = c.read_response(head=True)
    eq(r.status, 200, "HEAD status")
    eq(r.header("Content-Type"), "text/event-stream", "HEAD Content-Type")
    r = c.read_response()
    eq(r.status, 200, "the request after the HEAD")
    check(b"API is healthy" in r.body, "health body: %r" % r.body[:80])
    c.close()
    # An HTTP/1.0 stream says nothing of keep-alive: it ends with the connection.
    c = srv.connect()
    c.send(get("/api/realtime", version="HTTP/1.0"))
    _, status, _, headers, _ = c.read_head()
    eq(status, 200, "HTTP/1.0 stream")
    check(all(k.lower() != "connection" for k, _ in headers), "headers: %r" % headers)
    c.close()
    # The reason phrase of a 426.
    c = srv.connect()
    c.send(get("/api/realtime/ws", hs[:3] + [("Sec-WebSocket-Version", "8")]))
    line = c.read_until(b"\r\n")
    eq(line, b"HTTP/1.1 426 Upgrade Required\r\n", "status line")
    c.close()


@test("default")
def ws_frames_wslay_refuses_get_1002(srv):
    for bad in [ws_frame(9, b"x" * 126),            # a control frame over 125 bytes
                ws_frame(9, b"hi", fin=False),       # a fragmented control frame
                bytes([0x81, 0xFF]) + (1 << 63).to_bytes(8, "big") + b"mask"]:  # 2^63 bytes
        c = ws_upgrade(srv)
        c.read_head()
        ws_read(c)
        c.send(bad)
        op, data = ws_read(c)
        eq(op, 8, "close frame for %r" % bad[:12])
        eq(int.from_bytes(data[:2], "big"), 1002, "protocol error code")
        c.read_to_close(timeout=SOON)


@test("default")
def stream_requests_with_bytes_behind_them(srv):
    # Bytes after a request that starts a stream belong to the stream: an
    # SSE stream ignores them (they once crashed the server), a WebSocket
    # takes them as frames (a client that sends its first frame at once).
    c = srv.connect()
    c.send(get("/api/realtime") + get() + b"garbage\r\n\r\n")
    _, status, _, _, _ = c.read_head()
    eq(status, 200, "SSE status")
    eq(read_sse_event(c)[1], "event:PB_CONNECT", "connect event")
    c.close()
    c = srv.connect()
    hs = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
          ("Sec-WebSocket-Key", WS_KEY), ("Sec-WebSocket-Version", "13")]
    c.send(get("/api/realtime/ws", hs) + ws_frame(9, b"early") +
           ws_frame(1, json.dumps({"subscriptions": ["a/*"]}).encode()))
    _, status, _, _, _ = c.read_head()
    eq(status, 101, "WebSocket status")
    eq(json.loads(ws_read(c)[1])["event"], "PB_CONNECT", "connect message")
    eq(ws_read(c), (10, b"early"), "pong to the early ping")
    eq(json.loads(ws_read(c)[1])["status"], 204, "early subscribe answered")
    c.close()
    r, c = one(srv, get())
    eq(r.status, 200, "server still up")
    c.close()


# --------------------------------------------------------------------------
# Request costs (issue #20 items 3 and 4): budgets, expand caps, realtime
# caps, large pages streamed with backpressure. Each test starts its own
# server (--workers=1, so "the other requests of its worker" are all of
# them) and builds its data set through the API.
# --------------------------------------------------------------------------

COST_SU = ("costs@example.com", "costs-pass-123")
TOO_EXPENSIVE = "The request is too expensive; simplify the filter or lower perPage."
TOO_MANY_EXPANDED = "The request expands too many records; expand less or lower perPage."
TOO_MUCH_EXPANDED = "The request expands too much data; expand less or lower perPage."
TOO_MANY_FROM_IP = ("Too many realtime subscriptions from this IP address; close other "
                    "clients or subscribe to fewer topics.")


def cost_server(suite, name, flags, env=None):
    """A server of its own with a superuser (its token in srv.token)."""
    s = Server(suite.binary, ["--workers=1", "--access-log=false"] + list(flags),
               env=env, name=name)
    suite.extra.append(s)
    rc, out, err = run_cli(suite.binary, ["superuser", "upsert", COST_SU[0], COST_SU[1],
                                          "--dir=" + s.datadir])
    check(rc == 0, "superuser upsert: %s %s" % (out, err))
    s.start()
    st, j = api(s, "POST", "/api/collections/_superusers/auth-with-password",
                {"identity": COST_SU[0], "password": COST_SU[1]})
    eq(st, 200, "superuser login")
    s.token = j["token"]
    return s


def api(srv, method, path, body=None, token=None, timeout=None, version="HTTP/1.1"):
    """One JSON request on a fresh connection: (status, decoded body or None)."""
    hs = [("Connection", "close")]
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        hs += [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if token:
        hs.append(("Authorization", token))
    with srv.connect(timeout=timeout or SOON) as c:
        c.send(req(method, path, hs, data, version=version))
        r = c.read_response(timeout=timeout or SOON)
    try:
        return r.status, json.loads(r.body) if r.body else None
    except ValueError:
        raise Fail("%s %s: body is not JSON: %r" % (method, path, r.body[:200]))


def batch_create(srv, collection, bodies):
    """Creates the records 50 at a time (POST /api/batch); returns their ids."""
    ids = []
    for i in range(0, len(bodies), 50):
        reqs = [{"method": "POST", "url": "/api/collections/%s/records" % collection, "body": b}
                for b in bodies[i:i + 50]]
        st, j = api(srv, "POST", "/api/batch", {"requests": reqs}, srv.token,
                    timeout=60 * SLOW)
        eq(st, 200, "batch insert into %s: %r" % (collection, j))
        ids += [x["body"]["id"] for x in j]
    return ids


def tags_and_items(srv, ntags=1000, nitems=100):
    """The review's data set: ntags tags, nitems items each related to every
    tag, all public. A guest's back-relation filter over it costs a minute
    of CPU without a budget. Returns the tag ids."""
    st, tags = api(srv, "POST", "/api/collections", {
        "name": "tags", "type": "base", "listRule": "", "viewRule": "",
        "fields": [{"name": "name", "type": "text"}]}, srv.token)
    eq(st, 200, "create tags")
    st, _ = api(srv, "POST", "/api/collections", {
        "name": "items", "type": "base", "listRule": "", "viewRule": "",
        "fields": [{"name": "name", "type": "text"},
                   {"name": "tags", "type": "relation", "collectionId": tags["id"],
                    "maxSelect": ntags}]}, srv.token)
    eq(st, 200, "create items")
    tag_ids = batch_create(srv, "tags", [{"name": "tag%d" % i} for i in range(ntags)])
    batch_create(srv, "items", [{"name": "item%d" % i, "tags": tag_ids} for i in range(nitems)])
    return tag_ids


def back_relation_filter(terms=20):
    return " || ".join("items_via_tags.name ~ 'zz%d'" % i for i in range(terms))


def quote(s):
    from urllib.parse import quote as q
    return q(s, safe="")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Fail("no VmRSS for %d" % pid)


@test()
def cost_expensive_filter_400_and_worker_keeps_serving(suite):
    budget = 0.3
    srv = cost_server(suite, "cost-filter", ["--query-budget=300ms"])
    tags_and_items(srv)
    path = "/api/collections/tags/records?filter=" + quote(back_relation_filter())
    a = srv.connect(timeout=SOON)
    b = srv.connect(timeout=SOON)
    try:
        t0 = time.monotonic()
        a.send(get(path))
        time.sleep(0.05)
        t1 = time.monotonic()
        b.send(get())
        r = b.read_response(timeout=SOON)
        waited = time.monotonic() - t1
        eq(r.status, 200, "health beside the expensive filter")
        check(waited < (budget + 1.0) * SLOW,
              "health waited %.2fs beside a guest's filter (budget %.1fs)" % (waited, budget))
        r = a.read_response(timeout=SOON)
        took = time.monotonic() - t0
        eq(r.status, 400, "the expensive filter")
        eq(json_error(r, 400)["message"], TOO_EXPENSIVE, "message")
        check(took < (budget + 1.0) * SLOW, "the 400 took %.2fs" % took)
        check(not is_close(r), "a 400 for a cost keeps the connection")
        # The interrupted query left the connection's read transaction usable.
        a.send(get("/api/collections/tags/records?perPage=2&sort=name"))
        r = a.read_response()
        eq(r.status, 200, "the next request on the same connection: %r" % r.body[:200])
        eq([x["name"] for x in r.json()["items"]], ["tag0", "tag1"], "its items")
    finally:
        a.close()
        b.close()
    # A filter that costs what it should still answers.
    st, j = api(srv, "GET", "/api/collections/tags/records?filter=" + quote("name = 'tag5'"))
    eq((st, j["totalItems"]), (200, 1), "a cheap filter")


@test()
def cost_expand_caps_400(suite):
    srv = cost_server(suite, "cost-expand", ["--max-expand=150", "--max-expand-bytes=1MiB"])
    tag_ids = tags_and_items(srv)
    st, j = api(srv, "GET", "/api/collections/items/records?perPage=1")
    eq(st, 200, "items")
    item = j["items"][0]["id"]
    # 100 items of ~17 KB each: under 150 records, over 1 MiB.
    st, j = api(srv, "GET", "/api/collections/tags/records/%s?expand=items_via_tags" % tag_ids[0])
    eq((st, j and j.get("message")), (400, TOO_MUCH_EXPANDED), "view over the bytes cap")
    eq(j["data"], {}, "data")
    # 1000 tags: over 150 records.
    st, j = api(srv, "GET", "/api/collections/items/records/%s?expand=tags" % item)
    eq((st, j and j.get("message")), (400, TOO_MANY_EXPANDED), "view over the records cap")
    st, j = api(srv, "GET", "/api/collections/items/records?perPage=2&expand=tags")
    eq((st, j and j.get("message")), (400, TOO_MANY_EXPANDED), "list over the records cap")
    # Within the caps: 100 small records.
    st, j = api(srv, "GET", "/api/collections/items/records/%s?expand=tags&fields=id" % item)
    eq(st, 400, "the caps count what is expanded, not what fields keeps")
    st, j = api(srv, "GET", "/api/collections/tags/records?perPage=1&expand=items_via_tags"
                "&fields=id,expand.items_via_tags.id", token=None)
    eq(st, 400, "list of one tag over the bytes cap")
    st, j = api(srv, "GET", "/api/collections/tags/records?perPage=100")
    eq((st, len(j["items"])), (200, 100), "no expand: no cap")
    # A batch counts as one response: its answer would expand too much.
    st, j = api(srv, "POST", "/api/batch?expand=x", {"requests": [{
        "method": "PATCH", "url": "/api/collections/tags/records/%s?expand=items_via_tags"
        % tag_ids[1], "body": {"name": "renamed"}}]}, srv.token)
    eq((st, j and j.get("message")), (400, TOO_MUCH_EXPANDED), "batch answer over the cap")
    st, j = api(srv, "GET", "/api/collections/tags/records/%s" % tag_ids[1])
    eq(j.get("name"), "renamed", "the batch's write itself is committed")


@test()
def cost_slow_readers_do_not_pin_pages(suite):
    # No caps and a budget the pages fit in: only backpressure keeps the
    # memory down. ASan's quarantine would hold what the server freed, so
    # keep it small there.
    env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8"}
    srv = cost_server(suite, "cost-slow", ["--query-budget=120s", "--max-expand=0",
                                           "--max-expand-bytes=0"], env=env)
    tags_and_items(srv)
    # 20 tags with their 100 items of ~17 KB each: a 34 MB page; made whole,
    # four of them took over 130 MB.
    path = "/api/collections/tags/records?perPage=20&expand=items_via_tags"
    before = rss_kib(srv.proc.pid)
    socks = []
    try:
        for _ in range(4):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(SOON)
            s.connect((srv.host, srv.port))
            s.sendall(get(path))
            socks.append(s)

        def answered(s):  # the head arrived (peeked at, never read)
            try:
                return bool(s.recv(16, socket.MSG_PEEK | socket.MSG_DONTWAIT))
            except BlockingIOError:
                return False
        peak = before
        deadline = time.monotonic() + 60 * SLOW
        settled = None
        while time.monotonic() < deadline:
            peak = max(peak, rss_kib(srv.proc.pid))
            if settled is None and all(answered(s) for s in socks):
                settled = time.monotonic() + 1.0  # a second more for any piece in flight
            if settled is not None and time.monotonic() > settled:
                break
            time.sleep(0.05)
        check(settled is not None, "the four pages never started")
        if os.environ.get("TARMAC_TEST_TRACE"):
            print("# RSS %d -> %d KiB" % (before, peak))
        check((peak - before) < 64 * 1024,
              "RSS grew by %d MiB for four readers that do not read" % ((peak - before) // 1024))
        r, c = one(srv, get())
        c.close()
        eq(r.status, 200, "health beside them")
        head = socks[0].recv(4096)
        check(b"Transfer-Encoding: chunked\r\n" in head, "chunked head: %r" % head[:300])
    finally:
        for s in socks:
            s.close()


def docs_collection(srv, count, size):
    """count public records of ~size bytes each in "docs" (titles doc000...)."""
    st, _ = api(srv, "POST", "/api/collections", {
        "name": "docs", "type": "base", "listRule": "", "viewRule": "",
        "fields": [{"name": "title", "type": "text"},
                   {"name": "body", "type": "text", "max": size + 100}]}, srv.token)
    eq(st, 200, "create docs")
    return batch_create(srv, "docs", [{"title": "doc%03d" % i, "body": ("%03d" % i) * (size // 3)}
                                      for i in range(count)])


@test()
def cost_large_page_streams_whole(suite):
    srv = cost_server(suite, "cost-stream", [])
    docs_collection(srv, 40, 100000)  # 4 MB: past the 1 MiB a page is built whole
    small = []
    for page in range(1, 9):
        st, j = api(srv, "GET", "/api/collections/docs/records?perPage=5&sort=title&page=%d" % page)
        eq(st, 200, "page %d" % page)
        small += j["items"]
    eq(len(small), 40, "the small pages")
    path = "/api/collections/docs/records?perPage=40&sort=title"
    r, c = one(srv, get(path))
    c.close()
    eq(r.status, 200, "status")
    eq(r.header("Transfer-Encoding"), "chunked", "Transfer-Encoding")
    check(not r.has("Content-Length"), "no Content-Length")
    j = r.json()
    eq((j["page"], j["perPage"], j["totalItems"], j["totalPages"]), (1, 40, 40, 1), "page")
    eq(j["items"], small, "the streamed items are the records")
    # HEAD builds it whole: its Content-Length is the streamed body's size.
    streamed = len(r.body)
    r, c = one(srv, req("HEAD", path), head=True)
    c.close()
    eq(int(r.header("Content-Length")), streamed, "HEAD Content-Length")
    # fields prunes each item, streamed or not.
    r, c = one(srv, get(path + "&fields=id,title"))
    c.close()
    eq(r.status, 200, "with fields")
    eq(r.json()["items"], [{"id": x["id"], "title": x["title"]} for x in small], "pruned items")
    # HTTP/1.0 has no chunks: the body ends with the connection.
    r, c = one(srv, get(path, version="HTTP/1.0"))
    c.close()
    check(not r.has("Transfer-Encoding") and not r.has("Content-Length"), "1.0 framing")
    check(is_close(r), "Connection: close")
    eq(r.json()["items"], small, "1.0 items")
    # Pipelined behind a streamed page, a request is answered after it.
    c = srv.connect()
    try:
        c.send(get(path) + get("/api/health"))
        eq(c.read_response().json()["items"], small, "pipelined page")
        eq(c.read_response().body, HEALTH_BODY, "the request behind it")
    finally:
        c.close()


@test()
def cost_streamed_page_reads_later_records_fresh(suite):
    srv = cost_server(suite, "cost-fresh", [])
    ids = docs_collection(srv, 100, 100000)  # 10 MB
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(SOON)
    s.connect((srv.host, srv.port))
    try:
        s.sendall(get("/api/collections/docs/records?perPage=100&sort=title",
                      [("Connection", "close")]))
        got = s.recv(4096)
        check(got.startswith(b"HTTP/1.1 200"), "head: %r" % got[:100])
        # The server holds a piece at a time for this reader, so records near
        # the end of the page are read when it gets there: as they are then.
        st, _ = api(srv, "DELETE", "/api/collections/docs/records/%s" % ids[95], token=srv.token)
        eq(st, 204, "delete doc095")
        st, _ = api(srv, "PATCH", "/api/collections/docs/records/%s" % ids[90],
                    {"title": "doc090 changed"}, srv.token)
        eq(st, 200, "update doc090")
        rest = [got]
        deadline = time.monotonic() + 30 * SLOW
        while time.monotonic() < deadline:
            d = s.recv(1 << 16)
            if not d:
                break
            rest.append(d)
        raw = b"".join(rest)
    finally:
        s.close()
    head, body = raw.split(b"\r\n\r\n", 1)
    check(b"Transfer-Encoding: chunked" in head, "chunked")
    data = b""
    while True:
        line, body = body.split(b"\r\n", 1)
        n = int(line, 16)
        if n == 0:
            break
        data += body[:n]
        body = body[n + 2:]
    titles = [x["title"] for x in json.loads(data)["items"]]
    eq(len(titles), 99, "items (one deleted meanwhile)")
    check("doc095" not in titles, "the deleted record is left out")
    check("doc090 changed" in titles, "the updated record is as it is now")
    eq(titles[:3], ["doc000", "doc001", "doc002"], "first items")


def sse_client(srv):
    c = srv.connect()
    c.send(get("/api/realtime"))
    c.read_head()
    lines = read_sse_event(c)
    return c, lines[0][3:]


def rt_subscribe(srv, cid, subs):
    st, j = api(srv, "POST", "/api/realtime", {"clientId": cid, "subscriptions": subs})
    return st, j


@test()
def cost_realtime_subscription_caps(suite):
    srv = cost_server(suite, "cost-rt-caps", ["--realtime-max-subs=5",
                                              "--realtime-max-subs-ip=8"])
    a, ida = sse_client(srv)
    b, idb = sse_client(srv)
    ws = None
    try:
        st, j = rt_subscribe(srv, ida, ["t%d/*" % i for i in range(6)])
        eq(st, 400, "six for one client")
        eq(j["data"]["subscriptions"]["code"], "validation_length_too_long", "field error")
        eq(j["data"]["subscriptions"]["message"], "The length must be no more than 5.",
           "field message")
        eq(rt_subscribe(srv, ida, ["t%d/*" % i for i in range(5)])[0], 204, "five for a")
        st, j = rt_subscribe(srv, idb, ["u%d/*" % i for i in range(4)])
        eq((st, j and j["message"]), (400, TOO_MANY_FROM_IP), "nine from the IP")
        eq(rt_subscribe(srv, idb, ["u%d/*" % i for i in range(3)])[0], 204, "eight from the IP")
        eq(rt_subscribe(srv, ida, ["v%d/*" % i for i in range(5)])[0], 204,
           "a list no longer than the one it replaces passes")
        eq(rt_subscribe(srv, ida, ["w/*"])[0], 204, "a shorter list")
        eq(rt_subscribe(srv, idb, ["x%d/*" % i for i in range(5)])[0], 204, "then more for b")
        # The WebSocket subscribe message answers the same.
        ws = ws_upgrade(srv)
        eq(ws.read_head()[1], 101, "upgrade")
        ws_read(ws)  # PB_CONNECT
        msg = json.dumps({"subscriptions": ["y%d/*" % i for i in range(3)]}).encode()
        ws.send(ws_frame(1, msg))
        ans = json.loads(ws_read(ws)[1])
        eq((ans["event"], ans["status"], ans["message"]), ("PB_SUBSCRIBE", 400, TOO_MANY_FROM_IP),
           "WebSocket over the IP cap")
        ws.send(ws_frame(1, json.dumps({"subscriptions": ["y%d/*" % i for i in range(6)]}).encode()))
        ans = json.loads(ws_read(ws)[1])
        eq((ans["status"], ans["data"]["subscriptions"]["code"]),
           (400, "validation_length_too_long"), "WebSocket over the client cap")
        # A client that leaves gives its subscriptions back.
        a.close()
        a = None
        deadline = time.monotonic() + SOON
        while True:
            ws.send(ws_frame(1, msg))
            ans = json.loads(ws_read(ws)[1])
            if ans["status"] == 204 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        eq(ans["status"], 204, "WebSocket subscribe once a's are given back")
    finally:
        for c in (a, b, ws):
            if c:
                c.close()


@test()
def cost_realtime_checks_budgeted_per_event(suite):
    srv = cost_server(suite, "cost-rt-budget", ["--realtime-budget=200ms"])
    tag_ids = tags_and_items(srv)
    c, cid = sse_client(srv)
    try:
        # A guest's filter that joins 1000 tags x 100 items per term for
        # every item written: seconds per event without a budget.
        f = " || ".join("tags.items_via_tags.name ~ 'zz%d'" % i for i in range(20))
        opts = quote(json.dumps({"query": {"filter": f}}))
        eq(rt_subscribe(srv, cid, ["items/*?options=" + opts])[0], 204, "subscribe")
        st, _ = api(srv, "POST", "/api/collections/items/records",
                    {"name": "new", "tags": tag_ids}, srv.token)
        eq(st, 200, "the write")
        t0 = time.monotonic()
        r, h = one(srv, get())
        h.close()
        waited = time.monotonic() - t0
        eq(r.status, 200, "health after the write")
        check(waited < (0.2 + 1.0) * SLOW, "health waited %.2fs behind the fan-out" % waited)
        check(srv.wait_stderr(r"realtime checks over budget.* ip=127\.0\.0\.1 collection=items"),
              "the cut is logged")
    finally:
        c.close()
# Trusted proxies (--trusted-proxies, --proxy-header, --proxy-ip)
# --------------------------------------------------------------------------

def status_from(srv, source, headers):
    with srv.connect(source=source) as c:
        c.send(get(headers=headers))
        return c.read_response().status


@test()
def proxy_spoofed_header_ignored(suite):
    """A forwarding header from a peer that is not a trusted proxy changes
    nothing: every request still counts against the peer's own address."""
    srv = suite.new_server(["--trusted-proxies=127.0.0.2", "--rate-limits=/api/health=2/60s"],
                           name="proxy-spoof")
    for i, want in enumerate((200, 200, 429, 429)):
        got = status_from(srv, "127.0.0.5", [("X-Forwarded-For", "198.51.100.%d" % i),
                                             ("X-Real-IP", "198.51.100.%d" % i)])
        eq(got, want, "request %d from an untrusted peer with a fresh spoofed address" % i)
    check(srv.wait_stderr(r"path=/api/health status=200 .* ip=127\.0\.0\.5 ", timeout=SOON),
          "access log lacks the peer's own address")
    # The trusted proxy's clients are unaffected by that peer's bucket.
    eq(status_from(srv, "127.0.0.2", [("X-Forwarded-For", "198.51.100.9")]), 200, "via proxy")


@test()
def proxy_trusted_separates_clients(suite):
    """Behind a trusted proxy, rate limits see the client the proxy names:
    one client hitting the limit does not lock out another, and a client
    cannot escape its bucket by prepending addresses (rightmost rule)."""
    srv = suite.new_server(["--trusted-proxies=127.0.0.2,127.0.0.3/32,::1",
                            "--rate-limits=/api/health=2/60s"], name="proxy-trusted")
    a = [("X-Forwarded-For", "203.0.113.7")]
    eq(status_from(srv, "127.0.0.2", a), 200, "client A, 1st")
    eq(status_from(srv, "127.0.0.2", a), 200, "client A, 2nd")
    eq(status_from(srv, "127.0.0.2", a), 429, "client A, 3rd (over the limit)")
    # Client A again, pretending to be someone else on the left, through a
    # chain of two trusted proxies: the rightmost untrusted address is still A.
    eq(status_from(srv, "127.0.0.3", [("X-Forwarded-For", "192.0.2.1, 203.0.113.7, 127.0.0.2")]),
       429, "client A with a forged left part")
    b = [("X-Forwarded-For", "203.0.113.8")]
    eq(status_from(srv, "127.0.0.2", b), 200, "client B behind the same proxy")
    eq(status_from(srv, "127.0.0.2", [("X-Forwarded-For", "2001:db8::1"),
                                      ("X-Forwarded-For", "203.0.113.9")]), 200, "client C")
    check(srv.wait_stderr(r"status=429 .* ip=203\.0\.113\.7 ", timeout=SOON),
          "access log lacks the resolved client address")
    # The proxy's own connections are not capped per address.
    # No header: the proxy itself is the client.
    eq(status_from(srv, "127.0.0.2", []), 200, "the proxy itself")


@test()
def proxy_header_and_leftmost(suite):
    """--proxy-header picks the header; --proxy-ip=leftmost takes the first
    valid address."""
    srv = suite.new_server(["--trusted-proxies=127.0.0.0/8", "--proxy-header=X-Real-IP",
                            "--proxy-ip=leftmost", "--rate-limits=/api/health=1/60s"],
                           name="proxy-left")
    eq(status_from(srv, "127.0.0.9", [("X-Real-IP", "garbage, 198.51.100.1, 10.0.0.1")]), 200,
       "first")
    eq(status_from(srv, "127.0.0.9", [("X-Real-IP", "198.51.100.1")]), 429, "same leftmost client")
    # X-Forwarded-For is not the configured header: the peer is the client.
    eq(status_from(srv, "127.0.0.9", [("X-Forwarded-For", "198.51.100.2")]), 200, "peer bucket")
    eq(status_from(srv, "127.0.0.9", [("X-Forwarded-For", "198.51.100.3")]), 429, "peer again")


@test()
def proxy_flags_rejected(suite):
    for args in (["serve", "--trusted-proxies=10.0.0.0/33"], ["serve", "--trusted-proxies=nope"],
                 ["serve", "--proxy-ip=middle"], ["serve", "--proxy-header=X Bad"]):
        rc, out, err = run_cli(suite.binary, args)
        eq(rc, 2, "exit code of %s" % args)
        check("tarmac serve:" in err, "no message for %s: %r" % (args, err))


# --------------------------------------------------------------------------
# Metrics (GET /api/metrics, --metrics-addr)
# --------------------------------------------------------------------------

PROM_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
PROM_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def parse_prometheus(text):
    """A strict reader of text exposition format 0.0.4: every sample belongs
    to a family declared by # TYPE before it, names and labels are well
    formed, no series repeats, histogram buckets are cumulative and end in
    +Inf equal to _count. Returns {(name, frozenset(labels)): value}."""
    check(text.endswith("\n"), "exposition does not end in a newline")
    types, samples = {}, {}
    for ln in text.split("\n")[:-1]:
        if ln.startswith("# HELP "):
            check(len(ln.split(" ", 3)) == 4, "bad HELP: %r" % ln)
            continue
        if ln.startswith("# TYPE "):
            parts = ln.split(" ")
            check(len(parts) == 4 and parts[3] in ("counter", "gauge", "histogram", "summary",
                                                   "untyped"), "bad TYPE: %r" % ln)
            check(parts[2] not in types, "family declared twice: %s" % parts[2])
            types[parts[2]] = parts[3]
            continue
        check(not ln.startswith("#") and ln, "stray line: %r" % ln)
        m = PROM_SAMPLE.match(ln)
        check(m, "malformed sample: %r" % ln)
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        fam = re.sub(r"_(bucket|sum|count)$", "", name)
        check(name in types or (fam in types and types[fam] == "histogram"),
              "sample without a TYPE: %r" % ln)
        pairs, pos = [], 0
        while pos < len(labels):
            lm = PROM_LABEL.match(labels, pos)
            check(lm, "malformed labels: %r" % ln)
            pairs.append((lm.group(1), lm.group(2)))
            pos = lm.end()
        v = float(value)  # also accepts +Inf/NaN as the format does
        key = (name, frozenset(pairs))
        check(key not in samples, "series repeated: %r" % ln)
        samples[key] = v
        if name in types and types[name] == "counter":
            check(v >= 0, "negative counter: %r" % ln)
    for (name, labels), v in samples.items():
        if not name.endswith("_count") or types.get(name[:-6]) != "histogram":
            continue
        base = name[:-6]
        others = frozenset(kv for kv in labels)
        buckets = sorted(((float(dict(l)["le"]), val) for (n, l), val in samples.items()
                          if n == base + "_bucket" and
                          frozenset(kv for kv in l if kv[0] != "le") == others),
                         key=lambda b: b[0])
        check(buckets and buckets[-1][0] == float("inf"), "%s lacks +Inf" % base)
        check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "%s not cumulative" % base)
        eq(buckets[-1][1], v, "%s +Inf bucket vs _count" % base)
    return samples


def metric(samples, name, **labels):
    want = frozenset(labels.items())
    return sum(v for (n, l), v in samples.items() if n == name and want <= l)


def scrape(port):
    with socket.create_connection(("127.0.0.1", port), timeout=SOON) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200"), "scrape answered %r" % head[:40])
    check(b"text/plain; version=0.0.4" in head, "content type: %r" % head)
    return body.decode()


def promtool_check(text):
    """Debian's prometheus package's own checker, when installed."""
    if not shutil.which("promtool"):
        return
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=30)
    eq(p.returncode, 0, "promtool check metrics: %s" % (p.stdout + p.stderr).decode()[:500])


@test()
def metrics_addr_counters_move(suite):
    srv = suite.new_server(["--metrics-addr=127.0.0.1:0", "--workers=2"], name="metrics")
    m = None
    for ln in srv.stdout_lines:
        ln = ln.decode() if isinstance(ln, bytes) else ln
        m = re.search(r"Metrics: http://127\.0\.0\.1:(\d+)/metrics", ln) or m
    check(m, "no Metrics line in %r" % srv.stdout_lines)
    port = int(m.group(1))
    text = scrape(port)
    before = parse_prometheus(text)
    promtool_check(text)
    for fam in ("tarmac_http_requests_total", "tarmac_http_request_duration_seconds",
                "tarmac_http_request_bytes_total", "tarmac_http_response_bytes_total",
                "tarmac_http_connections_open", "tarmac_realtime_clients",
                "tarmac_realtime_messages_total", "tarmac_writer_queue_length",
                "tarmac_writer_commit_duration_seconds", "tarmac_offload_queue_length",
                "tarmac_mails_total", "tarmac_thumbnails_total", "process_cpu_seconds_total",
                "process_resident_memory_bytes", "tarmac_request_log_dropped_total"):
        check("# TYPE %s " % fam in text, "family %s missing" % fam)
    held = srv.connect()
    for _ in range(3):
        held.send(get())
        eq(held.read_response().status, 200, "health")
    held.send(get("/api/collections/x/records/y/nope"))
    eq(held.read_response().status, 404, "unknown path")
    after = parse_prometheus(scrape(port))
    health = dict(route="/api/health", method="GET", code="2xx")
    eq(metric(after, "tarmac_http_requests_total", **health) -
       metric(before, "tarmac_http_requests_total", **health), 3, "health count moved")
    eq(metric(after, "tarmac_http_request_duration_seconds_count", route="/api/health"), 3,
       "health latency observations")
    check(metric(after, "tarmac_http_requests_total", route="none", code="4xx") >= 1,
          "404 not counted under route=none")
    check(not any("nope" in v for (_, l), _x in after.items() for _k, v in l),
          "a raw URL became a label")
    check(metric(after, "tarmac_http_response_bytes_total") >
          metric(before, "tarmac_http_response_bytes_total") + 3 * len(HEALTH_BODY),
          "response bytes did not move")
    check(metric(after, "tarmac_http_request_bytes_total") >
          metric(before, "tarmac_http_request_bytes_total"), "request bytes did not move")
    check(metric(after, "tarmac_http_connections_open") >= 1, "held connection not open")
    check(metric(after, "process_resident_memory_bytes") > 1 << 20, "RSS")
    held.close()
    with socket.create_connection(("127.0.0.1", port), timeout=SOON) as s:
        s.sendall(b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
        check(s.recv(100).startswith(b"HTTP/1.1 404"), "other path on the metrics port")


@test()
def metrics_api_needs_superuser(suite):
    srv = Server(suite.binary, [], name="metrics-auth")
    suite.extra.append(srv)
    rc, out, err = run_cli(suite.binary, ["superuser", "upsert", "ops@example.com",
                                          "password123", "--dir=" + srv.datadir]
                           + db_flags(srv.datadir))
    eq(rc, 0, "superuser upsert: %s" % err)
    srv.start()
    eq(srv.request("GET", "/api/metrics").status, 401, "no token")
    login = json.dumps({"identity": "ops@example.com", "password": "password123"}).encode()
    r = srv.request("POST", "/api/collections/_superusers/auth-with-password",
                    [("Content-Type", "application/json"), ("Content-Length", str(len(login)))],
                    login)
    eq(r.status, 200, "superuser login: %r" % r.body[:300])
    tok = r.json()["token"]
    r = srv.request("GET", "/api/metrics", [("Authorization", tok)])
    eq(r.status, 200, "superuser metrics")
    check(r.header("Content-Type").startswith("text/plain; version=0.0.4"), "content type")
    text = r.body.decode()
    samples = parse_prometheus(text)
    promtool_check(text)
    check(metric(samples, "tarmac_http_requests_total", route="/api/metrics", code="4xx") >= 1,
          "the 401 was not counted")
    check(metric(samples, "tarmac_writer_commits_total") >= 0, "writer commits")
    check(("tarmac_request_log_dropped_total", frozenset()) in samples and
          "# HELP tarmac_request_log_dropped_total " in text, "request log drops exposed")
    eq(metric(samples, "tarmac_request_log_dropped_total"), 0, "no request log entry dropped")
    # Health for a superuser: realIP and the proxy header it saw.
    r = srv.request("GET", "/api/health", [("Authorization", tok),
                                           ("X-Forwarded-For", "198.51.100.4")])
    d = r.json()["data"]
    eq(d["realIP"], "127.0.0.1", "realIP from an untrusted peer")
    eq(d["possibleProxyHeader"], "X-Forwarded-For", "possibleProxyHeader")


# --------------------------------------------------------------------------
# Last: shared servers shut down cleanly, no sanitizer reports.
# --------------------------------------------------------------------------

SANITIZER = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|"
                       r"runtime error:|SUMMARY: \w+Sanitizer")


@test()
def zz_shared_servers_exit_clean(suite):
    problems = []
    for key, srv in sorted(suite.servers.items()):
        rc = srv.stop(timeout=SOON)
        if rc != 0:
            problems.append("%s: exit code %r" % (key, rc))
        m = SANITIZER.search(srv.stderr_text())
        if m:
            problems.append("%s: sanitizer report (%s) in %s"
                            % (key, m.group(0), srv.stderr_path))
            srv.keep = True
    for srv in suite.extra:
        srv.kill()
        m = SANITIZER.search(srv.stderr_text())
        if m:
            problems.append("%s: sanitizer report (%s) in %s"
                            % (srv.name, m.group(0), srv.stderr_path))
            srv.keep = True
    check(not problems, "; ".join(problems))


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release",
                                                  "tarmac"))
    ap.add_argument("--only", default=None)
    ap.add_argument("--keep", action="store_true",
                    help="keep server temp dirs (stderr logs)")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)

    suite = Suite(binary)
    passed = failed = 0
    t_start = time.monotonic()
    per_test_limit = 120.0 * SLOW
    try:
        if not os.access(binary, os.X_OK):
            print("FAIL - setup: %s is not executable" % binary)
            failed += 1
            tests = []
        else:
            tests = [t for t in TESTS
                     if args.only is None or args.only in t[0]
                     or t[0] == "zz_shared_servers_exit_clean"]
        for name, fn, key in tests:
            result = {}

            def body():
                try:
                    arg = suite.shared(key) if key else suite
                    fn(arg)
                    result["ok"] = True
                except Fail as e:
                    result["err"] = str(e)
                except Exception as e:
                    result["err"] = "%s: %s" % (type(e).__name__, e)
                    if os.environ.get("TARMAC_TEST_TRACE"):
                        traceback.print_exc()
            th = threading.Thread(target=body, daemon=True)
            t0 = time.monotonic()
            th.start()
            th.join(per_test_limit)
            if th.is_alive():
                result = {"err": "test hung for %.0fs" % per_test_limit}
            dt = time.monotonic() - t0
            if result.get("ok"):
                passed += 1
                print("ok - %s" % name + ("  (%.1fs)" % dt if dt > 2 else ""))
            else:
                failed += 1
                msg = result.get("err", "unknown error").replace("\n", " ")
                print("FAIL - %s: %s" % (name, msg[:1000]))
            sys.stdout.flush()
    finally:
        if args.keep:
            for s in list(suite.servers.values()) + suite.extra:
                s.kill()
                print("# kept %s: %s" % (s.name, s.tmpdir))
        else:
            suite.teardown()
    sys.stdout.flush()
    _ = time.monotonic() - t_start
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
