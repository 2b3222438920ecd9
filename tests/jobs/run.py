#!/usr/bin/python3
"""Durable jobs and outbound webhooks (issue #12), against the built binary.

Each test starts its own tarmac (fresh --dir, superuser made with the CLI)
and, where it needs one, a local webhook receiver (http.server on a thread in
this process) that can fail its first deliveries or hang. Ends with the
"N passed, N failed" line tests/run reads.

  /usr/bin/python3 tests/jobs/run.py [--bin build/release/tarmac] [--only NAME] [-v]
"""
import argparse
import csv
import email
import hashlib
import io
import base64
import hmac
import http.server
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.dont_write_bytecode = True

from tarmac import Server, run_cli, db_rows, SLOW  # noqa: E402

SU_EMAIL, SU_PASS = "jobs@example.com", "jobs-pass-123456"
SECRET = "whsec_test_secret"
SOON = 15.0 * SLOW


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


# --------------------------------------------------------------------------
# A webhook receiver
# --------------------------------------------------------------------------

class Receiver:
    """Accepts POSTs; answers the first `fail` of them with `fail_status`
    (and Retry-After when set), hangs `hang` seconds on the first one when
    asked, then answers 200. With drop, the first `fail` ones get no answer:
    the connection is closed under them. Keeps every request seen."""

    def __init__(self, fail=0, fail_status=503, retry_after=None, hang=0.0, status=200,
                 drop=False):
        self.fail = fail
        self.drop = drop
        self.fail_status = fail_status
        self.retry_after = retry_after
        self.hang = hang
        self.status = status
        self.seen = []  # (time, headers dict, body bytes, answered status)
        self.lock = threading.Lock()
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with rec.lock:
                    k = len(rec.seen)
                    status = rec.fail_status if k < rec.fail else rec.status
                    rec.seen.append((time.monotonic(), {x.lower(): y for x, y in
                                                        self.headers.items()}, body, status))
                    hang = rec.hang if k == 0 else 0
                if hang:
                    time.sleep(hang)
                    return  # the client is gone by then
                if rec.drop and k < rec.fail:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(status)
                if status != 200 and rec.retry_after:
                    self.send_header("Retry-After", str(rec.retry_after))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/hook" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def accepted(self):
        with self.lock:
            return [s for s in self.seen if s[3] == 200]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class SmtpSink:
    """A minimal SMTP server (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT, DATA,
    QUIT, RSET, NOOP) on a given or free port; answers 451 to MAIL for the
    first `tempfail` messages and 554 to every MAIL when `reject`. Keeps each
    message as (rcpt, data)."""

    def __init__(self, port=0, tempfail=0, reject=False):
        self.mails = []
        self.tempfail = tempfail
        self.reject = reject
        self.lock = threading.Lock()
        sink = self

        class H(socketserver.StreamRequestHandler):
            def reply(self, line):
                self.wfile.write((line + "\r\n").encode())
                self.wfile.flush()

            def handle(self):
                self.reply("220 sink ESMTP")
                rcpt, failing = [], False
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode("latin-1").strip()
                    verb = cmd[:4].upper()
                    if verb == "EHLO":
                        self.reply("250-sink")
                        self.reply("250 8BITMIME")
                    elif verb == "HELO":
                        self.reply("250 sink")
                    elif verb == "MAIL":
                        with sink.lock:
                            failing = sink.tempfail > 0
                            if failing:
                                sink.tempfail -= 1
                        self.reply("554 no" if sink.reject else
                                   "451 try later" if failing else "250 ok")
                    elif verb == "RCPT":
                        rcpt.append(cmd.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 go")
                        data = b""
                        while True:
                            ln = self.rfile.readline()
                            if not ln or ln in (b".\r\n", b".\n"):
                                break
                            data += ln
                        with sink.lock:
                            sink.mails.append((rcpt[:], data.decode("utf-8", "replace")))
                        rcpt = []
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 ok")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, addr):
        with self.lock:
            return [m for m in self.mails if addr in m[0]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def verify_signature(headers, body, secret=SECRET):
    sig = headers.get("x-tarmac-signature", "")
    parts = dict(p.split("=", 1) for p in sig.split(",") if "=" in p)
    t, v1 = parts.get("t"), parts.get("v1")
    if not t or not v1:
        return False
    want = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, v1) and abs(time.time() - int(t)) < 600


# --------------------------------------------------------------------------
# A tarmac with a superuser
# --------------------------------------------------------------------------

class Api:
    def __init__(self, server):
        self.base = "http://127.0.0.1:%d" % server.port
        self.token = None
        r = self.call("POST", "/api/collections/_superusers/auth-with-password",
                      {"identity": SU_EMAIL, "password": SU_PASS})
        self.token = r[1]["token"]

    def call(self, method, path, body=None, auth=True):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth and self.token:
            req.add_header("Authorization", self.token)
        try:
            with urllib.request.urlopen(req, timeout=10 * SLOW) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, (json.loads(raw) if raw else None)

    def ok(self, method, path, body=None, want=(200, 201, 204)):
        st, j = self.call(method, path, body)
        check(st in want, "%s %s: %d %r" % (method, path, st, j))
        return j

    def jobs(self, query=""):
        return self.ok("GET", "/api/jobs?perPage=1000" + query)

    def wait_jobs(self, pred, query="", timeout=SOON, what="jobs"):
        deadline = time.monotonic() + timeout
        while True:
            j = self.jobs(query)
            if pred(j):
                return j
            if time.monotonic() > deadline:
                raise Fail("timed out waiting for %s: %s" % (what, json.dumps(j)[:600]))
            time.sleep(0.05)


def start(datadir=None, flags=(), name="jobs"):
    s = Server(BIN, list(flags), name=name)
    if datadir:
        s.datadir = datadir
    else:
        os.makedirs(s.tmpdir, exist_ok=True)
        rc, out, err = run_cli(BIN, ["superuser", "upsert", SU_EMAIL, SU_PASS,
                                     "--dir=" + s.datadir])
        check(rc == 0, "superuser upsert: %s %s" % (out, err))
    SERVERS.append(s)
    s.start()
    return s, Api(s)


def setup_posts(api, url, events=("create",), flt="", extra=None):
    api.ok("POST", "/api/collections", {
        "name": "posts", "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [{"name": "title", "type": "text"}]})
    hook = {"collection": "posts", "events": list(events), "filter": flt, "url": url,
            "secret": SECRET, "active": True}
    hook.update(extra or {})
    return api.ok("POST", "/api/collections/_webhooks/records", hook)


FAST = ["--allow-private-network"]  # no --job-poll: wakes and due times carry it
TESTS = []
SERVERS = []


def test(fn):
    TESTS.append(fn)
    return fn


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

@test
def webhook_retried_until_accepted_once():
    rec = Receiver(fail=2, fail_status=503)
    try:
        _, api = start(flags=FAST)
        setup_posts(api, rec.url)
        rec_id = api.ok("POST", "/api/collections/posts/records", {"title": "hello"})["id"]
        api.wait_jobs(lambda j: j["totalItems"] == 1 and j["items"][0]["status"] == "done",
                      "&kind=webhook", what="the delivery to finish")
        seen = list(rec.seen)
        check(len(seen) == 3, "want 2 failed + 1 accepted attempts, got %d" % len(seen))
        check(len(rec.accepted()) == 1, "exactly one accepted delivery")
        ids = {s[1].get("x-tarmac-event-id") for s in seen}
        check(len(ids) == 1 and None not in ids, "same event id on every attempt: %r" % ids)
        check(len({s[2] for s in seen}) == 1, "same body on every attempt")
        for s in seen:
            check(verify_signature(s[1], s[2]), "signature verifies: %r" % s[1])
        body = json.loads(seen[-1][2])
        check(body["event"] == "create" and body["collection"] == "posts", "body: %r" % body)
        check(body["record"]["id"] == rec_id and body["record"]["title"] == "hello",
              "record in body: %r" % body)
        check("time" in body, "time in body")
        job = api.jobs("&kind=webhook")["items"][0]
        check(job["attempts"] == 3, "attempts recorded: %r" % job)
        # the stored payload (written as text) reads back as the object it is
        p = job["payload"]
        check(sorted(p) == ["body", "eventId", "hook"] and p["body"] == body and
              p["eventId"] == seen[0][1]["x-tarmac-event-id"], "payload as shown: %r" % p)
        # the body sent is the one stored, byte for byte: keys sorted, compact
        check(seen[-1][2] == json.dumps(body, sort_keys=True, separators=(",", ":"),
                                        ensure_ascii=False).encode(), "body bytes: %r" % seen[-1][2])
    finally:
        rec.close()


@test
def webhook_job_enqueued_through_the_api():
    # A delivery enqueued by hand (jobs API, a script) is parsed, not taken
    # apart by position: its body is sent with its keys sorted, whatever
    # order or extra members the payload has.
    rec = Receiver()
    try:
        _, api = start(flags=FAST)
        hook = setup_posts(api, rec.url)
        api.ok("POST", "/api/jobs", {"kind": "webhook", "payload": {
            "hook": hook["id"], "eventId": "evt_byhand1",
            "body": {"z": 1, "a": {"y": "\u00e9\"}", "b": [3, 1]}}}}, want=(201,))
        api.ok("POST", "/api/jobs", {"kind": "webhook", "payload": {
            "hook": hook["id"], "eventId": "evt_byhand2", "body": {"k": 1}, "extra": {"x": 2}}},
            want=(201,))
        st, j = api.call("POST", "/api/jobs", {"kind": "webhook", "payload": {
            "hook": "../x", "eventId": "evt_bad", "body": {}}})
        api.wait_jobs(lambda j: j["totalItems"] == 3 and
                      sorted(x["status"] for x in j["items"]) == ["dead", "done", "done"],
                      "&kind=webhook", what="the deliveries to finish")
        got = {s[1]["x-tarmac-event-id"]: s for s in rec.accepted()}
        check(sorted(got) == ["evt_byhand1", "evt_byhand2"], "delivered: %r" % sorted(got))
        check(got["evt_byhand1"][2] == '{"a":{"b":[3,1],"y":"\u00e9\\"}"},"z":1}'.encode(),
              "body 1: %r" % got["evt_byhand1"][2])
        check(got["evt_byhand2"][2] == b'{"k":1}', "body 2: %r" % got["evt_byhand2"][2])
        for s in got.values():
            check(verify_signature(s[1], s[2]), "signature verifies: %r" % s[1])
        dead = [x for x in api.jobs("&kind=webhook")["items"] if x["status"] == "dead"]
        check(dead and dead[0]["payload"]["eventId"] == "evt_bad" and
              "gone" in dead[0]["lastError"], "a hook id that is no id: dead: %r" % dead)
    finally:
        rec.close()


@test
def connection_lost_is_tried_again_at_once_then_backs_off():
    # A connection closed under the request (a kept-alive one the server had
    # just closed, an HTTP/2 GOAWAY) goes again at once on the first attempt;
    # the next failure waits out the backoff (webhook: 1 s base, so 1-2 s).
    rec = Receiver(fail=2, drop=True)
    try:
        _, api = start(flags=FAST)
        setup_posts(api, rec.url)
        api.ok("POST", "/api/collections/posts/records", {"title": "hello"})
        api.wait_jobs(lambda j: j["totalItems"] == 1 and j["items"][0]["status"] == "done",
                      "&kind=webhook", timeout=SOON + 5, what="the delivery to finish")
        seen = list(rec.seen)
        check(len(seen) == 3 and len(rec.accepted()) == 1, "attempts: %d" % len(seen))
        gap1, gap2 = seen[1][0] - seen[0][0], seen[2][0] - seen[1][0]
        check(gap1 < 0.45 and gap2 > 0.9, "at once, then backoff: %.3f s, %.3f s" % (gap1, gap2))
        job = api.jobs("&kind=webhook")["items"][0]
        check(job["attempts"] == 3, "every attempt counted: %r" % job)
    finally:
        rec.close()


@test
def a_receiver_that_does_not_answer_times_out():
    # --job-http-timeout ends an attempt the receiver never answers; the job
    # is tried again after the backoff, while the first one still hangs.
    rec = Receiver(hang=6.0)
    try:
        _, api = start(flags=FAST + ["--job-http-timeout=1s", "--job-lease=1m"])
        setup_posts(api, rec.url)
        api.ok("POST", "/api/collections/posts/records", {"title": "hello"})
        api.wait_jobs(lambda j: j["totalItems"] == 1 and j["items"][0]["status"] == "done",
                      "&kind=webhook", what="the delivery to finish")
        seen = list(rec.seen)
        check(len(seen) == 2, "attempts: %d" % len(seen))  # the first one hung, unanswered
        gap = seen[1][0] - seen[0][0]
        check(0.9 < gap < 4.5, "timed out after 1 s, then backoff: %.3f s" % gap)
        job = api.jobs("&kind=webhook")["items"][0]
        check(job["attempts"] == 2, "attempts recorded: %r" % job)
    finally:
        rec.close()


@test
def webhook_filter_and_events():
    rec = Receiver()
    try:
        _, api = start(flags=FAST + ["--job-runners=1"])  # one runner: its memo is tested below
        setup_posts(api, rec.url, events=("create", "delete"), flt='title != "skip"')
        a = api.ok("POST", "/api/collections/posts/records", {"title": "one"})
        api.ok("POST", "/api/collections/posts/records", {"title": "skip"})
        api.ok("PATCH", "/api/collections/posts/records/" + a["id"], {"title": "two"})
        api.ok("DELETE", "/api/collections/posts/records/" + a["id"])
        api.wait_jobs(lambda j: j["totalItems"] == 2 and
                      all(x["status"] == "done" for x in j["items"]), "&kind=webhook")
        events = sorted(json.loads(s[2])["event"] for s in rec.accepted())
        check(events == ["create", "delete"], "events delivered: %r" % events)
        # a hook changed between deliveries: the next one reads it afresh
        # (a runner keeps a hook for one batch only)
        rec2 = Receiver()
        try:
            hooks = api.ok("GET", "/api/collections/_webhooks/records")["items"]
            api.ok("PATCH", "/api/collections/_webhooks/records/" + hooks[0]["id"],
                   {"url": rec2.url, "secret": "changed-secret"})
            api.ok("POST", "/api/collections/posts/records", {"title": "three"})
            api.wait_jobs(lambda j: j["totalItems"] == 3 and
                          all(x["status"] == "done" for x in j["items"]), "&kind=webhook")
            got = rec2.accepted()
            check(len(got) == 1 and len(rec.accepted()) == 2 and
                  verify_signature(got[0][1], got[0][2], "changed-secret"),
                  "the changed hook's URL and secret: %d %d" % (len(got), len(rec.accepted())))
        finally:
            rec2.close()
    finally:
        rec.close()


@test
def rolled_back_batch_enqueues_nothing():
    rec = Receiver()
    try:
        _, api = start(flags=FAST)
        setup_posts(api, rec.url)
        st, j = api.call("POST", "/api/batch", {"requests": [
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "a"}},
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "b"}},
            {"method": "POST", "url": "/api/collections/nope/records", "body": {}},
        ]})
        check(st >= 400, "the batch fails: %d %r" % (st, j))
        # a write that commits afterwards proves the runners had their chance
        api.ok("POST", "/api/collections/posts/records", {"title": "c"})
        api.wait_jobs(lambda j: j["totalItems"] >= 1 and
                      all(x["status"] == "done" for x in j["items"]), "&kind=webhook")
        time.sleep(0.3)
        j = api.jobs("&kind=webhook")
        check(j["totalItems"] == 1, "only the committed write enqueued: %d" % j["totalItems"])
        titles = [json.loads(s[2])["record"]["title"] for s in rec.seen]
        check(titles == ["c"], "deliveries: %r" % titles)
        st, _ = api.call("POST", "/api/batch", {"requests": [
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "d"}},
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "e"}},
        ]})
        check(st == 200, "a good batch passes: %d" % st)
        api.wait_jobs(lambda j: j["totalItems"] == 3 and
                      all(x["status"] == "done" for x in j["items"]), "&kind=webhook")
    finally:
        rec.close()


@test
def kill9_during_delivery_then_delivered_after_restart():
    rec = Receiver(hang=3.0)
    try:
        s, api = start(flags=FAST + ["--job-lease=1s"])
        setup_posts(api, rec.url)
        api.ok("POST", "/api/collections/posts/records", {"title": "survives"})
        deadline = time.monotonic() + SOON
        while not rec.seen:
            check(time.monotonic() < deadline, "the first delivery starts")
            time.sleep(0.02)
        s.kill()  # SIGKILL while the receiver holds the first attempt
        datadir = s.datadir
        s2, api2 = start(datadir=datadir, flags=FAST + ["--job-lease=1s"], name="restarted")
        api2.wait_jobs(lambda j: j["totalItems"] == 1 and j["items"][0]["status"] == "done",
                       "&kind=webhook", what="delivery after the restart")
        acc = rec.accepted()
        check(len(acc) >= 1, "delivered after restart")
        ids = {x[1].get("x-tarmac-event-id") for x in rec.seen}
        check(len(ids) == 1, "one event id across the crash: %r" % ids)
        check(json.loads(acc[-1][2])["record"]["title"] == "survives", "the right record")
    finally:
        rec.close()


@test
def kill9_with_queued_delivery_and_no_runner():
    rec = Receiver()
    try:
        s, api = start(flags=FAST + ["--job-runners=0"])
        setup_posts(api, rec.url)
        api.ok("POST", "/api/collections/posts/records", {"title": "queued"})
        check(api.jobs("&status=queued")["totalItems"] == 1, "queued while no runner runs")
        s.kill()
        _, api2 = start(datadir=s.datadir, flags=FAST, name="restarted")
        api2.wait_jobs(lambda j: j["totalItems"] == 1 and j["items"][0]["status"] == "done",
                       "&kind=webhook")
        check(len(rec.accepted()) == 1, "delivered once after the restart")
    finally:
        rec.close()


@test
def ssrf_refused_without_flag():
    rec = Receiver()
    try:
        _, api = start()
        setup_posts(api, rec.url)
        api.ok("POST", "/api/collections/posts/records", {"title": "x"})
        api.ok("POST", "/api/jobs", {"kind": "http", "payload": {"url": rec.url}})
        api.ok("POST", "/api/jobs", {"kind": "http",
                                     "payload": {"url": "http://localhost:%d/x" % rec.port}})
        j = api.wait_jobs(lambda j: j["totalItems"] == 3 and
                          all(x["status"] == "dead" for x in j["items"]), what="refusals")
        for x in j["items"]:
            check("private" in x["lastError"], "reason: %r" % x["lastError"])
            check(x["attempts"] == 1, "refused at once, no retry: %r" % x)
        check(not rec.seen, "nothing reached the receiver")
    finally:
        rec.close()


@test
def gone_410_disables_the_hook():
    rec = Receiver(fail=1, fail_status=410)
    try:
        _, api = start(flags=FAST)
        hook = setup_posts(api, rec.url)
        api.ok("POST", "/api/collections/posts/records", {"title": "x"})
        api.wait_jobs(lambda j: j["totalItems"] == 1 and j["items"][0]["status"] == "dead",
                      "&kind=webhook")
        h = api.ok("GET", "/api/collections/_webhooks/records/" + hook["id"])
        check(h["active"] is False, "the hook is inactive: %r" % h)
        api.ok("POST", "/api/collections/posts/records", {"title": "y"})
        time.sleep(0.3)
        check(api.jobs("&kind=webhook")["totalItems"] == 1, "an inactive hook enqueues nothing")
    finally:
        rec.close()


@test
def retry_after_is_honoured():
    rec = Receiver(fail=1, fail_status=429, retry_after=2)
    try:
        _, api = start(flags=FAST)
        setup_posts(api, rec.url)
        api.ok("POST", "/api/collections/posts/records", {"title": "x"})
        api.wait_jobs(lambda j: j["totalItems"] == 1 and j["items"][0]["status"] == "done",
                      "&kind=webhook")
        check(len(rec.seen) == 2, "two attempts")
        gap = rec.seen[1][0] - rec.seen[0][0]
        check(gap >= 1.9, "second attempt after Retry-After: %.2fs" % gap)
    finally:
        rec.close()


@test
def jobs_api():
    _, api = start(flags=["--job-runners=0"])
    st, j = api.call("GET", "/api/jobs", auth=False)
    check(st == 401, "guests get 401: %d" % st)
    st, j = api.call("POST", "/api/jobs", {"kind": "nope"})
    check(st == 400 and "kind" in j["data"], "unknown kind: %d %r" % (st, j))
    st, j = api.call("POST", "/api/jobs", {"kind": "http", "runAt": "soon"})
    check(st == 400 and "runAt" in j["data"], "bad runAt: %d %r" % (st, j))
    a = api.ok("POST", "/api/jobs", {"kind": "http", "payload": {"url": "http://x.invalid/"},
                                     "dedupeKey": "k", "priority": 5,
                                     "runAt": "2030-01-01 00:00:00.000Z"}, want=(201,))
    check(a["status"] == "queued" and a["runAt"].startswith("2030-01-01"), "queued: %r" % a)
    st, b = api.call("POST", "/api/jobs", {"kind": "http", "dedupeKey": "k"})
    check(st == 200 and b["id"] == a["id"], "a dedupe key folds: %d %r" % (st, b))
    c = api.ok("POST", "/api/jobs", {"kind": "http", "payload": {"n": 1}}, want=(201,))
    j = api.jobs("&sort=-priority")
    check([x["id"] for x in j["items"]] == [a["id"], c["id"]], "sort by priority")
    check(api.jobs("&status=dead")["totalItems"] == 0, "filter by status")
    st, _ = api.call("GET", "/api/jobs?status=bogus")
    check(st == 400, "unknown status is 400")
    st, _ = api.call("GET", "/api/jobs?sort=payload")
    check(st == 400, "unknown sort field is 400")
    st, j = api.call("GET", "/api/jobs?bogus=1")
    check(st == 400 and "bogus" in j["data"], "an unknown parameter is refused, named: %d %r"
          % (st, j))
    # the filter language over the fields as shown: numbers, text, date text, payload paths
    q = urllib.parse.quote
    j = api.jobs("&filter=" + q("priority > 2 && dedupeKey = 'k'"))
    check([x["id"] for x in j["items"]] == [a["id"]], "filter on numbers and text: %r" % j)
    j = api.jobs("&filter=" + q("runAt >= '2030-01-01 00:00:00.000Z'"))
    check([x["id"] for x in j["items"]] == [a["id"]], "filter on a time as date text: %r" % j)
    j = api.jobs("&filter=" + q("payload.n = 1 && status = 'queued'") + "&kind=http")
    check([x["id"] for x in j["items"]] == [c["id"]] and j["totalItems"] == 1,
          "filter on a payload path, with kind: %r" % j)
    j = api.jobs("&filter=" + q("created > @now") + "&status=queued")
    check(j["totalItems"] == 0, "date macros: %r" % j)
    st, j = api.call("GET", "/api/jobs?filter=" + q("nosuch = 1"))
    check(st == 400 and "filter" in j["data"], "an unknown field in a filter is 400: %d %r"
          % (st, j))
    st, j = api.call("GET", "/api/jobs?filter=" + q("attempts >"))
    check(st == 400 and "filter" in j["data"], "a broken filter is 400: %d %r" % (st, j))
    v = api.ok("GET", "/api/jobs/" + c["id"])
    check(v["payload"] == {"n": 1}, "view: %r" % v)
    st, _ = api.call("GET", "/api/jobs/aaaaaaaaaaaaaaa")
    check(st == 404, "missing job is 404")
    x = api.ok("POST", "/api/jobs/%s/cancel" % a["id"])
    check(x["status"] == "canceled", "cancel: %r" % x)
    st, _ = api.call("POST", "/api/jobs/%s/cancel" % a["id"])
    check(st == 400, "cancel twice refused: %d" % st)
    x = api.ok("POST", "/api/jobs/%s/retry" % a["id"])
    check(x["status"] == "queued" and x["attempts"] == 0, "retry: %r" % x)
    # with the first job queued again, the same dedupe key folds into it
    st, b = api.call("POST", "/api/jobs", {"kind": "http", "dedupeKey": "k"})
    check(st == 200 and b["id"] == a["id"], "folds into the retried job")
    s = api.ok("GET", "/api/jobs/stats")
    check(s["queued"] == 2 and "oldestDueAgeMs" in s, "stats: %r" % s)


@test
def email_jobs_survive_an_smtp_outage():
    port = free_port()  # nothing listens there yet: the first attempts fail
    s, api = start(flags=FAST + ["--smtp-host=127.0.0.1", "--smtp-port=%d" % port])
    st, j = api.call("POST", "/api/jobs", {"kind": "email", "payload": {"to": "not an address"}})
    check(st == 400 and "payload" in j["data"], "a payload that is no mail: %d %r" % (st, j))
    for bad in [{"to": "a@example.com", "subject": "s", "text": "t", "html": 5},
                {"to": "a@example.com", "subject": "s\r\nBcc: b@example.com", "text": "t"},
                {"to": "a@example.com, b@example.com", "subject": "s", "text": "t"},
                {"to": "a@example.com", "subject": "s", "text": "x" * (2 << 20)}]:
        st, j = api.call("POST", "/api/jobs", {"kind": "email", "payload": bad})
        check(st == 400 and "payload" in j["data"], "%r: %d %r" % (str(bad)[:60], st, j))
    # the server's own mails go through the queue: a password reset
    api.ok("POST", "/api/collections/users/records",
           {"email": "reset@example.com", "password": "pass-12345678",
            "passwordConfirm": "pass-12345678"})
    api.ok("POST", "/api/collections/users/request-password-reset",
           {"email": "reset@example.com"}, want=(204,))
    a = api.ok("POST", "/api/jobs", {"kind": "email", "payload": {
        "to": "ops@example.com", "subject": "Nightly report", "text": "All good.",
        "html": "<p>All good.</p>"}}, want=(201,))
    api.wait_jobs(lambda j: sum(x["attempts"] >= 1 and x["status"] == "failed"
                                and bool(x["lastError"]) for x in j["items"]) == 2,
                  "&kind=email", what="both mails failed once (no SMTP server)")
    sink = SmtpSink(port=port, tempfail=1)  # up now, with one more 4xx
    try:
        api.wait_jobs(lambda j: j["totalItems"] == 2 and
                      all(x["status"] == "done" for x in j["items"]),
                      "&kind=email", timeout=30 * SLOW, what="both mails sent")
        check(len(sink.to("reset@example.com")) == 1, "one reset mail: %r" % sink.mails)
        got = sink.to("ops@example.com")
        check(len(got) == 1 and "Nightly report" in got[0][1] and "All good." in got[0][1]
              and "text/html" in got[0][1], "the report mail, html and text: %r" % got)
        n = sum(x["attempts"] for x in api.jobs("&kind=email")["items"])
        check(n >= 5, "each failed once, one of them twice (the 451), then sent: %d" % n)
    finally:
        sink.close()


@test
def email_job_refused_for_good_is_dead():
    sink = SmtpSink(reject=True)
    try:
        _, api = start(flags=FAST + ["--smtp-host=127.0.0.1", "--smtp-port=%d" % sink.port])
        a = api.ok("POST", "/api/jobs", {"kind": "email", "payload": {
            "to": "x@example.com", "subject": "s", "text": "t"}}, want=(201,))
        job = wait_job(api, a["id"], ("dead",), what="dead after a 554")
        check(job["attempts"] == 1 and "554" in job["lastError"],
              "one attempt, the 5xx kept: %r" % job)
    finally:
        sink.close()


def user_token(api):
    """A token of an ordinary (not superuser) auth record."""
    api.ok("POST", "/api/collections", {"name": "members", "type": "auth", "createRule": ""})
    api.ok("POST", "/api/collections/members/records",
           {"email": "m@example.com", "password": "member-pass-1",
            "passwordConfirm": "member-pass-1"})
    return api.ok("POST", "/api/collections/members/auth-with-password",
                  {"identity": "m@example.com", "password": "member-pass-1"})["token"]


@test
def jobs_api_error_paths():
    _, api = start(flags=["--job-runners=0"])
    # an ordinary user is authenticated but not a superuser: 403 everywhere
    token = user_token(api)
    for method, path in (("GET", "/api/jobs"), ("GET", "/api/jobs/stats"),
                         ("GET", "/api/jobs/aaaaaaaaaaaaaaa"), ("POST", "/api/jobs"),
                         ("POST", "/api/jobs/aaaaaaaaaaaaaaa/retry"),
                         ("POST", "/api/jobs/aaaaaaaaaaaaaaa/cancel"),
                         ("GET", "/api/crons"), ("POST", "/api/crons/nightly")):
        st, _ = raw_post(api, path, b"{}" if method == "POST" else None,
                         {"Authorization": token, "Content-Type": "application/json"},
                         method=method)
        check(st == 403, "a user on %s %s: %d" % (method, path, st))
        st, _ = raw_post(api, path, b"{}" if method == "POST" else None,
                         {"Content-Type": "application/json"}, method=method)
        check(st == 401, "a guest on %s %s: %d" % (method, path, st))
    # malformed enqueue bodies: 400, naming the field when there is one
    su = {"Authorization": api.token, "Content-Type": "application/json"}
    for raw in (b"not json", b"[1, 2]", b'"http"', b"{"):
        st, j = raw_post(api, "/api/jobs", raw, su)
        check(st == 400, "enqueue body %r: %d %r" % (raw, st, j))
    for body, field in (({"kind": 7}, "kind"), ({}, "kind"),
                        ({"kind": "http", "payload": [1]}, "payload"),
                        ({"kind": "http", "payload": "x"}, "payload"),
                        ({"kind": "http", "runAt": True}, "runAt"),
                        ({"kind": "http", "runAt": -5}, "runAt"),
                        ({"kind": "http", "priority": "high"}, "priority"),
                        ({"kind": "http", "maxAttempts": 0}, "maxAttempts"),
                        ({"kind": "http", "maxAttempts": 101}, "maxAttempts"),
                        ({"kind": "http", "dedupeKey": "k" * 256}, "dedupeKey"),
                        ({"kind": "http", "dedupeKey": 5}, "dedupeKey")):
        st, j = api.call("POST", "/api/jobs", body)
        check(st == 400 and field in (j.get("data") or {}),
              "enqueue %r names %s: %d %r" % (body, field, st, j))
    check(api.jobs()["totalItems"] == 0, "no malformed enqueue stored a job")
    # bad list parameters
    for query in ("status=queued,bogus", "status=,", "sort=-payload", "sort=created,nope",
                  "page=abc", "page=-1", "perPage=1e3", "perPage=99999999999"):
        st, j = api.call("GET", "/api/jobs?" + query)
        check(st == 400, "list ?%s: %d %r" % (query, st, j))
    # each kind's retry policy gives a job its attempts when the enqueue
    # does not (no runner here: the jobs stay queued)
    for kind, payload, attempts in (
            ("http", {"url": "http://127.0.0.1:9/"}, 5),
            ("sms", {"to": "+15551234567", "text": "hi"}, 25),
            ("push", {"device": "d1", "provider": "fcm", "token": "t",
                      "message": {"title": "hi"}}, 25)):
        job = api.ok("POST", "/api/jobs", {"kind": kind, "payload": payload})
        check(job["maxAttempts"] == attempts,
              "a %s job's default attempts: %r" % (kind, job.get("maxAttempts")))
        api.ok("POST", "/api/jobs/%s/cancel" % job["id"])
    # unknown or malformed ids
    for method, path in (("GET", "/api/jobs/short"), ("GET", "/api/jobs/aaaaaaaaaaaaaaa"),
                         ("POST", "/api/jobs/aaaaaaaaaaaaaaa/retry"),
                         ("POST", "/api/jobs/aaaaaaaaaaaaaaa/cancel"),
                         ("POST", "/api/jobs/short/retry"), ("POST", "/api/crons/nope")):
        st, j = api.call(method, path)
        check(st == 404, "%s %s: %d %r" % (method, path, st, j))


@test
def ten_thousand_jobs_drained_once_each():
    got = {}
    lock = threading.Lock()

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                k = self.headers.get("X-Tarmac-Job-Id")
                got[k] = got.get(k, 0) + 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    class Server(http.server.ThreadingHTTPServer):
        # 4 runners open up to 4 x 64 connections at once: the default
        # backlog of 5 drops handshakes, and a delivery held back past the
        # HTTP timeout is rightly sent again
        request_queue_size = 1024
        daemon_threads = True

    httpd = Server(("127.0.0.1", 0), H)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/x" % httpd.server_address[1]
    try:
        _, api = start(flags=FAST + ["--job-runners=4"])
        n = 10000
        ids = set()

        def enqueue(part):
            mine = [api.ok("POST", "/api/jobs", {"kind": "http",
                                                 "payload": {"url": url, "body": {"i": i}}})["id"]
                    for i in range(part, n, 8)]
            with lock:
                ids.update(mine)

        threads = [threading.Thread(target=enqueue, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(len(ids) == n, "distinct ids: %d" % len(ids))
        deadline = time.monotonic() + 60 * SLOW
        while True:
            s = api.ok("GET", "/api/jobs/stats")
            if s["done"] == n:
                break
            check(time.monotonic() < deadline, "drained in time: %r" % s)
            time.sleep(0.2)
        with lock:
            check(set(got) == ids, "every job delivered (%d of %d)" % (len(got), n))
            dup = {k: v for k, v in got.items() if v != 1}
        # Delivery is at least once: a job is sent again only after an
        # attempt that failed on tarmac's side (a timeout after the receiver
        # had it), and then its attempts say so. Sent twice on one attempt
        # would be two runners holding one claim.
        for k, v in dup.items():
            j = api.ok("GET", "/api/jobs/" + k)
            check(j["attempts"] >= v, "job %s delivered %d times on %d attempt(s): %r"
                  % (k, v, j["attempts"], j))
        check(len(dup) <= n // 100, "few deliveries repeated: %d" % len(dup))
        check(s["dead"] == 0 and s["failed"] == 0 and s["running"] == 0, "stats: %r" % s)
    finally:
        httpd.shutdown()
        httpd.server_close()


@test
def schedule_missed_slots_run_once():
    rec = Receiver()
    try:
        _, api = start(flags=FAST)
        # hourly, half an hour from now: three slots missed, none due meanwhile
        long_ago = int(time.time() * 1000) - 3 * 3600 * 1000
        minute = (time.gmtime().tm_min + 30) % 60
        sched = api.ok("POST", "/api/collections/_schedules/records", {
            "name": "hourly", "cron": "%d * * * *" % minute, "kind": "http",
            "payload": {"url": rec.url, "body": {"from": "schedule"}}, "active": True,
            "lastRunAt": long_ago})
        fresh = api.ok("POST", "/api/collections/_schedules/records", {
            "name": "fresh", "cron": "@yearly", "kind": "http",
            "payload": {"url": rec.url}, "active": True})
        j = api.wait_jobs(lambda j: j["totalItems"] >= 1 and
                          all(x["status"] == "done" for x in j["items"]), what="the schedule")
        time.sleep(2.5)  # more looks of the scheduler: nothing more is due
        j = api.jobs()
        check(j["totalItems"] == 1, "missed slots run once: %d jobs" % j["totalItems"])
        check(j["items"][0]["dedupeKey"] == "schedule:" + sched["id"], "dedupe key: %r" % j)
        check(len(rec.accepted()) == 1, "one delivery")
        s = api.ok("GET", "/api/collections/_schedules/records/" + sched["id"])
        check(s["lastRunAt"] > long_ago, "lastRunAt moved: %r" % s)
        f = api.ok("GET", "/api/collections/_schedules/records/" + fresh["id"])
        check(f["lastRunAt"] > 0, "a new schedule is stamped, not run: %r" % f)
    finally:
        rec.close()


@test
def crons_api():
    rec = Receiver()
    try:
        _, api = start(flags=FAST)
        api.ok("POST", "/api/collections/_schedules/records", {
            "name": "nightly", "cron": "@daily", "kind": "http",
            "payload": {"url": rec.url}, "active": True})
        st, _ = api.call("GET", "/api/crons", auth=False)
        check(st == 401, "guests get 401: %d" % st)
        lst = api.ok("GET", "/api/crons")
        check(lst == [{"id": "nightly", "expression": "@daily"}], "list: %r" % lst)
        st, _ = api.call("POST", "/api/crons/nightly")
        check(st == 204, "run now: %d" % st)
        st, _ = api.call("POST", "/api/crons/missing")
        check(st == 404, "unknown cron: %d" % st)
        api.wait_jobs(lambda j: j["totalItems"] == 1 and j["items"][0]["status"] == "done",
                      what="the run")
        check(len(rec.accepted()) == 1, "ran once")
    finally:
        rec.close()


@test
def webhooks_and_schedules_are_checked_when_saved():
    _, api = start(flags=FAST)
    setup_posts(api, "http://127.0.0.1:9/hook")
    hooks = "/api/collections/_webhooks/records"
    base = {"collection": "posts", "events": ["create"], "url": "http://127.0.0.1:9/hook",
            "secret": SECRET, "active": True}
    for change, field in [({"filter": "title ~"}, "filter"),
                          ({"filter": "nosuchfield = 1"}, "filter"),
                          ({"collection": "nope"}, "collection"),
                          ({"headers": {"X-A": 5}}, "headers"),
                          ({"headers": {"X-A": "a\r\nEvil: 1"}}, "headers")]:
        st, j = api.call("POST", hooks, dict(base, **change))
        check(st == 400 and field in (j.get("data") or {}), "%r: %d %r" % (change, st, j))
    ok = api.ok("POST", hooks, dict(base, filter="title != ''", headers={"X-A": "b"}))
    st, j = api.call("PATCH", hooks + "/" + ok["id"], {"filter": "title ="})
    check(st == 400 and "filter" in j["data"], "an update is checked too: %d %r" % (st, j))
    scheds = "/api/collections/_schedules/records"
    sbase = {"name": "s1", "cron": "*/5 * * * *", "kind": "email",
             "payload": {"to": "a@example.com", "subject": "s", "text": "t"}, "active": True}
    for change, field in [({"cron": "every day"}, "cron"), ({"cron": "61 * * * *"}, "cron"),
                          ({"kind": "nope"}, "kind"), ({"payload": {"to": "x"}}, "payload")]:
        st, j = api.call("POST", scheds, dict(sbase, **change))
        check(st == 400 and field in (j.get("data") or {}), "%r: %d %r" % (change, st, j))
    s = api.ok("POST", scheds, sbase)
    st, j = api.call("PATCH", scheds + "/" + s["id"], {"cron": "@sometimes"})
    check(st == 400 and "cron" in j["data"], "a schedule update is checked: %d %r" % (st, j))
    check(len(api.ok("GET", scheds)["items"]) == 1, "only the good schedule was saved")


def raw_post(api, path, body, headers, method="POST"):
    req = urllib.request.Request(api.base + path, data=body, method=method)
    for k, v in headers.items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10 * SLOW) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def hexmac(secret, data):
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


@test
def inbound_webhooks():
    _, api = start(flags=FAST)
    api.ok("POST", "/api/collections", {
        "name": "payments", "type": "base", "listRule": "", "viewRule": "",
        "fields": [{"name": "payload", "type": "json"}, {"name": "eventId", "type": "text"},
                   {"name": "source", "type": "text"}],
        "indexes": ["CREATE UNIQUE INDEX idx_pay_event ON payments (eventId)"]})
    for name, scheme, header in (("stripe", "stripe", ""), ("rzp", "razorpay", ""),
                                 ("gh", "github", ""), ("partner", "hmac-sha256", "X-Sig")):
        api.ok("POST", "/api/collections/_inboundWebhooks/records", {
            "name": name, "scheme": scheme, "secret": "sec-" + name, "header": header,
            "collection": "payments", "active": True})
    body = json.dumps({"id": "evt_1", "type": "charge.succeeded", "amount": 500}).encode()
    t = str(int(time.time()))
    good = {"Stripe-Signature": "t=%s,v1=%s" % (t, hexmac("sec-stripe", t.encode() + b"." + body)),
            "Content-Type": "application/json"}
    st, j = raw_post(api, "/api/webhooks/stripe", body, good)
    check(st == 200 and j["eventId"] == "evt_1" and j["payload"]["amount"] == 500 and
          j["source"] == "stripe", "stripe valid: %d %r" % (st, j))
    st, j = raw_post(api, "/api/webhooks/stripe", body, good)
    check(st == 409, "replayed event id refused: %d %r" % (st, j))
    bad = {"Stripe-Signature": "t=%s,v1=%s" % (t, "0" * 64)}
    body2 = json.dumps({"id": "evt_2"}).encode()
    st, _ = raw_post(api, "/api/webhooks/stripe", body2, bad)
    check(st == 401, "bad signature: %d" % st)
    old = str(int(time.time()) - 3600)
    expired = {"Stripe-Signature": "t=%s,v1=%s" % (old, hexmac("sec-stripe", old.encode() + b"." + body2))}
    st, _ = raw_post(api, "/api/webhooks/stripe", body2, expired)
    check(st == 401, "expired timestamp: %d" % st)
    # the right secret under another scheme's header: refused
    st, _ = raw_post(api, "/api/webhooks/stripe", body2,
                     {"X-Hub-Signature-256": "sha256=" + hexmac("sec-stripe", body2)})
    check(st == 401, "wrong scheme: %d" % st)
    b3 = b'{"event":"payment.captured"}'
    st, j = raw_post(api, "/api/webhooks/rzp", b3, {"X-Razorpay-Signature": hexmac("sec-rzp", b3),
                                                    "X-Razorpay-Event-Id": "rzp_1"})
    check(st == 200 and j["eventId"] == "rzp_1", "razorpay: %d %r" % (st, j))
    st, j = raw_post(api, "/api/webhooks/gh", b3, {"X-Hub-Signature-256": "sha256=" + hexmac("sec-gh", b3),
                                                   "X-GitHub-Delivery": "gh-1"})
    check(st == 200 and j["eventId"] == "gh-1", "github: %d %r" % (st, j))
    b4 = b"plain text event"
    st, j = raw_post(api, "/api/webhooks/partner", b4, {"X-Sig": hexmac("sec-partner", b4),
                                                        "X-Event-Id": "p-1"})
    check(st == 200 and j["payload"] == "plain text event", "generic: %d %r" % (st, j))
    st, _ = raw_post(api, "/api/webhooks/partner", b4, {"X-Sig": hexmac("wrong", b4)})
    check(st == 401, "generic bad signature: %d" % st)
    st, _ = raw_post(api, "/api/webhooks/nope", b4, {})
    check(st == 404, "unknown endpoint: %d" % st)
    lst = api.ok("GET", "/api/collections/payments/records?perPage=50")
    check(lst["totalItems"] == 4, "stored exactly the valid events: %r" % lst["totalItems"])


@test
def inbound_webhooks_error_paths():
    _, api = start(flags=FAST)
    api.ok("POST", "/api/collections", {
        "name": "events", "type": "base", "fields": [{"name": "payload", "type": "json"}]})
    for name, scheme, active in (("s", "stripe", True), ("g", "github", True),
                                 ("off", "github", False)):
        api.ok("POST", "/api/collections/_inboundWebhooks/records", {
            "name": name, "scheme": scheme, "secret": "sec", "collection": "events",
            "active": active})
    body = b'{"id":"evt_1"}'
    t = str(int(time.time()))
    mac = hexmac("sec", t.encode() + b"." + body)
    for headers, what in (({}, "no Stripe-Signature"),
                          ({"Stripe-Signature": ""}, "an empty header"),
                          ({"Stripe-Signature": "t=" + t}, "no v1"),
                          ({"Stripe-Signature": "v1=" + mac}, "no t"),
                          ({"Stripe-Signature": "t=%sx,v1=%s" % (t, mac)}, "a t with junk"),
                          ({"Stripe-Signature": "t=%s,v1=%s" % (t, mac[:-1])}, "a short digest"),
                          ({"Stripe-Signature": "t=%s,v1=%sg" % (t, mac[:-1])}, "a non-hex digit"),
                          ({"Stripe-Signature": "t=%s;v1=%s" % (t, mac)}, "not comma-separated")):
        st, j = raw_post(api, "/api/webhooks/s", body, headers)
        check(st == 401, "stripe with %s: %d %r" % (what, st, j))
    gh = "sha256=" + hexmac("sec", body)
    st, _ = raw_post(api, "/api/webhooks/g", body, {})
    check(st == 401, "github without X-Hub-Signature-256: %d" % st)
    st, _ = raw_post(api, "/api/webhooks/g", body, {"X-Hub-Signature-256": gh[:-2]})
    check(st == 401, "github with a short digest: %d" % st)
    st, _ = raw_post(api, "/api/webhooks/off", body, {"X-Hub-Signature-256": gh})
    check(st == 404, "an inactive endpoint is unknown: %d" % st)
    st, _ = raw_post(api, "/api/webhooks/" + "x" * 300, body, {"X-Hub-Signature-256": gh})
    check(st == 404, "a too long name: %d" % st)
    lst = api.ok("GET", "/api/collections/events/records")
    check(lst["totalItems"] == 0, "nothing stored: %r" % lst["totalItems"])
    st, _ = raw_post(api, "/api/webhooks/g", body, {"X-Hub-Signature-256": gh})
    check(st == 200, "the same request signed is taken: %d" % st)


def twilio_sig(token, url, params):
    """Twilio's X-Twilio-Signature: the URL it called, then each POST
    parameter's name and value sorted by name; HMAC-SHA1, base64."""
    text = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()).decode()


@test
def inbound_webhooks_twilio():
    s, api = start(flags=FAST)
    public = "https://api.example.com/base/"  # the proxy's address Twilio calls
    api.ok("PATCH", "/api/settings", {"meta": {"appURL": public}})
    api.ok("POST", "/api/collections", {
        "name": "dlr", "type": "base",
        "fields": [{"name": "payload", "type": "json"}, {"name": "eventId", "type": "text"}],
        "indexes": ["CREATE UNIQUE INDEX idx_dlr_event ON dlr (eventId)"]})
    api.ok("POST", "/api/collections/_inboundWebhooks/records", {
        "name": "tw", "scheme": "twilio", "secret": "auth-token", "collection": "dlr",
        "active": True})
    url = "https://api.example.com/base/api/webhooks/tw?a=1&b=%20x"
    params = [("MessageSid", "SM42"), ("MessageStatus", "undelivered"), ("ErrorCode", "30003"),
              ("To", "+919800000001"), ("Body", "Your code: 1 & 2")]
    form = urllib.parse.urlencode(params).encode()
    hdr = {"Content-Type": "application/x-www-form-urlencoded"}
    st, j = raw_post(api, "/api/webhooks/tw?a=1&b=%20x", form,
                     dict(hdr, **{"X-Twilio-Signature": twilio_sig("auth-token", url, params)}))
    check(st == 200 and j["eventId"] == "SM42:undelivered" and
          j["payload"] == dict(params), "twilio valid: %d %r" % (st, j))
    st, _ = raw_post(api, "/api/webhooks/tw?a=1&b=%20x", form,
                     dict(hdr, **{"X-Twilio-Signature": twilio_sig("auth-token", url, params)}))
    check(st == 409, "the same status again: %d" % st)
    for sig, what in ((twilio_sig("other-token", url, params), "another token"),
                      (twilio_sig("auth-token", url.replace("a=1", "a=2"), params), "another query"),
                      (twilio_sig("auth-token", "http://127.0.0.1:%d/api/webhooks/tw?a=1&b=%%20x"
                                  % s.port, params), "the private URL, not appURL's"),
                      (twilio_sig("auth-token", url, params)[:-2], "cut short")):
        st, _ = raw_post(api, "/api/webhooks/tw?a=1&b=%20x", form,
                         dict(hdr, **{"X-Twilio-Signature": sig}))
        check(st == 401, "%s: %d" % (what, st))
    lst = api.ok("GET", "/api/collections/dlr/records")
    check(lst["totalItems"] == 1, "one report stored: %r" % lst["totalItems"])


@test
def inbound_webhooks_scheme_added_to_an_older_directory():
    """A data directory whose _inboundWebhooks predates the twilio scheme
    gets it on start."""
    s, api = start(flags=FAST)
    api.ok("POST", "/api/collections/_inboundWebhooks/records", {
        "name": "kept", "scheme": "github", "secret": "sec", "collection": "x", "active": True})
    s.stop()
    (data,) = db_rows(s.datadir, "SELECT data FROM _collections WHERE name = ?",
                      ("_inboundWebhooks",))[0]
    d = json.loads(data)
    for f in d["fields"]:
        if f["name"] == "scheme":
            f["values"] = [v for v in f["values"] if v != "twilio"]
    db_rows(s.datadir, "UPDATE _collections SET data = ? WHERE name = ?",
            (json.dumps(d), "_inboundWebhooks"), write=True)
    _, api2 = start(datadir=s.datadir, flags=FAST, name="older")
    col = api2.ok("GET", "/api/collections/_inboundWebhooks")
    values = [f for f in col["fields"] if f["name"] == "scheme"][0]["values"]
    check(values == ["stripe", "razorpay", "github", "hmac-sha256", "twilio"], "values: %r" % values)
    check(col["system"], "still a system collection")
    api2.ok("POST", "/api/collections/_inboundWebhooks/records", {
        "name": "tw", "scheme": "twilio", "secret": "sec", "collection": "x", "active": True})
    lst = api2.ok("GET", "/api/collections/_inboundWebhooks/records?sort=name")
    check([r["name"] for r in lst["items"]] == ["kept", "tw"], "records kept: %r" % lst["items"])


# --------------------------------------------------------------------------
# Built-in kinds: report (CSV export) and thumbs
# --------------------------------------------------------------------------

def raw_get(api, path, headers=None):
    req = urllib.request.Request(api.base + path, method="GET")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10 * SLOW) as r:
            return r.status, dict((k.lower(), v) for k, v in r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict((k.lower(), v) for k, v in e.headers.items()), e.read()


def call_as(api, token, method, path, body=None):
    saved = api.token
    api.token = token
    try:
        return api.call(method, path, body)
    finally:
        api.token = saved


def make_member(api, mail, password="member-pass-1"):
    """An auth record of "members" (created when missing): (record, token)."""
    if api.call("GET", "/api/collections/members")[0] == 404:
        api.ok("POST", "/api/collections", {"name": "members", "type": "auth",
                                            "createRule": ""})
    api.ok("POST", "/api/collections/members/records",
           {"email": mail, "password": password, "passwordConfirm": password})
    a = api.ok("POST", "/api/collections/members/auth-with-password",
               {"identity": mail, "password": password})
    return a["record"], a["token"]


def file_token(api, token):
    st, j = call_as(api, token, "POST", "/api/files/token")
    check(st == 200 and j.get("token"), "file token: %d %r" % (st, j))
    return j["token"]


def wait_job(api, job_id, statuses=("done",), what="the job"):
    """Polls the job until it reaches one of statuses (or dead)."""
    ends = tuple(statuses) + ("dead",)
    deadline = time.monotonic() + SOON
    while True:
        job = api.ok("GET", "/api/jobs/" + job_id)
        if job["status"] in ends:
            break
        if time.monotonic() > deadline:
            raise Fail("timed out waiting for %s: %r" % (what, job))
        time.sleep(0.05)
    check(job["status"] in statuses, "%s: %s (%s)" % (what, job["status"], job["lastError"]))
    return job


def mail_text(raw):
    """The decoded text of every part of a raw message."""
    msg = email.message_from_string(raw)
    out = []
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            out.append(part.get_payload(decode=True).decode("utf-8", "replace"))
    return "\n".join(out)


# Cells that need quoting, unicode, and formula-looking ones (the guard).
ITEMS = [
    {"title": 'He said "hi", then left', "n": 1, "mine": True},
    {"title": "line one\nline two\r\nline three", "n": 2, "mine": True},
    {"title": "=HYPERLINK(\"http://x\",\"y\")", "n": 3, "mine": True},
    {"title": "héllo, 日本 🚀", "n": 4, "mine": False},
    {"title": "@cmd|' /C calc'!A0", "n": 5, "mine": False},
    {"title": "-2+3", "n": 6, "mine": True},
]


def guarded(s):
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def setup_items(api, owner_id, other_id):
    api.ok("POST", "/api/collections", {
        "name": "items", "type": "base",
        "listRule": "owner = @request.auth.id", "viewRule": "owner = @request.auth.id",
        "fields": [{"name": "title", "type": "text"},
                   {"name": "n", "type": "number"},
                   {"name": "tags", "type": "json"},
                   {"name": "done", "type": "bool"},
                   {"name": "owner", "type": "text"},
                   {"name": "secret", "type": "text", "hidden": True}]})
    for it in ITEMS:
        api.ok("POST", "/api/collections/items/records", {
            "title": it["title"], "n": it["n"], "tags": ["a", "b,c", {"k": "v"}],
            "done": it["n"] % 2 == 0, "owner": owner_id if it["mine"] else other_id,
            "secret": "s%d" % it["n"]})


def report_of(api, job_id):
    r = api.ok("GET", "/api/collections/_reports/records/" + job_id)
    check(r["file"].endswith(".csv"), "a csv file: %r" % r)
    return r


def download(api, rec, token=None):
    q = "?token=" + token if token is not None else ""
    return raw_get(api, "/api/files/_reports/%s/%s%s" % (rec["id"], rec["file"], q))


def parse_csv(body):
    check(not body.startswith(b"\xef\xbb\xbf"), "no BOM")
    text = body.decode("utf-8")
    check(text.endswith("\r\n"), "rows end with CRLF")
    return list(csv.reader(io.StringIO(text, newline="")))


@test
def report_csv_as_superuser_and_as_user():
    sink = SmtpSink()
    try:
        _, api = start(flags=FAST + ["--smtp-host=127.0.0.1", "--smtp-port=%d" % sink.port,
                                     "--app-url=https://app.example.com"])
        me, me_token = make_member(api, "me@example.com")
        other, other_token = make_member(api, "other@example.com")
        setup_items(api, me["id"], other["id"])
        # as a superuser, every row and the hidden field; a mail with the link
        a = api.ok("POST", "/api/jobs", {"kind": "report", "payload": {
            "collection": "items", "sort": "n", "mailTo": "boss@example.com"}}, want=(201,))
        wait_job(api, a["id"], what="the superuser's report")
        rec = report_of(api, a["id"])
        check(rec["rows"] == len(ITEMS) and rec["truncated"] is False
              and rec["owner"] == "" and rec["collection"] == "items", "record: %r" % rec)
        st, h, body = download(api, rec, file_token(api, api.token))
        check(st == 200, "the superuser downloads with a file token: %d" % st)
        rows = parse_csv(body)
        check(rows[0] == ["id", "title", "n", "tags", "done", "owner", "secret"],
              "header: %r" % rows[0])
        check(len(rows) == 1 + len(ITEMS), "one row per record: %d" % len(rows))
        for it, row in zip(ITEMS, rows[1:]):
            check(row[1] == guarded(it["title"]), "cell round trip: %r vs %r" % (row[1], it))
            check(row[2] == str(it["n"]), "number cell: %r" % row[2])
            check(json.loads(row[3]) == ["a", "b,c", {"k": "v"}], "json cell: %r" % row[3])
            check(row[4] == ("true" if it["n"] % 2 == 0 else "false"), "bool: %r" % row[4])
            check(row[6] == "s%d" % it["n"], "hidden field for a superuser: %r" % row[6])
        check(rows[3][1].startswith("'=") and rows[5][1].startswith("'@")
              and rows[6][1].startswith("'-"), "formula guard: %r" % [r[1] for r in rows])
        check(b'"He said ""hi"", then left"' in body, "quotes doubled inside quotes")
        link = "https://app.example.com/api/files/_reports/%s/%s" % (rec["id"], rec["file"])
        deadline = time.monotonic() + SOON
        while not sink.to("boss@example.com") and time.monotonic() < deadline:
            time.sleep(0.05)
        got = sink.to("boss@example.com")
        check(len(got) == 1 and link in mail_text(got[0][1]),
              "the mail has the link %s: %r" % (link, got))

        # as a user: only what the listRule shows, no hidden field
        b = api.ok("POST", "/api/jobs", {"kind": "report", "payload": {
            "collection": "items", "sort": "-n",
            "requester": {"collectionId": me["collectionId"], "id": me["id"]}}}, want=(201,))
        wait_job(api, b["id"], what="the user's report")
        rec = report_of(api, b["id"])
        mine = [it for it in ITEMS if it["mine"]]
        check(rec["rows"] == len(mine) and rec["owner"] == me["id"]
              and rec["ownerCollection"] == me["collectionId"], "record: %r" % rec)
        st, _, body = download(api, rec, file_token(api, me_token))
        check(st == 200, "the owner downloads with a file token: %d %r" % (st, body[:200]))
        rows = parse_csv(body)
        check("secret" not in rows[0] and rows[0][:2] == ["id", "title"], "header: %r" % rows[0])
        check([r[1] for r in rows[1:]] == [guarded(it["title"]) for it in reversed(mine)],
              "only the user's rows, sorted: %r" % [r[1] for r in rows[1:]])
        st, _, _ = download(api, rec)
        check(st == 404, "no token: refused (%d)" % st)
        st, _, _ = download(api, rec, file_token(api, other_token))
        check(st == 404, "another user's token: refused (%d)" % st)
        st, _, _ = download(api, rec, me_token)
        check(st == 404, "an auth token is no file token: refused (%d)" % st)
        # the owner sees the report record; the other user does not
        st, _ = call_as(api, me_token, "GET", "/api/collections/_reports/records/" + b["id"])
        check(st == 200, "the owner views the record: %d" % st)
        st, _ = call_as(api, other_token, "GET", "/api/collections/_reports/records/" + b["id"])
        check(st == 404, "another user does not: %d" % st)
        st, j = call_as(api, other_token, "GET", "/api/collections/_reports/records")
        check(st == 200 and j["totalItems"] == 0, "nor lists it: %d %r" % (st, j))
    finally:
        sink.close()


@test
def report_failures_and_limits():
    s, api = start(flags=FAST)
    me, _ = make_member(api, "me@example.com")
    setup_items(api, me["id"], me["id"])
    bad = [({"filter": "title ~"}, "collection"),
           ({"collection": ""}, "collection"),
           ({"collection": "items", "filter": 5}, "filter"),
           ({"collection": "items", "fields": "title"}, "fields"),
           ({"collection": "items", "requester": {"id": "x"}}, "requester"),
           ({"collection": "items", "mailTo": "not an address"}, "mailTo"),
           ({"collection": "items", "maxRows": 0}, "maxRows")]
    for payload, field in bad:
        st, j = api.call("POST", "/api/jobs", {"kind": "report", "payload": payload})
        msg = json.dumps(j)
        check(st == 400 and "payload" in j["data"] and "payload." + field in msg,
              "invalid payload %r: 400 naming %s: %d %s" % (payload, field, st, msg))
    dead = [({"collection": "items", "filter": "title ~~~ 'x"}, "filter"),
            ({"collection": "items", "filter": "nosuchfield = 1"}, "filter"),
            ({"collection": "nosuch"}, "no collection nosuch"),
            ({"collection": "items", "fields": ["title", "nosuch"]}, "nosuch"),
            ({"collection": "items", "requester": {"collectionId": "members",
                                                   "id": "aaaaaaaaaaaaaaa"}}, "requester")]
    for payload, words in dead:
        a = api.ok("POST", "/api/jobs", {"kind": "report", "payload": payload}, want=(201,))
        job = wait_job(api, a["id"], statuses=("dead",), what="dead: %r" % payload)
        check(words in job["lastError"] and job["attempts"] == 1,
              "lastError names %r: %r" % (words, job))
        st, _ = api.call("GET", "/api/collections/_reports/records/" + a["id"])
        check(st == 404, "no report record for a dead job")
        check(not os.path.exists(os.path.join(s.datadir, "storage", "pbc_tarmac_reports",
                                              a["id"])), "no file left behind")
    # bounded: maxRows cuts the export and says so
    a = api.ok("POST", "/api/jobs", {"kind": "report", "payload": {
        "collection": "items", "sort": "n", "maxRows": 2, "fields": ["n", "title"]}},
        want=(201,))
    wait_job(api, a["id"], what="the cut report")
    rec = report_of(api, a["id"])
    check(rec["rows"] == 2 and rec["truncated"] is True, "cut at 2 rows: %r" % rec)
    st, _, body = download(api, rec, file_token(api, api.token))
    rows = parse_csv(body)
    check(rows == [["n", "title"], ["1", ITEMS[0]["title"]], ["2", ITEMS[1]["title"]]],
          "header and two rows: %r" % rows)
    # a filter that matches nothing: a header alone
    a = api.ok("POST", "/api/jobs", {"kind": "report", "payload": {
        "collection": "items", "filter": "n > 100", "fields": ["n"]}}, want=(201,))
    wait_job(api, a["id"], what="the empty report")
    rec = report_of(api, a["id"])
    st, _, body = download(api, rec, file_token(api, api.token))
    check(rec["rows"] == 0 and body == b"n\r\n", "header only: %r %r" % (rec, body))


def png(w, h):
    """A w x h RGB PNG made with zlib only."""
    raw = b"".join(b"\x00" + b"".join(bytes([(x * 7) % 256, (y * 5) % 256, 128])
                                      for x in range(w)) for y in range(h))

    def chunk(t, d):
        return (struct.pack(">I", len(d)) + t + d +
                struct.pack(">I", zlib.crc32(t + d) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def upload(api, path, fields, files, method="POST"):
    boundary = "jobsBoundary7MA4YWxkTrZu0gW"
    out = []
    for k, v in fields.items():
        out.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                    % (boundary, k, v)).encode())
    for k, name, data in files:
        out.append(('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                    'Content-Type: application/octet-stream\r\n\r\n'
                    % (boundary, k, name)).encode() + data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    req = urllib.request.Request(api.base + path, data=b"".join(out), method=method)
    req.add_header("Content-Type", "multipart/form-data; boundary=" + boundary)
    req.add_header("Authorization", api.token)
    with urllib.request.urlopen(req, timeout=10 * SLOW) as r:
        return json.loads(r.read())


@test
def thumbs_made_ahead_of_the_first_view():
    s, api = start(flags=FAST)
    col = api.ok("POST", "/api/collections", {
        "name": "photos", "type": "base", "listRule": "", "viewRule": "",
        "fields": [{"name": "title", "type": "text"},
                   {"name": "img", "type": "file", "maxSelect": 1, "thumbs": ["50x50", "0x20"]},
                   {"name": "docs", "type": "file", "maxSelect": 2}]})
    rec = upload(api, "/api/collections/photos/records", {"title": "a"},
                 [("img", "pic.png", png(200, 100)), ("docs", "notes.txt", b"hello\n")])
    j = api.wait_jobs(lambda j: j["totalItems"] == 1 and j["items"][0]["status"] == "done",
                      "&kind=thumbs", what="the thumbs job")
    job = j["items"][0]
    check(job["payload"] == {"collection": col["id"], "record": rec["id"], "field": "img"},
          "payload: %r" % job["payload"])
    base = os.path.join(s.datadir, "storage", col["id"], rec["id"], "thumbs_" + rec["img"])
    for size, want in (("50x50", (50, 50)), ("0x20", (40, 20))):
        path = os.path.join(base, "%s_%s" % (size, rec["img"]))
        check(os.path.isfile(path), "%s made before any view: %s" % (size, path))
        with open(path, "rb") as f:
            data = f.read()
        check(struct.unpack(">II", data[16:24]) == want, "%s is %r" % (size, want))
        mtime = os.stat(path).st_mtime_ns
        st, h, body = raw_get(api, "/api/files/photos/%s/%s?thumb=%s" %
                              (rec["id"], rec["img"], size))
        check(st == 200 and body == data and h.get("content-type") == "image/png",
              "the view answers the thumbnail made ahead: %d %r" % (st, h))
        check(os.stat(path).st_mtime_ns == mtime, "served from the cache, not made again")
    check(not os.path.exists(os.path.join(s.datadir, "storage", col["id"], rec["id"],
                                          "thumbs_" + rec["docs"][0])),
          "a field without thumbs: nothing made")
    # an update without a new upload enqueues nothing; a new upload does
    api.ok("PATCH", "/api/collections/photos/records/" + rec["id"], {"title": "b"})
    time.sleep(0.3)
    check(api.jobs("&kind=thumbs")["totalItems"] == 1, "no job for a write without uploads")
    rec2 = upload(api, "/api/collections/photos/records/" + rec["id"], {},
                  [("img", "pic2.png", png(30, 90))], method="PATCH")
    api.wait_jobs(lambda j: j["totalItems"] == 2 and
                  all(x["status"] == "done" for x in j["items"]),
                  "&kind=thumbs", what="the second thumbs job")
    check(os.path.isfile(os.path.join(s.datadir, "storage", col["id"], rec["id"],
                                      "thumbs_" + rec2["img"], "50x50_" + rec2["img"])),
          "the new upload's thumbnail")
    # the kind as a superuser enqueues it: sizes the field does not declare are skipped
    st, j = api.call("POST", "/api/jobs", {"kind": "thumbs", "payload": {
        "collection": "photos", "record": rec["id"], "sizes": ["20x20f", "nope"]}})
    check(st == 400 and "payload.sizes" in json.dumps(j), "bad size: %d %r" % (st, j))
    a = api.ok("POST", "/api/jobs", {"kind": "thumbs", "payload": {
        "collection": "photos", "record": rec["id"], "sizes": ["100x100", "20x20f"]}},
        want=(201,))
    wait_job(api, a["id"], what="the explicit thumbs job")
    base2 = os.path.join(s.datadir, "storage", col["id"], rec["id"], "thumbs_" + rec2["img"])
    check(os.path.isfile(os.path.join(base2, "100x100_" + rec2["img"])), "100x100 is allowed")
    check(not os.path.exists(os.path.join(base2, "20x20f_" + rec2["img"])),
          "a size the field does not declare is skipped")
    a = api.ok("POST", "/api/jobs", {"kind": "thumbs", "payload": {
        "collection": "photos", "record": rec["id"], "field": "title"}}, want=(201,))
    job = wait_job(api, a["id"], statuses=("dead",), what="a field that is no file field")
    check("payload.field" in job["lastError"], "lastError: %r" % job)


# --------------------------------------------------------------------------

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
                if not srv.alive():
                    continue
                rc = srv.stop()
                text = srv.stderr_text()
                text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
                check("Sanitizer" not in text and "runtime error" not in text,
                      "%s: sanitizer report: %s" % (srv.name, text[-2000:]))
                check(rc == 0, "%s exits 0 on SIGTERM, got %r" % (srv.name, rc))
            passed += 1
            print("ok - %s" % fn.__name__)
        except Exception as e:
            failed += 1
            print("FAIL - %s: %s: %s" % (fn.__name__, type(e).__name__, e))
            if args.verbose:
                traceback.print_exc()
                for s in SERVERS[-2:]:
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
