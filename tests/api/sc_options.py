"""Scenarios: the option principle (issue #11, item 1).

Every option of PocketBase's collection model (core/collection_model*.go:
base, auth and view collection options; core/field_*.go: every field type's
options, as of PocketBase v0.39) is walked here, and each is shown to be
either ENFORCED (a request whose answer depends on it) or REFUSED (a 400
whose data names it). Nothing may be accepted and then silently dropped.

  PB_COLLECTION_OPTIONS, PB_FIELD_OPTIONS  the lists from PocketBase's source
  WALK                                     option -> (verdict, check)
  OTHER_BRANCHES                           options whose checks land with
                                           another branch: enable them at merge
                                           (move the entry into WALK)

Two more scenarios keep the walk complete: every PocketBase option has a
verdict (or is listed in OTHER_BRANCHES), and every key the server exports
for a collection or a field is one of PocketBase's options (a new option
cannot slip in unwalked).

Mails go to the server's log (no SMTP host in this suite); the checks read
tokens and codes from the "mail not sent" lines. The expiries of otp.duration
and mfa.duration are checked in LAST, after the suite's wait for the
short-lived token.
"""

import json
import re
import time
import urllib.parse

from apilib import (Fail, SetupError, want, short, jwt_payload, get_path, USERS_ID,
                    universal_checks)
from sc_files import multipart, MP, PNG, TEXT, png_size

# --------------------------------------------------------------------------
# PocketBase's options
# --------------------------------------------------------------------------

_TOKENS = ["authToken", "passwordResetToken", "emailChangeToken", "verificationToken",
           "fileToken"]
_BASE = ["id", "name", "type", "system", "listRule", "viewRule", "createRule",
         "updateRule", "deleteRule", "fields", "indexes"]
PB_COLLECTION_OPTIONS = {
    "base": _BASE,
    "auth": _BASE + [
        "authRule", "manageRule",
        "authAlert.enabled", "authAlert.emailTemplate",
        "oauth2.enabled", "oauth2.mappedFields", "oauth2.providers",
        "passwordAuth.enabled", "passwordAuth.identityFields",
        "mfa.enabled", "mfa.duration", "mfa.rule",
        "otp.enabled", "otp.duration", "otp.length", "otp.emailTemplate",
    ] + ["%s.%s" % (t, k) for t in _TOKENS for k in ("duration", "secret")] + [
        "verificationTemplate", "resetPasswordTemplate", "confirmEmailChangeTemplate"],
    "view": _BASE + ["viewQuery"],
}
# created/updated are in the model too, but read-only (no form tag): the
# server sets them. They are no options and are not walked.
READ_ONLY = {"created", "updated"}
# tarmac's own options, beyond PocketBase's (walked like the others; only
# these may be exported besides PocketBase's): full-text search, issue #18.
TARMAC_COLLECTION_OPTIONS = {
    "base": ["search.fields", "search.language", "embedding.field", "embedding.source",
             "embedding.provider"],
    "auth": ["search.fields", "search.language", "embedding.field", "embedding.source",
             "embedding.provider"],
    "view": [],
}

_COMMON = ["id", "name", "system", "hidden", "presentable", "help", "required"]
PB_FIELD_OPTIONS = {
    "text": _COMMON + ["min", "max", "pattern", "autogeneratePattern", "primaryKey"],
    "number": _COMMON + ["min", "max", "onlyInt"],
    "bool": _COMMON,
    "email": _COMMON + ["exceptDomains", "onlyDomains"],
    "url": _COMMON + ["exceptDomains", "onlyDomains"],
    "editor": _COMMON + ["maxSize", "convertURLs"],
    "date": _COMMON + ["min", "max"],
    "autodate": ["id", "name", "system", "hidden", "presentable", "onCreate", "onUpdate"],
    "select": _COMMON + ["values", "maxSelect"],
    "file": _COMMON + ["maxSize", "maxSelect", "mimeTypes", "thumbs", "protected"],
    "relation": _COMMON + ["collectionId", "cascadeDelete", "minSelect", "maxSelect"],
    "json": _COMMON + ["maxSize"],
    "password": _COMMON + ["pattern", "min", "max", "cost"],
    "geoPoint": _COMMON,
    # tarmac's own type (issue #18): walked like PocketBase's
    "vector": _COMMON + ["dimensions"],
}

# Options other branches are making work: their checks come with them.
# At merge: write the check, move the entry into WALK, drop it from here
# (mfa and authAlert came with the mfa branch, viewQuery with the views
# branch, and are walked).
OTHER_BRANCHES = {}

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

_seq = [0]


def uniq(prefix):
    _seq[0] += 1
    return "ow_%s_%d" % (prefix, _seq[0])


def call(ctx, method, path, auth=None, body=None, raw=None, ctype=None):
    """A walk request; JSON answers get the universal checks (as fixtures do)."""
    if body is not None:
        return ctx.call(method, path, auth=auth, body=body)
    if raw is not None:
        return ctx.call(method, path, auth=auth, raw=raw, ctype=ctype, scenario=True)
    return ctx.call(method, path, auth=auth)


def expect(r, status, what=""):
    if r.status != status:
        raise Fail("%s: status %d, want %d (%s)" % (what or "request", r.status, status,
                                                   r.summary().replace("\n", " ")))
    return r.json


def coll(ctx, body, prefix="c"):
    body = dict(body)
    body.setdefault("name", uniq(prefix))
    return expect(call(ctx, "POST", "/api/collections", auth="su", body=body), 200,
                  "create collection %s" % body["name"])


def patch(ctx, c, body):
    return expect(call(ctx, "PATCH", "/api/collections/" + c["id"], auth="su", body=body), 200,
                  "update collection %s" % c["name"])


def data_at(r, path):
    found = get_path((r.json or {}).get("data", {}), path)
    return found[0] if found else None


def refused(ctx, body, path, code=None, base=None):
    """A create (or, with base, an update of it) that must answer 400 with an
    error at data.<path>."""
    if base is None:
        body = dict(body)
        body.setdefault("name", uniq("r"))
        r = call(ctx, "POST", "/api/collections", auth="su", body=body)
    else:
        r = call(ctx, "PATCH", "/api/collections/" + base["id"], auth="su", body=body)
    expect(r, 400, "refusal of %s" % path)
    e = data_at(r, path)
    want(isinstance(e, dict) and "code" in e,
         "400 does not name %s: %s" % (path, short(r.json.get("data"), 300)))
    if code:
        want(e["code"] == code, "data.%s.code %r, want %r" % (path, e["code"], code))


def rec(ctx, c, body, auth="su", status=200):
    return expect(call(ctx, "POST", "/api/collections/%s/records" % c["name"], auth=auth,
                       body=body), status, "create record in %s" % c["name"])


def rec_err(ctx, c, body, field, code=None, auth="su", rid=None):
    """A record create (update with rid) refused with data.<field>."""
    if rid:
        r = call(ctx, "PATCH", "/api/collections/%s/records/%s" % (c["name"], rid), auth=auth,
                 body=body)
    else:
        r = call(ctx, "POST", "/api/collections/%s/records" % c["name"], auth=auth, body=body)
    expect(r, 400, "record with bad %s" % field)
    e = data_at(r, field)
    want(isinstance(e, dict), "400 does not name %s: %s" % (field, short(r.json, 300)))
    if code:
        want(e.get("code") == code, "data.%s.code %r, want %r" % (field, e.get("code"), code))


def login(ctx, c, identity, password, status=200):
    r = call(ctx, "POST", "/api/collections/%s/auth-with-password" % c["name"],
             body={"identity": identity, "password": password})
    return expect(r, status, "login to %s" % c["name"])


def auth_coll(ctx, extra=None, prefix="a"):
    body = {"type": "auth", "listRule": "", "viewRule": "", "createRule": "", "updateRule": ""}
    body.update(extra or {})
    return coll(ctx, body, prefix)


def member(ctx, c, email=None, password="member12345", **fields):
    email = email or "%s@example.com" % uniq("m")
    body = {"email": email, "password": password, "passwordConfirm": password}
    body.update(fields)
    r = rec(ctx, c, body)
    return r, email, password


_MAIL_RE = re.compile(r'msg="mail not sent: no SMTP host" to=(\S+) subject="((?:[^"\\]|\\.)*)" '
                      r'html=\w+ text="((?:[^"\\]|\\.)*)"')


def _unescape(s):
    return re.sub(r'\\(x[0-9a-f]{2}|.)', lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(
        m.group(1), chr(int(m.group(1)[1:], 16)) if m.group(1).startswith("x")
        else m.group(1)), s)


def log_mark(ctx):
    return len(ctx.server.stderr_text())


def mail(ctx, to, since, timeout=10.0):
    """The first mail to `to` logged after offset since: (subject, text)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for m in _MAIL_RE.finditer(ctx.server.stderr_text()[since:]):
            if m.group(1) == to:
                return _unescape(m.group(2)), _unescape(m.group(3))
        time.sleep(0.05)
    raise Fail("no mail to %s in the log" % to)


def token_in(text, route):
    m = re.search(r"/_/#/auth/%s/([A-Za-z0-9._-]+)" % route, text)
    want(m, "no %s link in the mail: %s" % (route, text[:300]))
    return m.group(1)


def near(v, want_v, slack=15):
    return abs(v - want_v) <= slack


# --------------------------------------------------------------------------
# Collection options
# --------------------------------------------------------------------------

def c_id(ctx):
    cid = uniq("id").replace("_", "")[:15]
    c = coll(ctx, {"id": cid})
    want(c["id"] == cid, "id %r not kept" % c["id"])
    expect(call(ctx, "GET", "/api/collections/" + cid, auth="su"), 200, "by id")
    refused(ctx, {"id": "bad id!"}, "id")


def c_name(ctx):
    c = coll(ctx, {"listRule": ""})
    expect(call(ctx, "GET", "/api/collections/%s/records" % c["name"]), 200, "records by name")
    refused(ctx, {"name": "bad name"}, "name")


def c_type(ctx):
    a = auth_coll(ctx)
    b = coll(ctx, {})
    expect(call(ctx, "GET", "/api/collections/%s/auth-methods" % a["name"]), 200, "auth-methods")
    r = call(ctx, "GET", "/api/collections/%s/auth-methods" % b["name"])
    want(r.status in (400, 404), "a base collection has auth methods: %d" % r.status)
    refused(ctx, {"type": "nope"}, "type")
    refused(ctx, {"type": "base"}, "type", base=a)


def c_system(ctx):
    refused(ctx, {"system": True}, "system")
    refused(ctx, {"system": "yes"}, "system")
    users = expect(call(ctx, "GET", "/api/collections/users", auth="su"), 200)
    refused(ctx, {"system": True}, "system", code="validation_collection_system_flag_change",
            base=users)
    su = expect(call(ctx, "GET", "/api/collections/_superusers", auth="su"), 200)
    want(su["system"] is True, "_superusers not system")
    refused(ctx, {"name": "admins"}, "name", base=su)


def _rule_coll(ctx, rule_key, rule):
    body = {"listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
            "fields": [{"name": "v", "type": "text"}]}
    body[rule_key] = rule
    c = coll(ctx, body)
    a = rec(ctx, c, {"v": "a"})
    b = rec(ctx, c, {"v": "b"})
    return c, a, b


def c_rule(key):
    def check(ctx):
        c, a, b = _rule_coll(ctx, key, "v = 'a'")
        base = "/api/collections/%s/records" % c["name"]
        if key == "listRule":
            items = expect(call(ctx, "GET", base), 200)["items"]
            want([i["v"] for i in items] == ["a"], "list shows %s" % [i["v"] for i in items])
        elif key == "viewRule":
            expect(call(ctx, "GET", base + "/" + a["id"]), 200, "view allowed")
            expect(call(ctx, "GET", base + "/" + b["id"]), 404, "view refused")
        elif key == "createRule":
            expect(call(ctx, "POST", base, body={"v": "a"}), 200, "create allowed")
            expect(call(ctx, "POST", base, body={"v": "b"}), 400, "create refused")
        elif key == "updateRule":
            expect(call(ctx, "PATCH", base + "/" + a["id"], body={"v": "a"}), 200, "update allowed")
            expect(call(ctx, "PATCH", base + "/" + b["id"], body={"v": "b2"}), 404, "update refused")
        else:
            expect(call(ctx, "DELETE", base + "/" + a["id"]), 204, "delete allowed")
            expect(call(ctx, "DELETE", base + "/" + b["id"]), 404, "delete refused")
        refused(ctx, {key: "v ==== 1"}, key, code="validation_invalid_rule")
    return check


def c_fields(ctx):
    c = coll(ctx, {"listRule": "", "fields": [{"name": "v", "type": "text"}]})
    r = rec(ctx, c, {"v": "x"})
    want(set(r) == {"id", "collectionId", "collectionName", "v"}, "record keys %s" % sorted(r))
    refused(ctx, {"fields": "v"}, "fields")


def c_indexes(ctx):
    name = uniq("ix")
    c = coll(ctx, {"name": name, "fields": [{"name": "v", "type": "text"}],
                   "indexes": ["CREATE UNIQUE INDEX idx_%s ON %s (v)" % (name, name)]})
    rec(ctx, c, {"v": "same"})
    rec_err(ctx, c, {"v": "same"}, "v", "validation_not_unique")
    refused(ctx, {"indexes": ["not an index"]}, "indexes.0")


def c_view_query(ctx):
    """A view's records are its query's rows, its fields its query's columns;
    a query that is not one read-only SELECT is refused at viewQuery (each
    engine's own compiler judges it)."""
    src = coll(ctx, {"listRule": "", "createRule": "", "fields": [{"name": "v", "type": "text"}]},
               "vsrc")
    rec(ctx, src, {"v": "one"})
    rec(ctx, src, {"v": "two"})
    q = "SELECT id, v, length(v) AS n FROM %s WHERE v != 'two'" % src["name"]
    v = coll(ctx, {"type": "view", "listRule": "", "viewQuery": q}, "view")
    want([(f["name"], f["type"]) for f in v["fields"]] == [("id", "text"), ("v", "text"),
                                                          ("n", "json")],
         "view fields %s" % short(v["fields"], 300))
    items = expect(call(ctx, "GET", "/api/collections/%s/records" % v["name"]), 200,
                   "list the view")["items"]
    want([(x["v"], x["n"]) for x in items] == [("one", 3)], "view rows %s" % short(items, 300))
    v = patch(ctx, v, {"viewQuery": "SELECT id FROM %s" % src["name"]})
    want([f["name"] for f in v["fields"]] == ["id"], "fields after a new query %s" % v["fields"])
    rows = expect(call(ctx, "GET", "/api/collections/%s/records" % v["name"]), 200,
                  "list the view again")["items"]
    want(len(rows) == 2 and set(rows[0]) == {"id", "collectionId", "collectionName"},
         "rows after a new query %s" % short(rows, 300))
    for bad in ("SELECT id FROM %s; DELETE FROM %s" % (src["name"], src["name"]),
                "DELETE FROM %s" % src["name"], "SELECT v FROM %s" % src["name"], ""):
        refused(ctx, {"type": "view", "viewQuery": bad}, "viewQuery")
    want(len(expect(call(ctx, "GET", "/api/collections/%s/records" % src["name"]), 200,
                    "source")["items"]) == 2, "a refused query ran")


def _found(ctx, c, text):
    url = "/api/collections/%s/records?search=%s" % (c["name"], urllib.parse.quote(text))
    return expect(call(ctx, "GET", url), 200, "search %r" % text)["totalItems"]


def c_search_fields(ctx):
    """Only the fields named are searched (tarmac's own option)."""
    c = coll(ctx, {"listRule": "", "fields": [{"name": "a", "type": "text"},
                                              {"name": "b", "type": "text"}],
                   "search": {"fields": [{"name": "a", "weight": 2}]}}, "srch")
    rec(ctx, c, {"a": "walrus", "b": "narwhal"})
    want(_found(ctx, c, "walrus") == 1 and _found(ctx, c, "narwhal") == 0,
         "search.fields: only a is searched")
    patch(ctx, c, {"search": {"fields": [{"name": "b"}]}})
    want(_found(ctx, c, "walrus") == 0 and _found(ctx, c, "narwhal") == 1,
         "search.fields changed: only b is searched")
    refused(ctx, {"fields": [{"name": "a", "type": "text"}],
                  "search": {"fields": [{"name": "nosuch"}]}}, "search.fields.0.name")
    refused(ctx, {"fields": [{"name": "a", "type": "text"}],
                  "search": {"fields": [{"name": "a", "weight": -1}]}}, "search.fields.0.weight")


def c_search_language(ctx):
    """english stems; simple takes words as written."""
    c = coll(ctx, {"listRule": "", "fields": [{"name": "a", "type": "text"}],
                   "search": {"fields": [{"name": "a"}], "language": "english"}}, "srch")
    rec(ctx, c, {"a": "she runs"})
    want(_found(ctx, c, "running ") == 1, "english: running finds runs")
    patch(ctx, c, {"search": {"fields": [{"name": "a"}], "language": "simple"}})
    want(_found(ctx, c, "running ") == 0, "simple: running does not find runs")
    refused(ctx, {"fields": [{"name": "a", "type": "text"}],
                  "search": {"fields": [{"name": "a"}], "language": "klingon"}},
            "search.language")


def _embed_jobs(ctx, c):
    """The ids of the records of c that have an `embed` job."""
    r = expect(call(ctx, "GET", "/api/jobs?perPage=500&filter=" + urllib.parse.quote(
        "kind = 'embed'"), auth="su"), 200, "jobs")
    return {j["payload"].get("record") for j in r["items"]
            if j["payload"].get("collection") == c["id"]}


_EMB_FIELDS = [{"name": "a", "type": "text"}, {"name": "b", "type": "text"},
               {"name": "v", "type": "vector", "dimensions": 2}]


def c_embedding_field(ctx):
    """The vector the jobs fill: a vector field of the collection."""
    c = coll(ctx, {"fields": _EMB_FIELDS, "embedding": {"field": "v", "source": ["a"]}}, "emb")
    want(c["embedding"]["field"] == "v", "embedding.field not kept: %r" % c.get("embedding"))
    r = rec(ctx, c, {"a": "text"})
    want(r["id"] in _embed_jobs(ctx, c), "a create with text enqueued no embed job")
    refused(ctx, {"fields": _EMB_FIELDS, "embedding": {"field": "a", "source": ["b"]}},
            "embedding.field")
    refused(ctx, {"fields": _EMB_FIELDS, "embedding": {"source": ["b"]}}, "embedding.field")
    refused(ctx, {"fields": _EMB_FIELDS, "embedding": {"field": 5, "source": ["b"]}},
            "embedding.field")
    # a view has no records of its own to embed
    src = coll(ctx, {"fields": _EMB_FIELDS}, "embsrc")
    refused(ctx, {"type": "view", "viewQuery": "SELECT id, a, v FROM %s" % src["name"],
                  "embedding": {"field": "v", "source": ["a"]}}, "embedding")


def c_embedding_source(ctx):
    """Only a change of the source fields enqueues a job."""
    c = coll(ctx, {"fields": _EMB_FIELDS, "embedding": {"field": "v", "source": ["a"]}}, "emb")
    r1 = rec(ctx, c, {"b": "not a source"})
    r2 = rec(ctx, c, {"a": "a source"})
    jobs = _embed_jobs(ctx, c)
    want(r2["id"] in jobs and r1["id"] not in jobs,
         "embedding.source: jobs for %s, want only %s" % (jobs, r2["id"]))
    refused(ctx, {"fields": _EMB_FIELDS, "embedding": {"field": "v", "source": ["v"]}},
            "embedding.source.0")
    refused(ctx, {"fields": _EMB_FIELDS, "embedding": {"field": "v", "source": []}},
            "embedding.source")
    # bad input: not a list, a name that is no string, more than 8 names
    refused(ctx, {"fields": _EMB_FIELDS, "embedding": {"field": "v", "source": "a"}},
            "embedding.source")
    refused(ctx, {"fields": _EMB_FIELDS, "embedding": {"field": "v", "source": ["a", 7]}},
            "embedding.source.1")
    refused(ctx, {"fields": _EMB_FIELDS, "embedding": {"field": "v", "source": ["a"] * 9}},
            "embedding.source")


def c_embedding_provider(ctx):
    """openai (the settings' endpoint) is the one provider; others are refused."""
    c = coll(ctx, {"fields": _EMB_FIELDS,
                   "embedding": {"field": "v", "source": ["a"], "provider": "openai"}}, "emb")
    want(c["embedding"]["provider"] == "openai", "provider not kept")
    refused(ctx, {"fields": _EMB_FIELDS,
                  "embedding": {"field": "v", "source": ["a"], "provider": "acme"}},
            "embedding.provider", code="validation_in_invalid")


def c_auth_rule(ctx):
    c = auth_coll(ctx, {"authRule": "verified = true"})
    _, email, pw = member(ctx, c)
    r = call(ctx, "POST", "/api/collections/%s/auth-with-password" % c["name"],
             body={"identity": email, "password": pw})
    expect(r, 403, "authRule refuses")
    want(r.json["message"] == "The request doesn't satisfy the collection requirements to "
         "authenticate.", "message %r" % r.json["message"])
    _, email2, _ = member(ctx, c, verified=True)
    login(ctx, c, email2, pw)
    refused(ctx, {"type": "auth", "authRule": "nope ==="}, "authRule",
            code="validation_invalid_rule")


def c_manage_rule(ctx):
    c = auth_coll(ctx, {"updateRule": "@request.auth.id != ''"})
    a, ea, pw = member(ctx, c)
    b, _, _ = member(ctx, c)
    tok = login(ctx, c, ea, pw)["token"]
    path = "/api/collections/%s/records/%s" % (c["name"], b["id"])
    r = call(ctx, "PATCH", path, auth=lambda _: tok, body={"verified": True})
    expect(r, 400, "no manageRule: verified is the managers'")
    want(data_at(r, "verified"), "data.verified missing")
    patch(ctx, c, {"manageRule": "@request.auth.id != ''"})
    tok = login(ctx, c, ea, pw)["token"]
    expect(call(ctx, "PATCH", path, auth=lambda _: tok, body={"verified": True}), 200, "manager")
    refused(ctx, {"type": "auth", "manageRule": ""}, "manageRule",
            code="validation_nil_or_not_empty_required")
    refused(ctx, {"type": "auth", "manageRule": "x ==="}, "manageRule",
            code="validation_invalid_rule")


def c_password_enabled(ctx):
    c = auth_coll(ctx, {"passwordAuth": {"enabled": False, "identityFields": []}})
    _, email, pw = member(ctx, c)
    r = call(ctx, "POST", "/api/collections/%s/auth-with-password" % c["name"],
             body={"identity": email, "password": pw})
    expect(r, 403, "password auth off")
    patch(ctx, c, {"passwordAuth": {"enabled": True, "identityFields": ["email"]}})
    login(ctx, c, email, pw)
    refused(ctx, {"type": "auth", "passwordAuth": {"enabled": "yes"}}, "passwordAuth.enabled")


def c_identity_fields(ctx):
    name = uniq("idf")
    c = auth_coll(ctx, {"name": name, "fields": [{"name": "nick", "type": "text"}],
                        "indexes": ["CREATE UNIQUE INDEX idx_%s ON %s (nick)" % (name, name)],
                        "passwordAuth": {"enabled": True, "identityFields": ["nick"]}})
    _, email, pw = member(ctx, c, nick="nicky")
    login(ctx, c, "nicky", pw)
    login(ctx, c, email, pw, status=400)  # email is no identity field now
    refused(ctx, {"type": "auth", "fields": [{"name": "nick", "type": "text"}],
                  "passwordAuth": {"identityFields": ["nick"]}}, "passwordAuth.identityFields",
            code="validation_missing_unique_constraint")
    refused(ctx, {"type": "auth", "passwordAuth": {"enabled": True, "identityFields": []}},
            "passwordAuth.identityFields", code="validation_required")


def _otp(ctx, c, email):
    mark = log_mark(ctx)
    r = expect(call(ctx, "POST", "/api/collections/%s/request-otp" % c["name"],
                    body={"email": email}), 200, "request-otp")
    subject, text = mail(ctx, email, mark)
    m = re.search(r"one-time password is: (\d+)", text) or re.search(r"CODE=(\d+)", text)
    want(m, "no code in the mail: %r" % text[:200])
    return r["otpId"], m.group(1), subject


def c_otp_enabled(ctx):
    c = auth_coll(ctx)
    _, email, _ = member(ctx, c)
    expect(call(ctx, "POST", "/api/collections/%s/request-otp" % c["name"],
                body={"email": email}), 403, "otp off")
    patch(ctx, c, {"otp": {"enabled": True}})
    otp_id, code, _ = _otp(ctx, c, email)
    expect(call(ctx, "POST", "/api/collections/%s/auth-with-otp" % c["name"],
                body={"otpId": otp_id, "password": code}), 200, "otp login")
    refused(ctx, {"type": "auth", "otp": {"enabled": 1}}, "otp.enabled")


def c_otp_duration(ctx):
    c = auth_coll(ctx, {"otp": {"enabled": True, "duration": 10}})
    _, email, _ = member(ctx, c)
    otp_id, code, _ = _otp(ctx, c, email)
    ctx.vars["walk_otp"] = (c, otp_id, code, time.time())
    refused(ctx, {"type": "auth", "otp": {"duration": 5}}, "otp.duration")
    refused(ctx, {"type": "auth", "otp": {"duration": 86401}}, "otp.duration")


def c_otp_duration_expired(ctx):
    c, otp_id, code, at = ctx.vars["walk_otp"]
    left = at + 11 - time.time()
    if left > 0:
        time.sleep(left)
    r = call(ctx, "POST", "/api/collections/%s/auth-with-otp" % c["name"],
             body={"otpId": otp_id, "password": code})
    expect(r, 400, "an OTP past otp.duration")
    want(r.json["message"] == "Invalid or expired OTP.", "message %r" % r.json["message"])


def c_otp_length(ctx):
    c = auth_coll(ctx, {"otp": {"enabled": True, "length": 5}})
    _, email, _ = member(ctx, c)
    _, code, _ = _otp(ctx, c, email)
    want(len(code) == 5, "code %r is not 5 digits" % code)
    refused(ctx, {"type": "auth", "otp": {"length": 3}}, "otp.length")


def c_otp_template(ctx):
    c = auth_coll(ctx, {"otp": {"enabled": True, "emailTemplate": {
        "subject": "Code for {RECORD:nick}", "body": "<p>CODE={OTP} id={OTP_ID}</p>"}},
        "fields": [{"name": "nick", "type": "text"}]})
    _, email, _ = member(ctx, c, nick="Zed")
    otp_id, code, subject = _otp(ctx, c, email)
    want(subject == "Code for Zed", "subject %r" % subject)
    refused(ctx, {"type": "auth", "otp": {"emailTemplate": {"subject": ""}}},
            "otp.emailTemplate.subject")


_GOOGLE = {"name": "google", "clientId": "cid-walk", "clientSecret": "secret-walk"}


def _oauth2_methods(ctx, c):
    r = call(ctx, "GET", "/api/collections/%s/auth-methods" % c["name"])
    expect(r, 200, "auth-methods")
    return r.json["oauth2"]


def c_oauth2_enabled(ctx):
    """The providers show in auth-methods only while oauth2 is enabled (the
    code flow itself: tests/e2e/oauth2.test.mjs, oidc.test.mjs)."""
    c = auth_coll(ctx, {"oauth2": {"enabled": True, "providers": [_GOOGLE]}})
    m = _oauth2_methods(ctx, c)
    want(m["enabled"] and [p["name"] for p in m["providers"]] == ["google"],
         "enabled: %s" % short(m, 200))
    r = call(ctx, "PATCH", "/api/collections/" + c["id"], auth="su",
             body={"oauth2": {"enabled": False}})
    expect(r, 200, "disable oauth2")
    m = _oauth2_methods(ctx, c)
    want(not m["enabled"] and not m["providers"], "disabled: %s" % short(m, 200))
    refused(ctx, {"type": "auth", "oauth2": {"enabled": "yes"}}, "oauth2.enabled")


def c_oauth2_providers(ctx):
    """A provider's client id goes into its authURL; its secret is never shown."""
    c = auth_coll(ctx, {"oauth2": {"enabled": True, "providers": [_GOOGLE]}})
    m = _oauth2_methods(ctx, c)
    want("client_id=cid-walk" in m["providers"][0]["authURL"], "authURL: %s" % short(m, 300))
    r = call(ctx, "GET", "/api/collections/" + c["id"], auth="su")
    want(b"secret-walk" not in r.body, "the client secret is answered")
    refused(ctx, {"type": "auth", "oauth2": {"enabled": True, "providers": [
        {"name": "nope", "clientId": "a", "clientSecret": "b"}]}}, "oauth2.providers.0.name")


def c_oauth2_mapped(ctx):
    """mappedFields name fields of the collection (the mapping in use:
    tests/e2e/oauth2.test.mjs); a missing one is refused."""
    c = auth_coll(ctx, {"oauth2": {"enabled": True, "providers": [_GOOGLE],
                                   "mappedFields": {"name": "nick"}},
                        "fields": [{"name": "nick", "type": "text"}]})
    r = call(ctx, "GET", "/api/collections/" + c["id"], auth="su")
    want(r.json["oauth2"]["mappedFields"]["name"] == "nick", "kept: %s" % short(r.json, 200))
    refused(ctx, {"type": "auth", "oauth2": {"enabled": True, "mappedFields": {"name": "nosuch"}}},
            "oauth2.mappedFields.name")


def _token_exp(tok):
    return jwt_payload(tok)["exp"]


def c_auth_token(key):
    def check(ctx):
        c = auth_coll(ctx, {"authToken": {"duration": 1000}})
        _, email, pw = member(ctx, c)
        if key == "duration":
            tok = login(ctx, c, email, pw)["token"]
            want(near(_token_exp(tok), time.time() + 1000), "exp %d" % _token_exp(tok))
            refused(ctx, {"type": "auth", "authToken": {"duration": 5}}, "authToken.duration")
        else:
            tok = login(ctx, c, email, pw)["token"]
            path = "/api/collections/%s/auth-refresh" % c["name"]
            expect(call(ctx, "POST", path, auth=lambda _: tok, body={}), 200, "refresh")
            patch(ctx, c, {"authToken": {"secret": "s" * 40}})
            expect(call(ctx, "POST", path, auth=lambda _: tok, body={}), 401, "old secret")
            refused(ctx, {"type": "auth", "authToken": {"secret": "short"}}, "authToken.secret")
    return check


def _mailed_token(ctx, c, kind, email, pw):
    """Asks for a token mail of kind; (token, the confirm call's path, body maker)."""
    mark = log_mark(ctx)
    if kind == "passwordResetToken":
        expect(call(ctx, "POST", "/api/collections/%s/request-password-reset" % c["name"],
                    body={"email": email}), 204)
        tok = token_in(mail(ctx, email, mark)[1], "confirm-password-reset")
        return tok, "confirm-password-reset", lambda t: {"token": t, "password": "newpass1234",
                                                         "passwordConfirm": "newpass1234"}
    if kind == "verificationToken":
        expect(call(ctx, "POST", "/api/collections/%s/request-verification" % c["name"],
                    body={"email": email}), 204)
        tok = token_in(mail(ctx, email, mark)[1], "confirm-verification")
        return tok, "confirm-verification", lambda t: {"token": t}
    new = "%s@example.com" % uniq("new")
    auth = login(ctx, c, email, pw)["token"]
    expect(call(ctx, "POST", "/api/collections/%s/request-email-change" % c["name"],
                auth=lambda _: auth, body={"newEmail": new}), 204)
    tok = token_in(mail(ctx, new, mark)[1], "confirm-email-change")
    return tok, "confirm-email-change", lambda t: {"token": t, "password": pw}


def c_mail_token(kind, key):
    def check(ctx):
        c = auth_coll(ctx, {kind: {"duration": 700}})
        _, email, pw = member(ctx, c)
        tok, route, body = _mailed_token(ctx, c, kind, email, pw)
        if key == "duration":
            want(near(_token_exp(tok), time.time() + 700), "exp %d" % _token_exp(tok))
            refused(ctx, {"type": "auth", kind: {"duration": 9}}, kind + ".duration")
        else:
            patch(ctx, c, {kind: {"secret": "k" * 40}})
            r = call(ctx, "POST", "/api/collections/%s/%s" % (c["name"], route), body=body(tok))
            expect(r, 400, "a token of the old secret")
            want(data_at(r, "token"), "data.token missing")
            tok, route, body = _mailed_token(ctx, c, kind, email, pw)
            expect(call(ctx, "POST", "/api/collections/%s/%s" % (c["name"], route),
                        body=body(tok)), 204, "a token of the new secret")
            refused(ctx, {"type": "auth", kind: {"secret": "k" * 300}}, kind + ".secret")
    return check


def _file_coll(ctx):
    c = auth_coll(ctx, {"fileToken": {"duration": 600}, "viewRule": "@request.auth.id != ''",
                        "fields": [{"name": "doc", "type": "file", "maxSelect": 1,
                                    "protected": True}]})
    email = "%s@example.com" % uniq("f")
    r = call(ctx, "POST", "/api/collections/%s/records" % c["name"], auth="su",
             raw=multipart([("email", email), ("password", "filepass123"),
                            ("passwordConfirm", "filepass123"), ("doc", "d.txt", TEXT)]), ctype=MP)
    expect(r, 200, "record with a protected file")
    return c, r.json, email


def c_file_token(key):
    def check(ctx):
        c, r, email = _file_coll(ctx)
        auth = login(ctx, c, email, "filepass123")["token"]
        ft = expect(call(ctx, "POST", "/api/files/token", auth=lambda _: auth, body={}), 200)["token"]
        url = "/api/files/%s/%s/%s?token=%s" % (c["id"], r["id"], r["doc"], ft)
        if key == "duration":
            want(near(_token_exp(ft), time.time() + 600), "exp %d" % _token_exp(ft))
            refused(ctx, {"type": "auth", "fileToken": {"duration": 1}}, "fileToken.duration")
        else:
            expect(call(ctx, "GET", url, raw=b""), 200, "file with its token")
            patch(ctx, c, {"fileToken": {"secret": "f" * 40}})
            r2 = call(ctx, "GET", url, raw=b"")
            want(r2.status != 200, "the old file token still opens the file")
            refused(ctx, {"type": "auth", "fileToken": {"secret": 5}}, "fileToken.secret")
    return check


def c_template(key, kind):
    def check(ctx):
        page = {"verificationToken": "confirm-verification",
                "passwordResetToken": "confirm-password-reset",
                "emailChangeToken": "confirm-email-change"}[kind]
        c = auth_coll(ctx, {key: {"subject": "T {APP_NAME} {RECORD:nick}",
                                  "body": "<p>L {APP_URL}/_/#/auth/%s/{TOKEN}</p>" % page},
                            "fields": [{"name": "nick", "type": "text"}]})
        _, email, pw = member(ctx, c, nick="Kit")
        mark = log_mark(ctx)
        tok, route, body = _mailed_token(ctx, c, kind, email, pw)
        subjects = [m.group(2) for m in _MAIL_RE.finditer(ctx.server.stderr_text()[mark:])]
        want(any(s.startswith("T ") and s.endswith(" Kit") for s in subjects),
             "the template's subject is not used: %s" % subjects)
        expect(call(ctx, "POST", "/api/collections/%s/%s" % (c["name"], route), body=body(tok)),
               204, "the templated link's token")
        refused(ctx, {"type": "auth", key: {"subject": "a\nb"}}, key + ".subject")
        refused(ctx, {"type": "auth", key: {"body": ""}}, key + ".body")
    return check


# -- mfa and authAlert (the mfa branch's) -------------------------------------

def sign_in(ctx, c, email, pw, agent="walk/1", mfa_id=None):
    """A password sign-in from a user agent: the raw answer (a 401 {mfaId}
    is not the error shape, so no universal checks here)."""
    body = {"identity": email, "password": pw}
    if mfa_id:
        body["mfaId"] = mfa_id
    return ctx.call("POST", "/api/collections/%s/auth-with-password" % c["name"], body=body,
                    headers={"User-Agent": agent}, scenario=True)


def _mfa_coll(ctx, **mfa):
    opts = {"enabled": True}
    opts.update(mfa)
    return auth_coll(ctx, {"otp": {"enabled": True}, "mfa": opts,
                           "fields": [{"name": "nick", "type": "text"}]})


def _otp_with(ctx, c, email, mfa_id):
    otp_id, code, _ = _otp(ctx, c, email)
    return ctx.call("POST", "/api/collections/%s/auth-with-otp" % c["name"],
                    body={"otpId": otp_id, "password": code, "mfaId": mfa_id}, scenario=True)


def c_mfa_enabled(ctx):
    c = _mfa_coll(ctx)
    _, email, pw = member(ctx, c)
    r = sign_in(ctx, c, email, pw)
    want(r.status == 401 and list(r.json or {}) == ["mfaId"], "no MFA step: %s" % r.summary())
    expect(_otp_with(ctx, c, email, r.json["mfaId"]), 200, "the second factor")
    patch(ctx, c, {"mfa": {"enabled": False}})
    expect(sign_in(ctx, c, email, pw), 200, "MFA off")
    refused(ctx, {"type": "auth", "mfa": {"enabled": "yes"}}, "mfa.enabled")
    refused(ctx, {"type": "auth", "mfa": {"enabled": True}}, "mfa.enabled",
            code="validation_mfa_not_enough_auths")


def c_mfa_duration(ctx):
    c = _mfa_coll(ctx, duration=10)
    _, email, pw = member(ctx, c)
    r = sign_in(ctx, c, email, pw)
    want(r.status == 401, "no MFA step: %s" % r.summary())
    ctx.vars["walk_mfa"] = (c, email, r.json["mfaId"], time.time())
    refused(ctx, {"type": "auth", "otp": {"enabled": True}, "mfa": {"enabled": True,
                                                                    "duration": 5}},
            "mfa.duration")


def c_mfa_duration_expired(ctx):
    c, email, mfa_id, at = ctx.vars["walk_mfa"]
    left = at + 11 - time.time()
    if left > 0:
        time.sleep(left)
    r = _otp_with(ctx, c, email, mfa_id)
    expect(r, 400, "an MFA session past mfa.duration")
    universal_checks(r)


def c_mfa_rule(ctx):
    c = _mfa_coll(ctx, rule="nick = 'strict'")
    _, e1, pw = member(ctx, c, nick="strict")
    _, e2, _ = member(ctx, c, nick="relaxed")
    want(sign_in(ctx, c, e1, pw).status == 401, "the rule's record gets no MFA step")
    expect(sign_in(ctx, c, e2, pw), 200, "a record outside the rule")
    refused(ctx, {"type": "auth", "otp": {"enabled": True},
                  "mfa": {"enabled": True, "rule": "nope ==="}}, "mfa.rule",
            code="validation_invalid_rule")


def _alerts(ctx, to, since):
    return [m for m in _MAIL_RE.finditer(ctx.server.stderr_text()[since:]) if m.group(1) == to]


def c_alert_enabled(ctx):
    c = auth_coll(ctx)
    _, email, pw = member(ctx, c)
    mark = log_mark(ctx)
    expect(sign_in(ctx, c, email, pw, "walk/first"), 200)   # the first origin: no alert
    expect(sign_in(ctx, c, email, pw, "walk/second"), 200)  # a new one: alert
    mail(ctx, email, mark)
    patch(ctx, c, {"authAlert": {"enabled": False}})
    mark = log_mark(ctx)
    expect(sign_in(ctx, c, email, pw, "walk/third"), 200)
    # A mail that is coming is logged within moments: give it a few.
    time.sleep(1.5)
    want(not _alerts(ctx, email, mark), "an alert with authAlert off")
    refused(ctx, {"type": "auth", "authAlert": {"enabled": 1}}, "authAlert.enabled")


def c_alert_template(ctx):
    c = auth_coll(ctx, {"authAlert": {"emailTemplate": {
        "subject": "Alert for {RECORD:nick}", "body": "<p>{ALERT_INFO}</p>"}},
        "fields": [{"name": "nick", "type": "text"}]})
    _, email, pw = member(ctx, c, nick="Al")
    expect(sign_in(ctx, c, email, pw, "walk/a"), 200)
    mark = log_mark(ctx)
    expect(sign_in(ctx, c, email, pw, "walk/b"), 200)
    subject, text = mail(ctx, email, mark)
    want(subject == "Alert for Al", "subject %r" % subject)
    want("walk/b" in text, "no ALERT_INFO in %r" % text)
    refused(ctx, {"type": "auth", "authAlert": {"emailTemplate": {"subject": ""}}},
            "authAlert.emailTemplate.subject", code="validation_required")


# --------------------------------------------------------------------------
# Field options
# --------------------------------------------------------------------------

# A value of each type, and the empty one `required` refuses.
SAMPLE = {
    "text": ("hello", ""), "number": (5, 0), "bool": (True, False),
    "email": ("a@b.example", ""), "url": ("https://x.example", ""),
    "editor": ("<p>x</p>", ""), "date": ("2024-01-02 03:04:05.000Z", ""),
    "select": ("a", ""), "json": ({"k": 1}, None), "relation": (None, ""),
    "password": ("secret1234", ""), "file": (None, None), "geoPoint": ({"lon": 1, "lat": 2},
                                                                         {"lon": 0, "lat": 0}),
    "autodate": (None, None), "vector": ([0.5, 1, -2], None),
}


def field_def(ctx, t, **opts):
    f = {"name": "f", "type": t}
    if t == "select":
        f["values"] = ["a", "b"]
    if t == "relation":
        f["collectionId"] = _target(ctx)["id"]
    if t == "autodate":
        f["onCreate"] = True
    if t == "vector":
        f["dimensions"] = 3
    f.update(opts)
    return f


def _target(ctx):
    if "walk_target" not in ctx.vars:
        t = coll(ctx, {"listRule": "", "viewRule": "", "fields": [{"name": "v", "type": "text"}]},
                 "target")
        ctx.vars["walk_target"] = (t, [rec(ctx, t, {"v": str(i)})["id"] for i in range(3)])
    return ctx.vars["walk_target"][0]


def sample(ctx, t):
    if t == "relation":
        _target(ctx)
        return ctx.vars["walk_target"][1][0]
    return SAMPLE[t][0]


def fcoll(ctx, t, rules=True, **opts):
    body = {"fields": [field_def(ctx, t, **opts)]}
    if rules:
        body.update({"listRule": "", "viewRule": "", "createRule": "", "updateRule": "",
                     "deleteRule": ""})
    return coll(ctx, body, "f" + t.lower())


def put(ctx, c, t, value=None, rid=None, status=200, auth="su", extra=None):
    """Creates (or updates) a record with field f set to value (a file for file fields)."""
    path = "/api/collections/%s/records" % c["name"] + ("/" + rid if rid else "")
    method = "PATCH" if rid else "POST"
    if t == "file":
        parts = [("f", "f.txt", TEXT)] if value is None else value
        for k, v in (extra or {}).items():
            parts.append((k, v))
        r = call(ctx, method, path, auth=auth, raw=multipart(parts), ctype=MP)
        if r.json is not None and r.status >= 400:
            universal_checks(r)
    else:
        body = {} if t == "autodate" else {"f": sample(ctx, t) if value is None else value}
        body.update(extra or {})
        r = call(ctx, method, path, auth=auth, body=body)
    return expect(r, status, "record of %s" % t)


def exported_field(ctx, c, name="f"):
    cc = expect(call(ctx, "GET", "/api/collections/" + c["id"], auth="su"), 200)
    for f in cc["fields"]:
        if f["name"] == name:
            return f
    raise Fail("no field %s in %s" % (name, c["name"]))


def f_name(t):
    def check(ctx):
        c = fcoll(ctx, t)
        r = put(ctx, c, t)
        if t == "password":
            want("f" not in r, "a password field is answered")
            rec_err(ctx, c, {"f": "x" * 80}, "f")  # the name carries the field's checks
        else:
            want("f" in r, "no key f in %s" % short(r))
        refused(ctx, {"fields": [field_def(ctx, t, name="bad name")]}, "fields.1.name")
    return check


def f_id(t):
    def check(ctx):
        fid = "owid%s%d" % (t.lower(), _seq[0])
        c = fcoll(ctx, t, id=fid)
        want(exported_field(ctx, c)["id"] == fid, "field id not kept")
        r = put(ctx, c, t)
        # The id names the field across a change: renaming keeps the values.
        renamed = dict(field_def(ctx, t, id=fid, name="g"))
        patch(ctx, c, {"fields": [renamed]})
        got = expect(call(ctx, "GET", "/api/collections/%s/records/%s" % (c["name"], r["id"]),
                          auth="su"), 200)
        if t != "password":
            want("g" in got and "f" not in got, "rename by id lost the field: %s" % short(got))
            want(json.dumps(got["g"]) == json.dumps(r["f"]) or t == "autodate",
                 "values not kept: %r -> %r" % (r["f"], got["g"]))
        refused(ctx, {"fields": [field_def(ctx, t, id="dup1"), field_def(ctx, t, id="dup1",
                                                                         name="g")]},
                "fields.2.id", code="validation_duplicated_field_id")
    return check


def f_system(t):
    def check(ctx):
        c = fcoll(ctx, t, system=True)
        fid = exported_field(ctx, c)["id"]
        want(exported_field(ctx, c)["system"] is True, "system not kept")
        refused(ctx, {"fields": [field_def(ctx, t, id=fid, name="g", system=True)]}, "fields",
                code="validation_system_field_change", base=c)
        # Left out of a change, it stays.
        patch(ctx, c, {"fields": [{"name": "other", "type": "text"}]})
        exported_field(ctx, c)
    return check


def f_hidden(t):
    def check(ctx):
        c = fcoll(ctx, t, hidden=True)
        r = put(ctx, c, t)
        got = expect(call(ctx, "GET", "/api/collections/%s/records/%s" % (c["name"], r["id"])),
                     200)
        want("f" not in got, "a hidden field is shown to a guest")
        if t != "password":
            su = expect(call(ctx, "GET", "/api/collections/%s/records/%s" % (c["name"], r["id"]),
                             auth="su"), 200)
            want("f" in su, "a hidden field is not shown to a superuser")
        refused(ctx, {"fields": [field_def(ctx, t, hidden="yes")]}, "fields.1.hidden")
    return check


def f_hint(t, key, value):
    """A UI hint: the server keeps and answers it (that is all it does)."""
    def check(ctx):
        c = fcoll(ctx, t, **{key: value})
        got = exported_field(ctx, c).get(key)
        want(got == value, "%s not kept: %r" % (key, got))
        if key == "help":
            refused(ctx, {"fields": [field_def(ctx, t, help="h" * 301)]}, "fields.1.help",
                    code="validation_length_out_of_range")
        else:
            refused(ctx, {"fields": [field_def(ctx, t, **{key: "yes"})]}, "fields.1." + key)
    return check


def f_required(t):
    def check(ctx):
        c = fcoll(ctx, t, required=True)
        if t == "file":
            rec_err(ctx, c, {}, "f", "validation_required")
        elif t in ("relation",):
            rec_err(ctx, c, {"f": ""}, "f", "validation_required")
        else:
            rec_err(ctx, c, {"f": SAMPLE[t][1]}, "f", "validation_required")
        put(ctx, c, t)
        refused(ctx, {"fields": [field_def(ctx, t, required="yes")]}, "fields.1.required")
    return check


def t_vector_dimensions(ctx):
    """The length every value must have, 1..4096; the values it takes come
    back as float32."""
    c = fcoll(ctx, "vector", dimensions=2)
    rec_err(ctx, c, {"f": [1, 2, 3]}, "f", "validation_invalid_vector")
    r = put(ctx, c, "vector", value=[0.1, 2])
    want(r["f"] == [0.1, 2], "vector not kept: %r" % r["f"])
    for bad in (0, 4097, 1.5, "3"):
        refused(ctx, {"fields": [field_def(ctx, "vector", dimensions=bad)]},
                "fields.1.dimensions")
    refused(ctx, {"fields": [{"name": "f", "type": "vector"}]}, "fields.1.dimensions",
            code="validation_invalid_dimensions")


def t_text(key):
    def check(ctx):
        if key == "min":
            c = fcoll(ctx, "text", min=3)
            rec_err(ctx, c, {"f": "ab"}, "f", "validation_min_text_constraint")
            refused(ctx, {"fields": [field_def(ctx, "text", min=1.5)]}, "fields.1.min")
        elif key == "max":
            c = fcoll(ctx, "text", max=3)
            rec_err(ctx, c, {"f": "abcd"}, "f", "validation_max_text_constraint")
            refused(ctx, {"fields": [field_def(ctx, "text", max="3")]}, "fields.1.max")
        elif key == "pattern":
            c = fcoll(ctx, "text", pattern="^[a-z]+$")
            rec_err(ctx, c, {"f": "ABC"}, "f", "validation_invalid_format")
            refused(ctx, {"fields": [field_def(ctx, "text", pattern="(")]}, "fields.1.pattern")
        elif key == "autogeneratePattern":
            c = fcoll(ctx, "text", autogeneratePattern="[a-z]{7}")
            r = rec(ctx, c, {})
            want(re.match(r"^[a-z]{7}$", r["f"]), "not generated: %r" % r["f"])
            refused(ctx, {"fields": [field_def(ctx, "text", autogeneratePattern="(")]},
                    "fields.1.autogeneratePattern")
        else:  # primaryKey: only the id field is the key
            refused(ctx, {"fields": [field_def(ctx, "text", primaryKey=True)]}, "fields.1.name",
                    code="validation_invalid_primary_key")
            c = fcoll(ctx, "text")
            want(exported_field(ctx, c, "id")["primaryKey"] is True, "id is no primary key")
            r = rec(ctx, c, {"id": "samesameid12345"})
            rec_err(ctx, c, {"id": r["id"]}, "id")
    return check


def t_number(key):
    def check(ctx):
        if key == "min":
            c = fcoll(ctx, "number", min=10)
            rec_err(ctx, c, {"f": 5}, "f", "validation_min_number_constraint")
        elif key == "max":
            c = fcoll(ctx, "number", max=10)
            rec_err(ctx, c, {"f": 11}, "f", "validation_max_number_constraint")
        else:
            c = fcoll(ctx, "number", onlyInt=True)
            rec_err(ctx, c, {"f": 2.5}, "f", "validation_only_int_constraint")
        refused(ctx, {"fields": [field_def(ctx, "number", **{key: "x"})]}, "fields.1." + key)
    return check


def t_domains(t):
    def check_only(ctx):
        c = fcoll(ctx, t, onlyDomains=["ok.example"])
        good = "a@ok.example" if t == "email" else "https://ok.example/x"
        bad = "a@other.example" if t == "email" else "https://other.example/x"
        put(ctx, c, t, good)
        rec_err(ctx, c, {"f": bad}, "f", "validation_%s_domain_not_allowed" % t)
        refused(ctx, {"fields": [field_def(ctx, t, onlyDomains=["a.example"],
                                           exceptDomains=["b.example"])]},
                "fields.1.exceptDomains")

    def check_except(ctx):
        c = fcoll(ctx, t, exceptDomains=["no.example"])
        bad = "a@NO.example" if t == "email" else "https://NO.example/x"
        rec_err(ctx, c, {"f": bad}, "f", "validation_%s_domain_not_allowed" % t)
        put(ctx, c, t)
        refused(ctx, {"fields": [field_def(ctx, t, exceptDomains="no.example")]},
                "fields.1.exceptDomains")
    return check_only, check_except


def t_size(t):
    """maxSize of editor and json: a value past it is refused."""
    def check(ctx):
        c = fcoll(ctx, t, maxSize=20)
        big = "x" * 30 if t == "editor" else {"k": "x" * 30}
        rec_err(ctx, c, {"f": big}, "f")
        put(ctx, c, t)
        refused(ctx, {"fields": [field_def(ctx, t, maxSize="20")]}, "fields.1.maxSize")
    return check


def t_date(key):
    def check(ctx):
        bound = "2024-06-01 00:00:00.000Z"
        c = fcoll(ctx, "date", **{key: bound})
        out = "2024-01-01 00:00:00.000Z" if key == "min" else "2024-12-01 00:00:00.000Z"
        rec_err(ctx, c, {"f": out}, "f")
        put(ctx, c, "date", "2024-06-01 00:00:00.000Z")
        refused(ctx, {"fields": [field_def(ctx, "date", **{key: "not a date"})]}, "fields.1." + key)
    return check


def t_autodate(key):
    def check(ctx):
        if key == "onCreate":
            c = fcoll(ctx, "autodate", onCreate=True, onUpdate=False)
            r = rec(ctx, c, {})
            want(r["f"], "not set on create")
            r2 = expect(call(ctx, "PATCH", "/api/collections/%s/records/%s" % (c["name"], r["id"]),
                             auth="su", body={}), 200)
            want(r2["f"] == r["f"], "changed on update without onUpdate")
        else:
            c = coll(ctx, {"fields": [
                {"name": "f", "type": "autodate", "onCreate": False, "onUpdate": True},
                {"name": "v", "type": "text"}]}, "fautodate")
            r = rec(ctx, c, {"v": "1"})
            want(r["f"] == "", "set on create without onCreate: %r" % r["f"])
            r2 = expect(call(ctx, "PATCH", "/api/collections/%s/records/%s" % (c["name"], r["id"]),
                             auth="su", body={"v": "2"}), 200)
            want(r2["f"], "not set on update")
        refused(ctx, {"fields": [field_def(ctx, "autodate", **{key: "yes"})]}, "fields.1." + key)
    return check


def t_select(key):
    def check(ctx):
        if key == "values":
            c = fcoll(ctx, "select")
            rec_err(ctx, c, {"f": "zzz"}, "f", "validation_invalid_value")
            refused(ctx, {"fields": [field_def(ctx, "select", values="a")]}, "fields.1.values")
        else:
            c = fcoll(ctx, "select", maxSelect=2)
            r = put(ctx, c, "select", ["a", "b"])
            want(r["f"] == ["a", "b"], "maxSelect 2 is no list: %r" % r["f"])
            c1 = fcoll(ctx, "select", maxSelect=1)
            r = put(ctx, c1, "select", "a")
            want(r["f"] == "a", "maxSelect 1 is no single value: %r" % r["f"])
            refused(ctx, {"fields": [field_def(ctx, "select", maxSelect="2")]},
                    "fields.1.maxSelect")
    return check


def t_file(key):
    def check(ctx):
        if key == "maxSize":
            c = fcoll(ctx, "file", maxSize=5)
            put(ctx, c, "file", [("f", "big.txt", b"x" * 10)], status=400)
        elif key == "maxSelect":
            c = fcoll(ctx, "file", maxSelect=2)
            put(ctx, c, "file", [("f", "%d.txt" % i, TEXT) for i in range(3)], status=400)
            r = put(ctx, c, "file", [("f", "%d.txt" % i, TEXT) for i in range(2)])
            want(isinstance(r["f"], list) and len(r["f"]) == 2, "not two files: %r" % r["f"])
        elif key == "mimeTypes":
            c = fcoll(ctx, "file", mimeTypes=["image/png"])
            put(ctx, c, "file", [("f", "x.png", TEXT, "image/png")], status=400)
            put(ctx, c, "file", [("f", "x.png", PNG, "image/png")])
        elif key == "thumbs":
            c = fcoll(ctx, "file", thumbs=["50x20"], mimeTypes=["image/png"])
            r = put(ctx, c, "file", [("f", "x.png", PNG, "image/png")])
            base = "/api/files/%s/%s/%s" % (c["id"], r["id"], r["f"])
            t1 = call(ctx, "GET", base + "?thumb=50x20", raw=b"")
            want(t1.status == 200 and png_size(t1.body) == (50, 20), "listed thumb not made")
            t2 = call(ctx, "GET", base + "?thumb=30x30", raw=b"")
            want(t2.status == 200 and png_size(t2.body) == (200, 100),
                 "a thumb size not listed was made")
        else:  # protected: the viewRule applies with the file token's record
            c = coll(ctx, {"viewRule": "@request.auth.id != ''", "createRule": "",
                           "fields": [field_def(ctx, "file", protected=True)]}, "ffile")
            r = put(ctx, c, "file")
            url = "/api/files/%s/%s/%s" % (c["id"], r["id"], r["f"])
            want(call(ctx, "GET", url, raw=b"").status != 200, "a protected file without token")
            ft = expect(call(ctx, "POST", "/api/files/token", auth="su", body={}), 200)["token"]
            want(call(ctx, "GET", url + "?token=" + ft, raw=b"").status == 200,
                 "a protected file with a token")
        bad = {"maxSize": "5", "maxSelect": "2", "mimeTypes": "image/png", "thumbs": "50x20",
               "protected": "yes"}[key]
        refused(ctx, {"fields": [field_def(ctx, "file", **{key: bad})]}, "fields.1." + key)
    return check


def t_relation(key):
    def check(ctx):
        _target(ctx)
        ids = ctx.vars["walk_target"][1]
        if key == "collectionId":
            c = fcoll(ctx, "relation")
            rec_err(ctx, c, {"f": "nosuchrecord123"}, "f")
            refused(ctx, {"fields": [field_def(ctx, "relation", collectionId="nowhere")]},
                    "fields.1.collectionId")
        elif key == "cascadeDelete":
            t = coll(ctx, {"fields": [{"name": "v", "type": "text"}]}, "tgt")
            victim = rec(ctx, t, {"v": "x"})
            c = coll(ctx, {"fields": [{"name": "f", "type": "relation", "collectionId": t["id"],
                                       "cascadeDelete": True}]}, "frel")
            r = rec(ctx, c, {"f": victim["id"]})
            expect(call(ctx, "DELETE", "/api/collections/%s/records/%s" % (t["name"], victim["id"]),
                        auth="su"), 204)
            expect(call(ctx, "GET", "/api/collections/%s/records/%s" % (c["name"], r["id"]),
                        auth="su"), 404, "cascaded record")
        elif key == "minSelect":
            c = fcoll(ctx, "relation", minSelect=2, maxSelect=3)
            rec_err(ctx, c, {"f": [ids[0]]}, "f", "validation_not_enough_values")
            put(ctx, c, "relation", ids[:2])
        else:
            c = fcoll(ctx, "relation", maxSelect=2)
            rec_err(ctx, c, {"f": ids[:3]}, "f", "validation_too_many_values")
            r = put(ctx, c, "relation", ids[:2])
            want(r["f"] == ids[:2], "not a list of two: %r" % r["f"])
        bad = {"collectionId": 5, "cascadeDelete": "yes", "minSelect": "1", "maxSelect": 1.5}[key]
        refused(ctx, {"fields": [field_def(ctx, "relation", **{key: bad})]}, "fields.1." + key)
    return check


def t_password(key):
    def check(ctx):
        if key == "cost":
            refused(ctx, {"fields": [field_def(ctx, "password", cost=12)]}, "fields.1.cost")
            refused(ctx, {"fields": [field_def(ctx, "password", cost="0")]}, "fields.1.cost")
            c = fcoll(ctx, "password", cost=0)
            put(ctx, c, "password")
            return
        opts = {"min": {"min": 12}, "max": {"max": 10}, "pattern": {"pattern": "^[0-9]+$"}}[key]
        c = fcoll(ctx, "password", **opts)
        rec_err(ctx, c, {"f": "abcdefghijk"}, "f")
        good = {"min": "abcdefghijklm", "max": "abcdefghij", "pattern": "12345678"}[key]
        put(ctx, c, "password", good)
        refused(ctx, {"fields": [field_def(ctx, "password", **{key: "x" if key != "pattern"
                                                                  else 5})]}, "fields.1." + key)
    return check


# --------------------------------------------------------------------------
# The walk table
# --------------------------------------------------------------------------

WALK = {"collection": {}, "field": {}}


def _c(option, verdict, fn):
    WALK["collection"][option] = (verdict, fn)


_c("id", "enforced", c_id)
_c("name", "enforced", c_name)
_c("type", "enforced", c_type)
_c("system", "refused", c_system)
for _k in ("listRule", "viewRule", "createRule", "updateRule", "deleteRule"):
    _c(_k, "enforced", c_rule(_k))
_c("fields", "enforced", c_fields)
_c("indexes", "enforced", c_indexes)
_c("viewQuery", "enforced", c_view_query)
_c("authRule", "enforced", c_auth_rule)
_c("manageRule", "enforced", c_manage_rule)
_c("passwordAuth.enabled", "enforced", c_password_enabled)
_c("passwordAuth.identityFields", "enforced", c_identity_fields)
_c("otp.enabled", "enforced", c_otp_enabled)
_c("otp.duration", "enforced", c_otp_duration)
_c("otp.length", "enforced", c_otp_length)
_c("otp.emailTemplate", "enforced", c_otp_template)
_c("authToken.duration", "enforced", c_auth_token("duration"))
_c("authToken.secret", "enforced", c_auth_token("secret"))
for _kind in ("passwordResetToken", "emailChangeToken", "verificationToken"):
    _c(_kind + ".duration", "enforced", c_mail_token(_kind, "duration"))
    _c(_kind + ".secret", "enforced", c_mail_token(_kind, "secret"))
_c("fileToken.duration", "enforced", c_file_token("duration"))
_c("fileToken.secret", "enforced", c_file_token("secret"))
_c("mfa.enabled", "enforced", c_mfa_enabled)
_c("mfa.duration", "enforced", c_mfa_duration)
_c("mfa.rule", "enforced", c_mfa_rule)
_c("oauth2.enabled", "enforced", c_oauth2_enabled)
_c("oauth2.providers", "enforced", c_oauth2_providers)
_c("oauth2.mappedFields", "enforced", c_oauth2_mapped)
_c("authAlert.enabled", "enforced", c_alert_enabled)
_c("authAlert.emailTemplate", "enforced", c_alert_template)
_c("verificationTemplate", "enforced", c_template("verificationTemplate", "verificationToken"))
_c("resetPasswordTemplate", "enforced", c_template("resetPasswordTemplate", "passwordResetToken"))
_c("confirmEmailChangeTemplate", "enforced",
   c_template("confirmEmailChangeTemplate", "emailChangeToken"))
_c("search.fields", "enforced", c_search_fields)
_c("search.language", "enforced", c_search_language)
_c("embedding.field", "enforced", c_embedding_field)
_c("embedding.source", "enforced", c_embedding_source)
_c("embedding.provider", "enforced", c_embedding_provider)

_SPECIFIC = {
    "text": {k: t_text(k) for k in ("min", "max", "pattern", "autogeneratePattern",
                                     "primaryKey")},
    "number": {k: t_number(k) for k in ("min", "max", "onlyInt")},
    "email": dict(zip(("onlyDomains", "exceptDomains"), t_domains("email"))),
    "url": dict(zip(("onlyDomains", "exceptDomains"), t_domains("url"))),
    "editor": {"maxSize": t_size("editor"), "convertURLs": None},
    "date": {k: t_date(k) for k in ("min", "max")},
    "autodate": {k: t_autodate(k) for k in ("onCreate", "onUpdate")},
    "select": {k: t_select(k) for k in ("values", "maxSelect")},
    "file": {k: t_file(k) for k in ("maxSize", "maxSelect", "mimeTypes", "thumbs", "protected")},
    "relation": {k: t_relation(k) for k in ("collectionId", "cascadeDelete", "minSelect",
                                             "maxSelect")},
    "json": {"maxSize": t_size("json")},
    "password": {k: t_password(k) for k in ("pattern", "min", "max", "cost")},
    "vector": {"dimensions": t_vector_dimensions},
}

for _t, _opts in PB_FIELD_OPTIONS.items():
    for _o in _opts:
        if _o == "name":
            WALK["field"][(_t, _o)] = ("enforced", f_name(_t))
        elif _o == "id":
            WALK["field"][(_t, _o)] = ("enforced", f_id(_t))
        elif _o == "system":
            WALK["field"][(_t, _o)] = ("enforced", f_system(_t))
        elif _o == "hidden":
            WALK["field"][(_t, _o)] = ("enforced", f_hidden(_t))
        elif _o == "presentable":
            WALK["field"][(_t, _o)] = ("enforced (UI hint, kept)", f_hint(_t, "presentable", True))
        elif _o == "help":
            WALK["field"][(_t, _o)] = ("enforced (UI hint, kept)",
                                       f_hint(_t, "help", "What to put here."))
        elif _o == "required":
            WALK["field"][(_t, _o)] = ("enforced", f_required(_t))
        elif _t == "editor" and _o == "convertURLs":
            WALK["field"][(_t, _o)] = ("enforced (UI hint, kept)",
                                       f_hint(_t, "convertURLs", True))
        elif _o in _SPECIFIC.get(_t, {}):
            WALK["field"][(_t, _o)] = ("enforced", _SPECIFIC[_t][_o])


# --------------------------------------------------------------------------
# Completeness
# --------------------------------------------------------------------------

def _flatten(c):
    """The option paths a collection's JSON holds."""
    out = set()
    for k, v in c.items():
        if k in READ_ONLY:
            continue
        if k in ("otp", "passwordAuth", "mfa", "authAlert", "oauth2", "search",
                 "embedding") + tuple(_TOKENS):
            for kk in v:
                out.add("%s.%s" % (k, kk))
        else:
            out.add(k)
    return out


def every_pb_option_has_a_verdict(ctx):
    missing = []
    for ctype, opts in PB_COLLECTION_OPTIONS.items():
        for o in opts + TARMAC_COLLECTION_OPTIONS[ctype]:
            if o not in WALK["collection"] and o not in OTHER_BRANCHES:
                missing.append("%s:%s" % (ctype, o))
    for t, opts in PB_FIELD_OPTIONS.items():
        for o in opts:
            if (t, o) not in WALK["field"]:
                missing.append("field %s.%s" % (t, o))
    want(not missing, "options without a verdict: %s" % missing)
    both = set(WALK["collection"]) & set(OTHER_BRANCHES)
    want(not both, "options both walked and left to another branch: %s" % sorted(both))


def every_exported_option_is_walked(ctx):
    extra = []
    for ctype in ("base", "auth", "view"):
        # a search too (tarmac's own option), so that it is exported
        c = coll(ctx, {"type": ctype, "viewQuery": "SELECT id FROM users"} if ctype == "view"
                 else {"type": ctype, "fields": [{"name": "t", "type": "text"}],
                       "search": {"fields": [{"name": "t"}]}}, "exp")
        known = set(PB_COLLECTION_OPTIONS[ctype]) | set(TARMAC_COLLECTION_OPTIONS[ctype])
        # secrets are write-only: never exported, walked all the same
        for o in sorted(_flatten(c) - known):
            extra.append("%s:%s" % (ctype, o))
    fields = [field_def(ctx, t, name="f_" + t.lower()) for t in PB_FIELD_OPTIONS]
    c = coll(ctx, {"fields": fields}, "expf")
    for f in c["fields"]:
        if f["name"] == "id":
            continue
        keys = set(f) - {"type"}
        want_keys = set(PB_FIELD_OPTIONS[f["type"]])
        if keys != want_keys:
            extra.append("field %s: exported %s, PocketBase has %s" % (
                f["type"], sorted(keys - want_keys), sorted(want_keys - keys)))
    want(not extra, "exported but not PocketBase's (or missing): %s" % extra)


def other_branches(ctx):
    want(set(OTHER_BRANCHES.values()) <= {"oidc", "views"}, "unknown branch")


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------

class Walk:
    """One option's check: a function of the context that raises Fail."""

    def __init__(self, name, fn):
        self.name = name
        self.fn = fn

    def run(self, ctx):
        try:
            self.fn(ctx)
        except Fail as e:
            return (str(e), None)
        except SetupError as e:
            return ("setup: %s" % e, None)
        except Exception as e:  # a check tripped over an unexpected shape
            return ("check raised %s: %s" % (type(e).__name__, e), None)
        return None


def scenario_name(option, verdict):
    return "option walk: %s: %s" % (option, verdict)


SCENARIOS = [
    Walk("option walk: every PocketBase option has a verdict", every_pb_option_has_a_verdict),
    Walk("option walk: every exported option is PocketBase's and walked",
         every_exported_option_is_walked),
    Walk("option walk: left to other branches: %s" % ", ".join(
        "%s (%s)" % kv for kv in sorted(OTHER_BRANCHES.items())), other_branches),
]
for _o, (_v, _fn) in WALK["collection"].items():
    SCENARIOS.append(Walk(scenario_name(_o, _v), _fn))
for (_t, _o), (_v, _fn) in WALK["field"].items():
    SCENARIOS.append(Walk(scenario_name("%s field %s" % (_t, _o), _v), _fn))

LAST = [Walk("option walk: otp.duration: enforced (an OTP past it is refused)",
             c_otp_duration_expired),
        Walk("option walk: mfa.duration: enforced (a session past it is refused)",
             c_mfa_duration_expired)]
