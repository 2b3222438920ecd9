"""Scenario-table machinery for the tarmac HTTP API suite (stdlib only).

A Scenario is one request plus what its answer must look like, in the style
of PocketBase's tests/api.go ApiScenario: method, URL, which token, body,
expected status, and expectations on the JSON (an exact body, a subset
match, and/or a check function).  Every response additionally goes through
universal_checks(): JSON content type, no "password"/"tokenKey" key anywhere,
no argon2id hash anywhere in the body, and the {status,message,data} shape
for every error.

Anything that can depend on state made at run time (record ids, tokens) may
be given as a callable taking the Ctx.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from tarmac import db_flags, run_cli  # noqa: E402


# --------------------------------------------------------------------------
# Constants from the contract (spec/api.md)
# --------------------------------------------------------------------------

MSG_401 = "The request requires valid record authorization token."
MSG_403_SUPER = "The authorized record is not allowed to perform this action."
MSG_404 = "The requested resource wasn't found."
MSG_400 = "Something went wrong while processing your request."
MSG_ONLY_SUPER = "Only superusers can perform this action."
MSG_NO_COLL = "Missing collection context."
MSG_NO_COLL_WRITE = "Missing or invalid collection context."
MSG_NO_AUTH_COLL = "Missing or invalid auth collection context."
MSG_CREATE_FAIL = "Failed to create record."
MSG_UPDATE_FAIL = "Failed to update record."
MSG_AUTH_FAIL = "Failed to authenticate."
MSG_FORM_INVALID = "An error occurred while validating the submitted data."
MSG_FORM_LOAD = "An error occurred while loading the submitted data."
MSG_BAD_CTYPE = "Unsupported Content-Type."
MSG_UNSUPPORTED_TYPE = "Unsupported collection type."
MSG_COLL_CREATE_FAIL = "Failed to create collection."
MSG_COLL_UPDATE_FAIL = "Failed to update collection."
MSG_IMPORT_FAIL = "Failed to import collections."

USERS_ID = "_pb_users_auth_"
SUPERUSERS_ID = "pbc_3142635823"

RECORD_ID_RE = re.compile(r"^[a-z0-9]{15}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$")

NOBODY = object()     # "send no body" (distinct from a JSON null body)
ANY = object()        # subset matcher: key must exist, any value


class Fail(Exception):
    """A scenario expectation did not hold."""


class SetupError(Exception):
    """A fixture request inside setup did not answer as expected."""


def want(cond, msg):
    if not cond:
        raise Fail(msg)


def collection_id(ctype, name):
    """spec §1.4: pbc_<decimal crc32(type+name)> (no collision suffix)."""
    return "pbc_%d" % zlib.crc32((ctype + name).encode())


def create_superuser(binary, datadir, email, password):
    """Create (or update) a superuser before the server starts, via the CLI
    (`BIN superuser upsert EMAIL PASSWORD --dir=DIR`)."""
    rc, out, err = run_cli(binary, ["superuser", "upsert", email, password,
                                    "--dir=" + datadir] + db_flags(datadir))
    if rc != 0:
        raise SetupError("superuser upsert failed rc=%d: %s %s" % (rc, out, err))


# --------------------------------------------------------------------------
# JWT helpers (forging / tampering tokens)
# --------------------------------------------------------------------------

def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token):
    return token.split(".")


def jwt_header(token):
    return json.loads(b64u_decode(jwt_parts(token)[0]))


def jwt_payload(token):
    return json.loads(b64u_decode(jwt_parts(token)[1]))


def jwt_sign(payload, key, header=None):
    header = header or {"alg": "HS256", "typ": "JWT"}
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(key, (h + "." + p).encode(), hashlib.sha256).digest()
    return h + "." + p + "." + b64u(sig)


def jwt_alg_none(payload):
    h = b64u(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    p = b64u(json.dumps(payload, separators=(",", ":")).encode())
    return h + "." + p + "."


def jwt_tamper_signature(token):
    """Change one character in the middle of the signature (not the last
    one, whose low bits are padding and may decode to the same bytes)."""
    h, p, s = jwt_parts(token)
    i = len(s) // 2
    c = "B" if s[i] != "B" else "C"
    return h + "." + p + "." + s[:i] + c + s[i + 1:]


def jwt_swap_payload(token, **changes):
    """Same header and signature, payload with some claims changed."""
    h, p, s = jwt_parts(token)
    claims = json.loads(b64u_decode(p))
    claims.update(changes)
    return h + "." + b64u(json.dumps(claims, separators=(",", ":")).encode()) + "." + s


# --------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------

class Resp:
    def __init__(self, method, path, raw):
        self.method = method
        self.path = path
        self.status = raw.status
        self.headers = raw.headers
        self.body = raw.body
        self.json = None
        self.json_error = None
        if self.body:
            try:
                self.json = json.loads(self.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                self.json_error = str(e)

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def summary(self):
        return "%s %s -> %d %s" % (self.method, self.path, self.status,
                                   self.body[:300].decode("utf-8", "replace"))


class Ctx:
    """Run-time state shared by the scenarios: the server, tokens, ids."""

    def __init__(self, server):
        self.server = server
        self.tokens = {}      # "su", "A", "B", "shorty" -> token
        self.ids = {}         # "A", "B", "su", "shorty" -> record id
        self.vars = {}        # free-form fixtures
        self.requests = 0
        self.violations = []  # universal-check failures on any response

    # -- auth header ---------------------------------------------------------

    def auth_header(self, auth):
        if auth is None:
            return None
        if callable(auth):
            return auth(self)
        if auth in self.tokens:
            return self.tokens[auth]
        raise SetupError("unknown auth key %r" % (auth,))

    # -- requests ------------------------------------------------------------

    def call(self, method, path, auth=None, body=NOBODY, raw=None, ctype=None,
             headers=None, scenario=False):
        h = {}
        a = self.auth_header(auth)
        if a is not None:
            h["Authorization"] = a
        if body is not NOBODY:
            data = json.dumps(body).encode()
            ctype = ctype or "application/json"
        elif raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        else:
            data = b""
        if ctype:
            h["Content-Type"] = ctype
        if data or method in ("POST", "PUT", "PATCH"):
            h["Content-Length"] = str(len(data))
        if headers:
            h.update(headers)
        self.requests += 1
        r = Resp(method, path, self.server.request(method, path, h, data))
        # fixture and follow-up responses get the universal checks too (a
        # scenario's own response is checked and reported by the scenario)
        if not scenario:
            try:
                universal_checks(r)
            except Fail as e:
                self.violations.append("%s (%s)" % (e, r.summary()))
        return r

    def must(self, method, path, auth=None, body=NOBODY, status=200, **kw):
        """A fixture request: returns the parsed JSON, raises SetupError if the
        status is not the expected one."""
        r = self.call(method, path, auth=auth, body=body, **kw)
        if r.status != status:
            raise SetupError("fixture %s" % r.summary())
        return r.json

    # -- common fixtures -------------------------------------------------------

    def new_post(self, owner="A", **fields):
        body = {"title": "post of " + owner, "author": self.ids[owner]}
        body.update(fields)
        return self.must("POST", "/api/collections/posts/records", auth=owner, body=body)

    def new_note(self, owner="A", **fields):
        body = {"body": "note of " + owner, "owner": self.ids[owner]}
        body.update(fields)
        return self.must("POST", "/api/collections/notes/records", auth=owner, body=body)

    def new_collection(self, body):
        return self.must("POST", "/api/collections", auth="su", body=body)


def resolve(v, ctx):
    return v(ctx) if callable(v) else v


# --------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------

def _same_scalar(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def deep_equal(a, b):
    if isinstance(a, dict):
        return (isinstance(b, dict) and set(a) == set(b)
                and all(deep_equal(a[k], b[k]) for k in a))
    if isinstance(a, list):
        return (isinstance(b, list) and len(a) == len(b)
                and all(deep_equal(x, y) for x, y in zip(a, b)))
    return _same_scalar(a, b)


def subset_mismatch(expected, actual, path="$"):
    """None if `actual` matches `expected` (dicts: listed keys only; lists:
    same length, element-wise; ANY: anything; callable: predicate), else a
    description of the first mismatch."""
    if expected is ANY:
        return None
    if callable(expected):
        try:
            ok = expected(actual)
        except Exception as e:  # predicate blew up on an unexpected shape
            return "%s: predicate raised %r on %r" % (path, e, actual)
        return None if ok else "%s: predicate false for %s" % (path, short(actual))
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return "%s: want object, got %s" % (path, short(actual))
        for k, v in expected.items():
            if k not in actual:
                return "%s: missing key %r" % (path, k)
            m = subset_mismatch(v, actual[k], "%s.%s" % (path, k))
            if m:
                return m
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return "%s: want %s, got %s" % (path, short(expected), short(actual))
        for i, (e, a) in enumerate(zip(expected, actual)):
            m = subset_mismatch(e, a, "%s[%d]" % (path, i))
            if m:
                return m
        return None
    if not _same_scalar(expected, actual):
        return "%s: want %s, got %s" % (path, short(expected), short(actual))
    return None


def short(v, n=120):
    s = json.dumps(v) if not isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n] + "..."


def get_path(obj, dotted):
    """Values at a dotted path; a `*` segment matches every key/index."""
    cur = [obj]
    for seg in dotted.split("."):
        nxt = []
        for o in cur:
            if isinstance(o, dict):
                if seg == "*":
                    nxt.extend(o.values())
                elif seg in o:
                    nxt.append(o[seg])
            elif isinstance(o, list):
                if seg == "*":
                    nxt.extend(o)
                elif seg.isdigit() and int(seg) < len(o):
                    nxt.append(o[int(seg)])
        cur = nxt
    return cur


# --------------------------------------------------------------------------
# Universal response checks
# --------------------------------------------------------------------------

LEAK_KEYS = ("password", "tokenKey")


def find_leaks(v, path="$"):
    """Paths of "password"/"tokenKey" keys.  Allowed only where the key names
    something other than a secret value: a field validation error
    ({code,message}) or the auth-methods "password" section ({enabled,...})."""
    out = []
    if isinstance(v, dict):
        for k, x in v.items():
            p = "%s.%s" % (path, k)
            if k in LEAK_KEYS:
                ok = isinstance(x, dict) and ("code" in x or "enabled" in x)
                if not ok:
                    out.append(p)
            out.extend(find_leaks(x, p))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out.extend(find_leaks(x, "%s[%d]" % (path, i)))
    return out


def universal_checks(r):
    if r.status == 204:
        want(r.body == b"", "204 with a body")
        return
    want(r.body != b"", "empty body with status %d" % r.status)
    ct = r.header("Content-Type", "")
    want(ct.split(";")[0].strip().lower() == "application/json",
         "Content-Type %r is not application/json" % ct)
    want(r.json_error is None, "body is not JSON: %s" % r.json_error)
    leaks = find_leaks(r.json)
    want(not leaks, "secret key(s) in response: %s" % ", ".join(leaks))
    # A password field of any name: its stored hash must never be answered.
    want(b"$argon2" not in r.body, "a password hash in the response")
    if r.status >= 400:
        j = r.json
        want(isinstance(j, dict), "error body is not an object")
        want(set(j) == {"status", "message", "data"},
             "error body keys %s, want exactly status/message/data" % sorted(j))
        want(_same_scalar(j["status"], r.status),
             "error body status %r != HTTP %d" % (j["status"], r.status))
        want(isinstance(j["data"], dict), "error data is not an object: %s" % short(j["data"]))
        m = j["message"]
        want(isinstance(m, str) and m != "", "error message empty or not a string")
        want(m[0] == m[0].upper(), "error message not capitalized: %r" % m)
        want(m[-1] in ".?!", "error message does not end in . ? or !: %r" % m)


# --------------------------------------------------------------------------
# Expectation builders
# --------------------------------------------------------------------------

def err(status, message):
    """Exact error body with empty data."""
    return {"status": status, "message": message, "data": {}}


def says_where(*needles):
    """A bad filter or sort: 400 with data {} and a message that says what is
    wrong and where (the issue asks for that; the contract's generic message
    would leave the developer guessing). Each needle must be in the message."""
    def check(ctx, r):
        j = r.json or {}
        want(j.get("status") == 400, "status in body %r" % j.get("status"))
        want(j.get("data") == {}, "data %r" % j.get("data"))
        msg = j.get("message") or ""
        want(msg and msg != MSG_400, "generic message %r" % msg)
        for n in needles:
            want(n in msg, "message %r lacks %r" % (msg, n))
    return check


def codes(message, expected, only=False):
    """Check for a validation error: exact message, and for each dotted path
    (with optional `*` wildcards) the data error's code is the given one (or
    one of a tuple of acceptable codes).  A (code, params) pair also checks
    params as a subset.  only=True: data has no other top-level keys."""
    def check(ctx, r):
        j = r.json
        want(j.get("message") == message,
             "message %r, want %r" % (j.get("message"), message))
        data = j.get("data", {})
        for path, exp in expected.items():
            params = None
            if isinstance(exp, list):          # [code_or_codes, params]
                exp, params = exp
            allowed = exp if isinstance(exp, tuple) else (exp,)
            found = get_path(data, path)
            want(found, "data.%s missing (data=%s)" % (path, short(data, 300)))
            node = found[0]
            want(isinstance(node, dict) and "code" in node and "message" in node,
                 "data.%s is not an error object: %s" % (path, short(node)))
            want(node["code"] in allowed,
                 "data.%s.code %r, want %s" % (path, node["code"], " or ".join(allowed)))
            if params is not None:
                m = subset_mismatch(params, node.get("params"), "data.%s.params" % path)
                want(m is None, m)
        if only:
            tops = {p.split(".")[0] for p in expected}
            want(set(data) == tops, "data keys %s, want %s" % (sorted(data), sorted(tops)))
    return check


def all_of(*checks):
    def check(ctx, r):
        for c in checks:
            c(ctx, r)
    return check


# --------------------------------------------------------------------------
# Scenario + runner
# --------------------------------------------------------------------------

class Scenario:
    def __init__(self, name, method, path, auth=None, body=NOBODY, raw=None,
                 ctype=None, headers=None, status=200, exact=None, subset=None,
                 check=None, setup=None, tags=()):
        self.name = name
        self.method = method
        self.path = path
        self.auth = auth
        self.body = body
        self.raw = raw
        self.ctype = ctype
        self.headers = headers
        self.status = status
        self.exact = exact
        self.subset = subset
        self.check = check
        self.setup = setup
        self.tags = set(tags)

    def run(self, ctx):
        """Returns None on success, or (reason, response-or-None)."""
        if self.setup:
            try:
                self.setup(ctx)
            except (SetupError, Fail) as e:
                return ("setup: %s" % e, None)
        path = resolve(self.path, ctx)
        body = resolve(self.body, ctx) if self.body is not NOBODY else NOBODY
        raw = resolve(self.raw, ctx)
        headers = resolve(self.headers, ctx)
        try:
            r = ctx.call(self.method, path, auth=self.auth, body=body, raw=raw,
                         ctype=self.ctype, headers=headers, scenario=True)
        except Exception as e:  # socket error, timeout, connection closed
            return ("request failed: %s: %s" % (type(e).__name__, e), None)
        try:
            statuses = self.status if isinstance(self.status, tuple) else (self.status,)
            want(r.status in statuses, "status %d, want %s" % (
                r.status, " or ".join(str(s) for s in statuses)))
            if self.exact is not None:
                exp = resolve(self.exact, ctx)
                want(deep_equal(exp, r.json), "body != %s" % short(exp, 300))
            if self.subset is not None:
                m = subset_mismatch(resolve(self.subset, ctx), r.json)
                want(m is None, m)
            if self.check:
                self.check(ctx, r)
            universal_checks(r)
        except Fail as e:
            return (str(e), r)
        except SetupError as e:
            return ("follow-up: %s" % e, r)
        except Exception as e:  # a check tripped over an unexpected shape
            return ("check raised %s: %s" % (type(e).__name__, e), r)
        return None


def wait_until(epoch_seconds):
    left = epoch_seconds - time.time()
    if left > 0:
        time.sleep(left)
