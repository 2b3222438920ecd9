"""Scenarios: password fields on any collection (issue #11, spec §5.3).

A password field, on a base or an auth collection and under any name, stores
an argon2id hash of what the client sent, never the value itself; min, max
(0 = 71, in characters) and pattern apply to the sent value; the value never
leaves the server (records, expand, batch results, auth responses); a
non-superuser can neither filter nor sort by it; an empty or absent value
keeps the stored hash; its options are enforced or refused with a 400 naming
them.  What a response cannot show is read from the SQLite file itself
(read-only, beside the running server).

Collections (made by the first scenario that needs them):
  vault     base, every rule "": label text, f password min 3,
            pin password min 4 max 6 pattern ^[0-9]+$, sealed password hidden
  vault_req base, every rule "": label text, secret password required
  lockers   base, every rule "": vault relation -> vault
  members   auth, create "", view/list self: pin password min 4
"""

import re
import secrets

from apilib import (says_where, MSG_CREATE_FAIL, MSG_UPDATE_FAIL,
                    MSG_COLL_CREATE_FAIL, MSG_COLL_UPDATE_FAIL, Scenario as S, codes,
                    get_path, short, want)
from tarmac import db_dump_holds, db_rows

VAULT = "/api/collections/vault/records"
VAULT_REQ = "/api/collections/vault_req/records"
LOCKERS = "/api/collections/lockers/records"
MEMBERS = "/api/collections/members/records"
MEMBERS_AWP = "/api/collections/members/auth-with-password"
PHC_RE = re.compile(r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$")
SECRET_KEYS = ("f", "pin", "sealed", "secret")
ALL_RULES = {"listRule": "", "viewRule": "", "createRule": "", "updateRule": "",
             "deleteRule": ""}


def plain(tag):
    """A value unique enough to be looked for in the database file."""
    return "pl41n-%s-%s" % (tag, secrets.token_hex(6))


# -- the database file ----------------------------------------------------------

def db_value(ctx, table, rid, col):
    rows = db_rows(ctx.server.datadir, 'SELECT "%s" FROM "%s" WHERE id = ?' % (col, table), (rid,))
    return rows[0][0] if rows else None


def db_count(ctx, table, where, args=()):
    return int(db_rows(ctx.server.datadir, 'SELECT COUNT(*) FROM "%s" WHERE %s' % (table, where),
                       args)[0][0])


def db_files_hold(ctx, text):
    """True when text is anywhere in the stored data (the file and its WAL)."""
    return db_dump_holds(ctx.server.datadir, text)


def want_hash(ctx, table, rid, col, sent):
    v = db_value(ctx, table, rid, col)
    want(isinstance(v, str) and PHC_RE.match(v), "%s.%s stored %s, want an argon2id hash" % (
        table, col, short(v)))
    # A value too short to be unique (a PIN) can turn up in any file by chance
    # (the digits of a date): only the long ones are looked for; the hash
    # check above covers every value.
    if len(sent) >= 12:
        want(not db_files_hold(ctx, sent), "the sent value %r is in the database file" % sent)
    return v


def no_secrets(obj, where="record"):
    for k in SECRET_KEYS:
        want(k not in obj, "%s carries password field %r: %s" % (where, k, short(obj.get(k))))


# -- fixtures -------------------------------------------------------------------

def _collections(ctx):
    if ctx.vars.get("pw_ready"):
        return
    vault = ctx.new_collection(dict(ALL_RULES, name="vault", fields=[
        {"name": "label", "type": "text"},
        {"name": "f", "type": "password", "min": 3},
        {"name": "pin", "type": "password", "min": 4, "max": 6, "pattern": "^[0-9]+$"},
        {"name": "sealed", "type": "password", "hidden": True},
    ]))
    ctx.new_collection(dict(ALL_RULES, name="vault_req", fields=[
        {"name": "label", "type": "text"},
        {"name": "secret", "type": "password", "required": True},
    ]))
    ctx.new_collection(dict(ALL_RULES, name="lockers", fields=[
        {"name": "vault", "type": "relation", "collectionId": vault["id"], "maxSelect": 1},
    ]))
    ctx.new_collection({"name": "members", "type": "auth", "createRule": "",
                        "listRule": "id = @request.auth.id", "viewRule": "id = @request.auth.id",
                        "fields": [{"name": "pin", "type": "password", "min": 4}]})
    ctx.vars["pw_ready"] = True


def _vault_record(key, **fields):
    """Setup: a vault record made by a guest, kept in ctx.vars[key] with the
    values sent under key + "_sent"."""
    def setup(ctx):
        _collections(ctx)
        body = {"label": key}
        body.update({k: (v(ctx) if callable(v) else v) for k, v in fields.items()})
        ctx.vars[key] = ctx.must("POST", VAULT, body=body)
        ctx.vars[key + "_sent"] = body
    return setup


def _vault_path(key):
    return lambda c: VAULT + "/" + c.vars[key]["id"]


def _setup_then(*steps):
    def setup(ctx):
        for s in steps:
            s(ctx)
    return setup


# -- create: validation -----------------------------------------------------------

def _nothing_stored(label):
    def check(ctx, r):
        want(db_count(ctx, "vault", "label = ?", (label,)) == 0, "a record %r was stored" % label)
    return check


def _min_error(ctx, r):
    codes(MSG_CREATE_FAIL, {"f": ["validation_min_text_constraint", {"min": 3}]})(ctx, r)
    _nothing_stored("too short")(ctx, r)


CREATE = [
    S("passwords: {\"f\":\"ab\"} with min 3 on a base collection -> 400 validation_min_text_constraint",
      "POST", VAULT, setup=_collections, body={"label": "too short", "f": "ab"}, status=400,
      check=_min_error),
    S("passwords: 72 characters -> 400 validation_max_text_constraint (max 0 means 71)",
      "POST", VAULT, setup=_collections, body={"label": "too long", "f": "x" * 72}, status=400,
      check=codes(MSG_CREATE_FAIL, {"f": ["validation_max_text_constraint", {"max": 71}]})),
    S("passwords: 71 two-byte characters pass max 71 (counted in characters)", "POST", VAULT,
      setup=_collections, body={"label": "runes", "f": "\u00e9" * 71},
      check=lambda c, r: no_secrets(r.json)),
    S("passwords: the field's own max -> 400 validation_max_text_constraint", "POST", VAULT,
      setup=_collections, body={"label": "long pin", "f": "abcd", "pin": "1234567"}, status=400,
      check=codes(MSG_CREATE_FAIL, {"pin": ["validation_max_text_constraint", {"max": 6}]})),
    S("passwords: pattern mismatch -> 400 validation_invalid_format", "POST", VAULT,
      setup=_collections, body={"label": "bad pin", "pin": "12ab"}, status=400,
      check=codes(MSG_CREATE_FAIL, {"pin": "validation_invalid_format"})),
    S("passwords: a required password field left out -> 400 validation_required", "POST",
      VAULT_REQ, setup=_collections, body={"label": "none"}, status=400,
      check=codes(MSG_CREATE_FAIL, {"secret": "validation_required"})),
]


# -- create: what is stored and answered ------------------------------------------

def _stored_as_hash(ctx, r):
    no_secrets(r.json)
    rid = r.json["id"]
    sent = ctx.vars["v_new_sent"]
    want_hash(ctx, "vault", rid, "f", sent["f"])
    want_hash(ctx, "vault", rid, "pin", sent["pin"])


def _new_body(ctx):
    ctx.vars["v_new_sent"] = {"label": "stored", "f": plain("create"),
                              "pin": str(100000 + secrets.randbelow(899999))}
    return ctx.vars["v_new_sent"]


def _member_with_copied_pin(ctx):
    """A members record whose login password is replaced, in the file, by
    the stored hash of its pin: logging in with the pin then proves the hash
    is argon2id of what was sent."""
    _collections(ctx)
    email = "pin-%s@example.com" % secrets.token_hex(4)
    ctx.vars["m_email"] = email
    ctx.vars["m_pin"] = "pin-" + secrets.token_hex(8)
    rec = ctx.must("POST", MEMBERS, body={"email": email, "password": "memberpass1",
                                          "passwordConfirm": "memberpass1",
                                          "pin": ctx.vars["m_pin"]})
    no_secrets(rec, "the sign-up answer")
    pin_hash = want_hash(ctx, "members", rec["id"], "pin", ctx.vars["m_pin"])
    db_rows(ctx.server.datadir, 'UPDATE "members" SET "password" = ? WHERE id = ?',
            (pin_hash, rec["id"]), write=True)


def _member_login(ctx, r):
    want("token" in r.json, "no token")
    no_secrets(r.json["record"], "the auth response's record")


STORE = [
    S("passwords: a valid value is stored as an argon2id hash, never as sent, and not answered",
      "POST", VAULT, setup=_collections, body=_new_body, check=_stored_as_hash),
    S("passwords: the stored hash is argon2id of the sent value (an auth collection's custom field)",
      "POST", MEMBERS_AWP, setup=_member_with_copied_pin,
      body=lambda c: {"identity": c.vars["m_email"], "password": c.vars["m_pin"]},
      check=_member_login),
    S("passwords: a custom password field on an auth collection -> its own min", "POST", MEMBERS,
      setup=_collections, status=400,
      body={"email": "shortpin@example.com", "password": "memberpass1",
            "passwordConfirm": "memberpass1", "pin": "12"},
      check=codes(MSG_CREATE_FAIL, {"pin": ["validation_min_text_constraint", {"min": 4}]})),
    S("passwords: a hidden password field is dropped from a guest's input", "POST", VAULT,
      setup=_collections, body={"label": "guest sealed", "sealed": "guest-sealed-value"},
      check=lambda c, r: want(db_value(c, "vault", r.json["id"], "sealed") == "",
                              "a guest set the hidden field: %s"
                              % short(db_value(c, "vault", r.json["id"], "sealed")))),
    S("passwords: a superuser sets a hidden password field: hashed, not answered", "POST", VAULT,
      auth="su", body=lambda c: dict(c.vars.setdefault("su_sealed", {"sealed": plain("sealed")}),
                                     label="su sealed"),
      setup=_collections,
      check=lambda c, r: (no_secrets(r.json),
                          want_hash(c, "vault", r.json["id"], "sealed",
                                    c.vars["su_sealed"]["sealed"]))),
]


# -- never returned -------------------------------------------------------------------

def _view_lacks(ctx, r):
    no_secrets(r.json)
    want(r.json.get("label") == "v_read", "label %r" % r.json.get("label"))


def _list_lacks(ctx, r):
    items = r.json["items"]
    want(items, "no items")
    for it in items:
        no_secrets(it, "list item")


def _locker(ctx):
    _vault_record("v_read", f=plain("read"), pin="5555")(ctx)
    ctx.vars["locker"] = ctx.must("POST", LOCKERS, body={"vault": ctx.vars["v_read"]["id"]})


def _expand_lacks(ctx, r):
    exp = (r.json.get("expand") or {}).get("vault")
    want(isinstance(exp, dict) and exp.get("id") == ctx.vars["v_read"]["id"],
         "expand.vault missing: %s" % short(r.json))
    no_secrets(exp, "expanded record")


def _batch_body(ctx):
    ctx.vars["batch_sent"] = plain("batch")
    return {"requests": [{"method": "POST", "url": "/api/collections/vault/records",
                          "body": {"label": "batched", "f": ctx.vars["batch_sent"]}}]}


def _batch_created(ctx, r):
    want(isinstance(r.json, list) and len(r.json) == 1 and r.json[0].get("status") == 200,
         "batch answer %s" % short(r.json))
    rec = r.json[0]["body"]
    no_secrets(rec, "batch result")
    want_hash(ctx, "vault", rec["id"], "f", ctx.vars["batch_sent"])


def _batch_uncommitted_body(ctx):
    ctx.vars["batch2_sent"] = plain("batch-update")
    return {"requests": [
        {"method": "POST", "url": "/api/collections/vault/records",
         "body": {"id": "pwbatchrecord01", "label": "batched 2"}},
        {"method": "PATCH", "url": "/api/collections/vault/records/pwbatchrecord01",
         "body": {"f": ctx.vars["batch2_sent"]}},
    ]}


def _batch_uncommitted(ctx, r):
    """An update of a record an earlier item creates cannot hash on the
    worker (the record is not committed yet): the batch fails as a whole
    rather than store the value as sent."""
    want(not db_files_hold(ctx, ctx.vars["batch2_sent"]), "the sent value is in the database file")
    want(db_count(ctx, "vault", "id = 'pwbatchrecord01'") == 0, "the batch committed")


READ = [
    S("passwords: view as a guest never returns password fields", "GET", _vault_path("v_read"),
      setup=_vault_record("v_read", f=lambda c: plain("read"), pin="5555"), check=_view_lacks),
    S("passwords: view as a superuser never returns password fields either", "GET",
      _vault_path("v_read"), auth="su", setup=_vault_record("v_read", f="secret-read", pin="5555"),
      check=_view_lacks),
    S("passwords: fields=f,pin,sealed,label as a superuser still leaves them out", "GET",
      VAULT + "?fields=f,pin,sealed,label", auth="su",
      setup=_vault_record("v_list", f="secret-list"), check=_list_lacks),
    S("passwords: an expanded record leaves them out", "GET",
      lambda c: LOCKERS + "/" + c.vars["locker"]["id"] + "?expand=vault", setup=_locker,
      check=_expand_lacks),
    S("passwords: a batch create hashes and leaves them out of its result", "POST", "/api/batch",
      setup=_collections, body=_batch_body, check=_batch_created),
    S("passwords: a batch update of a record it creates never stores the value as sent", "POST",
      "/api/batch", setup=_collections, body=_batch_uncommitted_body, status=(400, 404),
      check=_batch_uncommitted),
]


# -- filter and sort --------------------------------------------------------------------

SEARCH = [
    S("passwords: a guest's filter on a password field -> 400", "GET",
      VAULT + "?filter=" + "f%20!%3D%20''", setup=_collections, status=400,
      check=says_where("f")),
    S("passwords: a guest's sort by a password field -> 400", "GET", VAULT + "?sort=f",
      setup=_collections, status=400, check=says_where("f")),
    S("passwords: a guest's sort by -pin -> 400", "GET", VAULT + "?sort=-pin",
      setup=_collections, status=400, check=says_where("pin")),
    S("passwords: a guest's filter through a relation to a password field -> 400", "GET",
      LOCKERS + "?filter=" + "vault.f%20!%3D%20''", setup=_collections, status=400,
      check=says_where("f")),
    S("passwords: a user's filter on an auth collection's custom password field -> 400", "GET",
      MEMBERS + "?filter=" + "pin%20!%3D%20''", auth="A", setup=_collections, status=400,
      check=says_where("pin")),
    S("passwords: a superuser may filter on a password field", "GET",
      VAULT + "?filter=" + "f%20!%3D%20''", auth="su",
      setup=_vault_record("v_su_filter", f="secret-su"), check=_list_lacks),
]


# -- update ---------------------------------------------------------------------------------

def _remember_hash(key, col="f"):
    def setup(ctx):
        ctx.vars[key + "_" + col + "_hash"] = db_value(ctx, "vault", ctx.vars[key]["id"], col)
    return setup


def _hash_kept(key, col="f"):
    def check(ctx, r):
        now = db_value(ctx, "vault", ctx.vars[key]["id"], col)
        want(now == ctx.vars[key + "_" + col + "_hash"] and PHC_RE.match(now or ""),
             "%s changed: %s" % (col, short(now)))
        if r.status == 200:
            no_secrets(r.json)
    return check


def _hash_replaced(key, sent):
    def check(ctx, r):
        no_secrets(r.json)
        now = want_hash(ctx, "vault", ctx.vars[key]["id"], "f", ctx.vars[sent])
        want(now != ctx.vars[key + "_f_hash"], "the hash did not change")
    return check


def _upd(key, sent=None):
    steps = [_vault_record(key, f=lambda c: plain("before"), pin="1357"), _remember_hash(key)]
    if sent:
        steps.append(lambda c: c.vars.__setitem__(sent, plain("after")))
    return _setup_then(*steps)


def _req_record(ctx):
    _collections(ctx)
    ctx.vars["v_req"] = ctx.must("POST", VAULT_REQ, body={"label": "req", "secret": "s3cret!"})


UPDATE = [
    S("passwords: an update without the field keeps the hash", "PATCH", _vault_path("u_absent"),
      setup=_upd("u_absent"), body={"label": "renamed"}, check=_hash_kept("u_absent")),
    S("passwords: an update with an empty value keeps the hash", "PATCH", _vault_path("u_empty"),
      setup=_upd("u_empty"), body={"f": "", "pin": ""}, check=_hash_kept("u_empty")),
    S("passwords: an update with a modifier (f+) changes nothing", "PATCH", _vault_path("u_mod"),
      setup=_upd("u_mod"), body={"f+": "zzzz"}, check=_hash_kept("u_mod")),
    S("passwords: a new value replaces the hash with a new one", "PATCH", _vault_path("u_new"),
      setup=_upd("u_new", "u_new_sent"), body=lambda c: {"f": c.vars["u_new_sent"]},
      check=_hash_replaced("u_new", "u_new_sent")),
    S("passwords: a stored hash sent back as the value is refused, the hash kept", "PATCH",
      _vault_path("u_hash"), setup=_upd("u_hash"),
      body=lambda c: {"f": c.vars["u_hash_f_hash"]}, status=400,
      check=lambda c, r: (codes(MSG_UPDATE_FAIL, {"f": "validation_max_text_constraint"})(c, r),
                          _hash_kept("u_hash")(c, r))),
    S("passwords: a too short new value is refused, the hash kept", "PATCH",
      _vault_path("u_short"), setup=_upd("u_short"), body={"f": "ab"}, status=400,
      check=lambda c, r: (codes(MSG_UPDATE_FAIL, {"f": "validation_min_text_constraint"})(c, r),
                          _hash_kept("u_short")(c, r))),
    S("passwords: a required password field is met by the stored hash on update", "PATCH",
      lambda c: VAULT_REQ + "/" + c.vars["v_req"]["id"], setup=_req_record,
      body={"label": "req renamed"},
      check=lambda c, r: want(PHC_RE.match(db_value(c, "vault_req", c.vars["v_req"]["id"],
                                                    "secret") or ""), "secret lost")),
]


# -- collection options -----------------------------------------------------------------------

def _probe(name, **opts):
    field = {"name": "p", "type": "password"}
    field.update(opts)
    return {"name": name, "fields": [{"name": "label", "type": "text"}, field]}


def _option_error(key, code):
    return codes(MSG_COLL_CREATE_FAIL, {"fields.*." + key: code})


def _cost_zero(ctx, r):
    p = [f for f in r.json["fields"] if f["name"] == "p"][0]
    want(p.get("cost") == 0 and p.get("min") == 5 and p.get("max") == 9,
         "field echoed %s" % short(p))
    ctx.must("DELETE", "/api/collections/" + r.json["id"], auth="su", status=204)


def _type_probe(first_type):
    def setup(ctx):
        c = ctx.new_collection({"name": "probe_pw_" + first_type,
                                "fields": [{"name": "code", "type": first_type}]})
        ctx.vars["type_probe_" + first_type] = c
    return setup


def _type_change_body(first_type, to):
    def body(ctx):
        c = ctx.vars["type_probe_" + first_type]
        code = [f for f in c["fields"] if f["name"] == "code"][0]
        return {"fields": [{"id": code["id"], "name": "code", "type": to}]}
    return body


def _type_refused(ctx, r):
    codes(MSG_COLL_UPDATE_FAIL, {})(ctx, r)
    errs = [e for e in get_path(r.json["data"], "fields.*")
            if isinstance(e, dict) and e.get("code") == "validation_field_type_change"]
    want(errs, "no data.fields.N validation_field_type_change: %s" % short(r.json["data"]))


OPTIONS = [
    S("passwords: option min above 71 -> 400 fields.N.min", "POST", "/api/collections", auth="su",
      body=_probe("probe_pw_min", min=72), status=400,
      check=_option_error("min", "validation_max_less_equal_than_required")),
    S("passwords: option min below 0 -> 400 fields.N.min", "POST", "/api/collections", auth="su",
      body=_probe("probe_pw_neg", min=-1), status=400,
      check=_option_error("min", "validation_min_greater_equal_than_required")),
    S("passwords: option max above 71 -> 400 fields.N.max", "POST", "/api/collections", auth="su",
      body=_probe("probe_pw_max", max=72), status=400,
      check=_option_error("max", "validation_max_less_equal_than_required")),
    S("passwords: option max below min -> 400 fields.N.max", "POST", "/api/collections",
      auth="su", body=_probe("probe_pw_maxmin", min=8, max=5), status=400,
      check=_option_error("max", "validation_min_greater_equal_than_required")),
    S("passwords: option cost (bcrypt's) other than 0 -> 400 fields.N.cost", "POST",
      "/api/collections", auth="su", body=_probe("probe_pw_cost", cost=12), status=400,
      check=_option_error("cost", "validation_invalid_value")),
    S("passwords: option pattern that does not compile -> 400 fields.N.pattern", "POST",
      "/api/collections", auth="su", body=_probe("probe_pw_re", pattern="(ab"), status=400,
      check=_option_error("pattern", "validation_invalid_regex")),
    S("passwords: options min 5, max 9, cost 0 accepted and echoed", "POST", "/api/collections",
      auth="su", body=_probe("probe_pw_ok", min=5, max=9, cost=0), check=_cost_zero),
    S("passwords: a text field cannot become a password field (its values would stay plain)",
      "PATCH", lambda c: "/api/collections/" + c.vars["type_probe_text"]["id"], auth="su",
      setup=_type_probe("text"), body=_type_change_body("text", "password"), status=400,
      check=_type_refused),
    S("passwords: a password field cannot become a text field (its hashes would be answered)",
      "PATCH", lambda c: "/api/collections/" + c.vars["type_probe_password"]["id"], auth="su",
      setup=_type_probe("password"), body=_type_change_body("password", "text"), status=400,
      check=_type_refused),
]


# -- PocketBase's bcrypt hashes (users imported from PocketBase) -----------------

def _bcrypt(password, cost=10):
    """A $2b$ hash made by the system's libxcrypt, as PocketBase's Go bcrypt writes them."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << cost)
    h = crypt.crypt(password, salt)
    want(h and h.startswith("$2b$%02d$" % cost), "libxcrypt made no bcrypt hash: %r" % h)
    return h


def _member_with_bcrypt(ctx):
    """A members record whose password is, in the file, a bcrypt hash of a
    known password (as an import from PocketBase leaves it)."""
    _collections(ctx)
    email = "bcrypt-%s@example.com" % secrets.token_hex(4)
    ctx.vars["b_email"] = email
    ctx.vars["b_pass"] = "imported-" + secrets.token_hex(6)
    rec = ctx.must("POST", MEMBERS, body={"email": email, "password": "memberpass1",
                                          "passwordConfirm": "memberpass1", "pin": "pin-1234"})
    ctx.vars["b_id"] = rec["id"]
    ctx.vars["b_hash"] = _bcrypt(ctx.vars["b_pass"])
    db_rows(ctx.server.datadir, 'UPDATE "members" SET "password" = ? WHERE id = ?',
            (ctx.vars["b_hash"], rec["id"]), write=True)


def _bcrypt_login_rehashes(ctx, r):
    want("token" in r.json, "no token")
    stored = db_value(ctx, "members", ctx.vars["b_id"], "password")
    want(isinstance(stored, str) and PHC_RE.match(stored),
         "after the login the password is still %s, want argon2id" % short(stored))
    again = ctx.call("POST", MEMBERS_AWP,
                     body={"identity": ctx.vars["b_email"], "password": ctx.vars["b_pass"]})
    want(again.status == 200, "a second login with the same password: %s" % again.summary())
    wrong = ctx.call("POST", MEMBERS_AWP,
                     body={"identity": ctx.vars["b_email"], "password": "not-it-at-all"})
    want(wrong.status == 400, "a wrong password after the upgrade: %s" % wrong.summary())
    # The old token still works: the upgrade keeps the tokenKey.
    me = ctx.call("POST", "/api/collections/members/auth-refresh", raw=b"",
                  headers={"Authorization": r.json["token"]})
    want(me.status == 200, "the first login's token after the upgrade: %s" % me.summary())


def _member_with_bcrypt_wrong(ctx):
    _member_with_bcrypt(ctx)


def _bcrypt_kept_after_wrong_password(ctx, r):
    stored = db_value(ctx, "members", ctx.vars["b_id"], "password")
    want(stored == ctx.vars["b_hash"], "a failed login changed the stored hash")


BCRYPT = [
    S("passwords: a PocketBase bcrypt hash logs in and is replaced by argon2id",
      "POST", MEMBERS_AWP, setup=_member_with_bcrypt,
      body=lambda c: {"identity": c.vars["b_email"], "password": c.vars["b_pass"]},
      check=_bcrypt_login_rehashes),
    S("passwords: a wrong password against a bcrypt hash is 400 and changes nothing",
      "POST", MEMBERS_AWP, setup=_member_with_bcrypt_wrong,
      body=lambda c: {"identity": c.vars["b_email"], "password": "wrong-password-1"},
      status=400, check=_bcrypt_kept_after_wrong_password),
]

SCENARIOS = CREATE + STORE + READ + SEARCH + UPDATE + OPTIONS + BCRYPT
