"""Scenarios: auth methods, auth-with-password, auth-refresh (§6.1-§6.4),
token handling (§1.2, Appendix C.1), superusers (§6.12) and auth-record
create/update rules (§6.13)."""

import itertools
import time

from apilib import (ANY, MSG_401, MSG_AUTH_FAIL, MSG_FORM_INVALID, MSG_FORM_LOAD,
                    MSG_NO_AUTH_COLL, MSG_CREATE_FAIL, MSG_UPDATE_FAIL, USERS_ID,
                    SUPERUSERS_ID, RECORD_ID_RE, Scenario as S, err, codes, want, short,
                    jwt_header, jwt_payload, jwt_sign, jwt_alg_none, jwt_tamper_signature,
                    jwt_swap_payload)
from fixtures import EMAILS, USER_PASS, SU_EMAIL, SU_PASS

E401 = err(401, MSG_401)
E_AUTH = err(400, MSG_AUTH_FAIL)
E_NO_AUTH_COLL = err(404, MSG_NO_AUTH_COLL)
NOTES = "/api/collections/notes/records"
USERS = "/api/collections/users"

_seq = itertools.count(1)


def fresh_email():
    return "fresh%d@example.com" % next(_seq)


# -- token checks ---------------------------------------------------------------------

def check_auth_response(coll_id, coll_name, id_of=None, email=None):
    def check(ctx, r):
        j = r.json
        want(set(j) >= {"token", "record"}, "auth response keys %s" % sorted(j))
        want("meta" not in j, "meta present for a non-OAuth2 auth response")
        tok = j["token"]
        parts = tok.split(".")
        want(len(parts) == 3 and all(parts), "token is not a 3-part JWT: %r" % tok[:60])
        h = jwt_header(tok)
        want(h.get("alg") == "HS256" and h.get("typ") == "JWT", "JWT header %s" % h)
        want(all("=" not in p for p in parts), "JWT segments padded")
        p = jwt_payload(tok)
        for k in ("id", "collectionId", "type", "exp", "refreshable"):
            want(k in p, "claim %s missing: %s" % (k, p))
        want(p["type"] == "auth", "type claim %r" % p["type"])
        want(p["collectionId"] == coll_id, "collectionId claim %r" % p["collectionId"])
        want(isinstance(p["exp"], int) and not isinstance(p["exp"], bool), "exp not an int: %r" % p["exp"])
        want(p["exp"] > time.time(), "exp in the past")
        want(p["refreshable"] is True, "refreshable %r" % p["refreshable"])
        rec = j["record"]
        want(rec["collectionId"] == coll_id and rec["collectionName"] == coll_name,
             "record collection %s/%s" % (rec.get("collectionId"), rec.get("collectionName")))
        want(p["id"] == rec["id"], "id claim %r != record id %r" % (p["id"], rec["id"]))
        if id_of:
            want(rec["id"] == ctx.ids[id_of], "record id %r, want %s's" % (rec["id"], id_of))
        if email:
            want(rec.get("email") == email, "record email %r, want %r" % (rec.get("email"), email))
        want(RECORD_ID_RE.match(rec["id"]), "record id format %r" % rec["id"])
    return check


def _same_body_as_unknown(ctx, r):
    other = ctx.call("POST", USERS + "/auth-with-password",
                     body={"identity": "nobody@example.com", "password": "wrongpass123"})
    want(other.status == r.status == 400, "unknown identity status %d" % other.status)
    want(other.body == r.body, "unknown identity body %r differs from wrong-password body %r" % (
        other.body[:200], r.body[:200]))


def _refresh_ok(ctx, r):
    check_auth_response(USERS_ID, "users", id_of="A", email=EMAILS["A"])(ctx, r)
    old = jwt_payload(ctx.tokens["A"])
    new = jwt_payload(r.json["token"])
    want(new["exp"] >= old["exp"], "refreshed exp %r < old exp %r" % (new["exp"], old["exp"]))


def _unknown_auth_coll(ctx, r):
    # spec §6: 404 "Missing or invalid auth collection context."; PocketBase
    # itself answers an unknown collection from its collectionPathRateLimit
    # middleware, before the handler: 404 "Missing or invalid collection
    # context."  Both are accepted.
    ok = (r.json == E_NO_AUTH_COLL or r.json == err(404, "Missing or invalid collection context."))
    want(ok, "body %s" % short(r.json))


def _refresh_unknown_coll(ctx, r):
    # spec §6.4 / Appendix B: 403 naming the token holder's collection;
    # PocketBase's collectionPathRateLimit middleware answers first with
    # 404 "Missing or invalid collection context."  Both are accepted.
    ok = (r.json == err(403, "The request requires auth record from users collection.")
          or r.json == err(404, "Missing or invalid collection context."))
    want(ok, "body %s" % short(r.json))


# -- auth methods -----------------------------------------------------------------------

AUTH_METHODS_SHAPE = {
    "password": {"enabled": True, "identityFields": lambda v: isinstance(v, list) and "email" in v},
    "oauth2": {"enabled": lambda v: isinstance(v, bool), "providers": lambda v: isinstance(v, list)},
    "mfa": {"enabled": False, "duration": 0},
    "otp": {"enabled": False, "duration": 0},
}

METHODS = [
    S("auth-methods: users guest 200 shape", "GET", USERS + "/auth-methods",
      subset=AUTH_METHODS_SHAPE),
    S("auth-methods: users by id", "GET", "/api/collections/_pb_users_auth_/auth-methods",
      subset=AUTH_METHODS_SHAPE),
    S("auth-methods: JS SDK fields=mfa,otp,password,oauth2", "GET",
      USERS + "/auth-methods?fields=mfa,otp,password,oauth2", subset=AUTH_METHODS_SHAPE),
    S("auth-methods: _superusers 200", "GET", "/api/collections/_superusers/auth-methods",
      subset=AUTH_METHODS_SHAPE),
    S("auth-methods: non-auth collection 404 exact", "GET", "/api/collections/posts/auth-methods",
      status=404, exact=E_NO_AUTH_COLL),
    S("auth-methods: unknown collection 404", "GET",
      "/api/collections/nope_nope/auth-methods", status=404, check=_unknown_auth_coll),
]


# -- auth with password -------------------------------------------------------------------

AWP = USERS + "/auth-with-password"

PASSWORD = [
    S("auth-with-password: success, JWT claims, record has email", "POST", AWP,
      body={"identity": EMAILS["A"], "password": USER_PASS},
      check=check_auth_response(USERS_ID, "users", id_of="A", email=EMAILS["A"])),
    S("auth-with-password: explicit identityField email", "POST", AWP,
      body={"identity": EMAILS["B"], "password": USER_PASS, "identityField": "email"},
      check=check_auth_response(USERS_ID, "users", id_of="B", email=EMAILS["B"])),
    S("auth-with-password: urlencoded body", "POST", AWP,
      raw=("identity=" + EMAILS["A"].replace("@", "%40") + "&password=" + USER_PASS).encode(),
      ctype="application/x-www-form-urlencoded",
      check=check_auth_response(USERS_ID, "users", id_of="A")),
    S("auth-with-password: fields=token,record.id", "POST", AWP + "?fields=token,record.id",
      body={"identity": EMAILS["A"], "password": USER_PASS},
      check=lambda c, r: want(set(r.json) == {"token", "record"} and set(r.json["record"]) == {"id"},
                              "picked %s" % short(r.json))),
    S("auth-with-password: wrong password 400 exact, same body as unknown identity", "POST",
      AWP, body={"identity": EMAILS["A"], "password": "wrongpass123"}, status=400,
      exact=E_AUTH, check=_same_body_as_unknown),
    S("auth-with-password: unknown identity 400 exact", "POST", AWP,
      body={"identity": "nobody@example.com", "password": "wrongpass123"}, status=400,
      exact=E_AUTH),
    S("auth-with-password: missing identity -> data.identity validation_required", "POST", AWP,
      body={"password": "whatever123"}, status=400,
      check=codes(MSG_FORM_INVALID, {"identity": "validation_required"}, only=True)),
    S("auth-with-password: missing password -> data.password validation_required", "POST", AWP,
      body={"identity": EMAILS["A"]}, status=400,
      check=codes(MSG_FORM_INVALID, {"password": "validation_required"}, only=True)),
    S("auth-with-password: empty body -> identity and password required", "POST", AWP,
      body={}, status=400,
      check=codes(MSG_FORM_INVALID, {"identity": "validation_required",
                                     "password": "validation_required"}, only=True)),
    S("auth-with-password: identityField not allowed -> data.identityField validation_in_invalid",
      "POST", AWP, body={"identity": "User A", "password": USER_PASS, "identityField": "name"},
      status=400, check=codes(MSG_FORM_INVALID, {"identityField": "validation_in_invalid"})),
    S("auth-with-password: malformed JSON 400 exact", "POST", AWP, raw=b'{"identity":',
      ctype="application/json", status=400, exact=err(400, MSG_FORM_LOAD)),
    S("auth-with-password: non-auth collection 404 exact", "POST",
      "/api/collections/posts/auth-with-password", body={"identity": "a", "password": "b"},
      status=404, exact=E_NO_AUTH_COLL),
    S("auth-with-password: unknown collection 404", "POST",
      "/api/collections/nope_nope/auth-with-password", body={"identity": "a", "password": "b"},
      status=404, check=_unknown_auth_coll),
    S("auth-with-password: superuser via _superusers", "POST",
      "/api/collections/_superusers/auth-with-password",
      body={"identity": SU_EMAIL, "password": SU_PASS},
      check=check_auth_response(SUPERUSERS_ID, "_superusers", id_of="su", email=SU_EMAIL)),
    S("auth-with-password: user credentials on _superusers 400 exact", "POST",
      "/api/collections/_superusers/auth-with-password",
      body={"identity": EMAILS["A"], "password": USER_PASS}, status=400, exact=E_AUTH),
    S("auth-with-password: superuser credentials on users 400 exact", "POST", AWP,
      body={"identity": SU_EMAIL, "password": SU_PASS}, status=400, exact=E_AUTH),
]


# -- auth refresh ----------------------------------------------------------------------------

REFRESH = USERS + "/auth-refresh"


def _forged_user(ctx):
    return jwt_sign({"collectionId": USERS_ID, "exp": int(time.time()) + 3600,
                     "id": ctx.ids["A"], "refreshable": True, "type": "auth"}, b"not-the-secret")


def _forged_su(ctx):
    return jwt_sign({"collectionId": SUPERUSERS_ID, "exp": int(time.time()) + 3600,
                     "id": ctx.ids["su"], "refreshable": True, "type": "auth"}, b"not-the-secret")


def _alg_none(ctx):
    return jwt_alg_none({"collectionId": USERS_ID, "exp": int(time.time()) + 3600,
                         "id": ctx.ids["A"], "refreshable": True, "type": "auth"})


BAD_TOKENS = [
    ("tampered signature", lambda c: jwt_tamper_signature(c.tokens["A"])),
    ("payload swapped to B", lambda c: jwt_swap_payload(c.tokens["A"], id=c.ids["B"])),
    ("payload exp extended", lambda c: jwt_swap_payload(c.tokens["A"],
                                                        exp=jwt_payload(c.tokens["A"])["exp"] + 999)),
    ("forged with a wrong key", _forged_user),
    ("alg none", _alg_none),
    ("garbage", lambda c: "not-a-jwt"),
    ("truncated", lambda c: c.tokens["A"][:-10]),
]

REFRESH_SC = [
    S("auth-refresh: no token 401 exact", "POST", REFRESH, status=401, exact=E401),
    S("auth-refresh: superuser token on users 403 exact", "POST", REFRESH, auth="su", status=403,
      exact=err(403, "The request requires auth record from _superusers collection.")),
    S("auth-refresh: user token on _superusers 403 exact", "POST",
      "/api/collections/_superusers/auth-refresh", auth="A", status=403,
      exact=err(403, "The request requires auth record from users collection.")),
    S("auth-refresh: user token on a non-auth collection 403 exact", "POST",
      "/api/collections/posts/auth-refresh", auth="A", status=403,
      exact=err(403, "The request requires auth record from users collection.")),
    S("auth-refresh: user token on an unknown collection 403 (or PB's 404)", "POST",
      "/api/collections/nope_nope/auth-refresh", auth="A", status=(403, 404),
      check=_refresh_unknown_coll),
    S("auth-refresh: valid token 200 new auth response", "POST", REFRESH, auth="A",
      check=_refresh_ok),
    S("auth-refresh: superuser on _superusers 200", "POST",
      "/api/collections/_superusers/auth-refresh", auth="su",
      check=check_auth_response(SUPERUSERS_ID, "_superusers", id_of="su", email=SU_EMAIL)),
    S("auth-refresh: 'Bearer <token>' accepted", "POST", REFRESH,
      auth=lambda c: "Bearer " + c.tokens["A"],
      check=check_auth_response(USERS_ID, "users", id_of="A")),
    S("auth-refresh: lower-case 'bearer <token>' accepted", "POST", REFRESH,
      auth=lambda c: "bearer " + c.tokens["A"],
      check=check_auth_response(USERS_ID, "users", id_of="A")),
    S("auth-refresh: upper-case 'BEARER <token>' accepted", "POST", REFRESH,
      auth=lambda c: "BEARER " + c.tokens["A"],
      check=check_auth_response(USERS_ID, "users", id_of="A")),
] + [
    S("auth-refresh: %s token 401 exact" % what, "POST", REFRESH, auth=make, status=401,
      exact=E401)
    for what, make in BAD_TOKENS
]


# -- tokens on a records list: bad token = guest -----------------------------------------------

def _own_notes_only(ctx, r):
    owners = {x["owner"] for x in r.json["items"]}
    want(owners == {ctx.ids["A"]}, "not authenticated as A (owners %s)" % owners)


def _as_guest(ctx, r):
    want(r.json["items"] == [] and r.json["totalItems"] == 0,
         "bad token was not treated as a guest: %s" % short(r.json))


TOKENS = [
    S("tokens: raw token authenticates on records list", "GET", NOTES, auth="A",
      check=_own_notes_only),
    S("tokens: 'Bearer <token>' authenticates on records list", "GET", NOTES,
      auth=lambda c: "Bearer " + c.tokens["A"], check=_own_notes_only),
    S("tokens: 'bearer <token>' authenticates on records list", "GET", NOTES,
      auth=lambda c: "bearer " + c.tokens["A"], check=_own_notes_only),
] + [
    S("tokens: %s token is a guest (200, not 401) on records list" % what, "GET", NOTES,
      auth=make, check=_as_guest)
    for what, make in BAD_TOKENS
] + [
    S("tokens: empty Authorization header is a guest", "GET", NOTES, auth=lambda c: "",
      check=_as_guest),
    S("tokens: 'Bearer' with no token is a guest", "GET", NOTES, auth=lambda c: "Bearer ",
      check=_as_guest),
    S("tokens: forged superuser token is a guest on /api/collections (401)", "GET",
      "/api/collections", auth=_forged_su, status=401, exact=E401),
    S("tokens: forged superuser token is a guest on a null-rule list (403)", "GET",
      "/api/collections/secrets/records", auth=_forged_su, status=403,
      exact=err(403, "Only superusers can perform this action.")),
    S("tokens: superuser token on a records list bypasses rules", "GET", NOTES, auth="su",
      check=lambda c, r: want(r.json["totalItems"] >= 2, "superuser saw %r notes" %
                              r.json["totalItems"])),
]


# -- expired token (runs last; waits for the 10 s shorty token to expire) -----------------------

SHORTY = "/api/collections/shorty"

EXPIRED = [
    S("tokens: expired token is a guest (200, not 401) on records list", "GET",
      SHORTY + "/records", auth="shorty", check=_as_guest, tags=("expired",)),
    S("tokens: expired token on auth-refresh 401 exact", "POST", SHORTY + "/auth-refresh",
      auth="shorty", status=401, exact=E401, tags=("expired",)),
    S("tokens: fresh shorty token still works after the old one expired", "GET",
      SHORTY + "/records",
      auth=lambda c: c.must("POST", SHORTY + "/auth-with-password",
                            body={"identity": EMAILS["shorty"], "password": USER_PASS})["token"],
      check=lambda c, r: want([x["id"] for x in r.json["items"]] == [c.ids["shorty"]],
                              "fresh token did not authenticate: %s" % short(r.json)),
      tags=("expired",)),
]


# -- auth-record create / update rules (§6.13) ----------------------------------------------------

def _signup_no_email(ctx, r):
    j = r.json
    want("email" not in j, "guest sign-up response shows email with emailVisibility false")
    want(j["emailVisibility"] is False and j["verified"] is False, "flags %s" % short(j))
    want(RECORD_ID_RE.match(j["id"]), "id %r" % j["id"])


def _new_user(key):
    """setup: sign up a throw-away user and log it in (vars[key] = {id,email,token})."""
    def setup(ctx):
        email = fresh_email()
        rec = ctx.must("POST", USERS + "/records",
                       body={"email": email, "password": USER_PASS, "passwordConfirm": USER_PASS})
        tok = ctx.must("POST", AWP, body={"identity": email, "password": USER_PASS})["token"]
        ctx.vars[key] = {"id": rec["id"], "email": email, "token": tok}
    return setup


def _self_path(key):
    return lambda c: USERS + "/records/" + c.vars[key]["id"]


def _self_auth(key):
    return lambda c: c.vars[key]["token"]


def _password_changed(ctx, r):
    want(r.json.get("email") == ctx.vars["pw_ok"]["email"], "owner's own email missing")
    old = ctx.call("POST", REFRESH, auth=_self_auth("pw_ok"))
    want(old.status == 401, "old token still valid after a password change: %d" % old.status)
    ctx.must("POST", AWP, body={"identity": ctx.vars["pw_ok"]["email"], "password": "newpass4567"})
    bad = ctx.call("POST", AWP, body={"identity": ctx.vars["pw_ok"]["email"], "password": USER_PASS})
    want(bad.status == 400, "old password still accepted: %d" % bad.status)


SIGNUP = [
    S("auth records: guest sign-up omits email (emailVisibility false)", "POST", USERS + "/records",
      body=lambda c: {"email": fresh_email(), "password": USER_PASS, "passwordConfirm": USER_PASS},
      check=_signup_no_email),
    S("auth records: sign-up with emailVisibility true shows email", "POST", USERS + "/records",
      body=lambda c: {"email": "visible@example.com", "emailVisibility": True,
                      "password": USER_PASS, "passwordConfirm": USER_PASS},
      subset={"email": "visible@example.com", "emailVisibility": True}),
    S("auth records: passwordConfirm mismatch", "POST", USERS + "/records",
      body=lambda c: {"email": fresh_email(), "password": USER_PASS, "passwordConfirm": "other12345"},
      status=400,
      check=codes(MSG_CREATE_FAIL, {"passwordConfirm": "validation_values_mismatch"}, only=True)),
    S("auth records: missing passwordConfirm", "POST", USERS + "/records",
      body=lambda c: {"email": fresh_email(), "password": USER_PASS}, status=400,
      check=codes(MSG_CREATE_FAIL, {"passwordConfirm": "validation_required"})),
    S("auth records: missing password", "POST", USERS + "/records",
      body=lambda c: {"email": fresh_email(), "passwordConfirm": USER_PASS}, status=400,
      check=codes(MSG_CREATE_FAIL, {"password": "validation_required"})),
    S("auth records: guest sending verified=true", "POST", USERS + "/records",
      body=lambda c: {"email": fresh_email(), "password": USER_PASS, "passwordConfirm": USER_PASS,
                      "verified": True},
      status=400, check=codes(MSG_CREATE_FAIL, {"verified": "validation_values_mismatch"})),
    S("auth records: verified=false accepted from a guest", "POST", USERS + "/records",
      body=lambda c: {"email": fresh_email(), "password": USER_PASS, "passwordConfirm": USER_PASS,
                      "verified": False}, subset={"verified": False}),
    S("auth records: duplicate email", "POST", USERS + "/records",
      body={"email": EMAILS["A"], "password": USER_PASS, "passwordConfirm": USER_PASS},
      status=400, check=codes(MSG_CREATE_FAIL, {"email": "validation_not_unique"})),
    S("auth records: invalid email", "POST", USERS + "/records",
      body={"email": "not-an-email", "password": USER_PASS, "passwordConfirm": USER_PASS},
      status=400, check=codes(MSG_CREATE_FAIL, {"email": "validation_is_email"})),
    S("auth records: password shorter than 8", "POST", USERS + "/records",
      body=lambda c: {"email": fresh_email(), "password": "short", "passwordConfirm": "short"},
      status=400, check=codes(MSG_CREATE_FAIL, {"password": "validation_min_text_constraint"})),
    S("auth records: superuser may create a verified user", "POST", USERS + "/records",
      auth="su", body=lambda c: {"email": "verified@example.com", "password": USER_PASS,
                                 "passwordConfirm": USER_PASS, "verified": True},
      subset={"verified": True, "email": "verified@example.com"}),
    S("auth records: self password change without oldPassword", "PATCH", _self_path("pw_noold"),
      auth=_self_auth("pw_noold"), setup=_new_user("pw_noold"),
      body={"password": "newpass4567", "passwordConfirm": "newpass4567"}, status=400,
      check=codes(MSG_UPDATE_FAIL, {"oldPassword": "validation_required"})),
    S("auth records: self password change with a wrong oldPassword", "PATCH",
      _self_path("pw_wrong"), auth=_self_auth("pw_wrong"), setup=_new_user("pw_wrong"),
      body={"oldPassword": "wrongpass000", "password": "newpass4567",
            "passwordConfirm": "newpass4567"}, status=400,
      check=codes(MSG_UPDATE_FAIL, {"oldPassword": "validation_invalid_old_password"})),
    S("auth records: self password change ok, old token and password dead", "PATCH",
      _self_path("pw_ok"), auth=_self_auth("pw_ok"), setup=_new_user("pw_ok"),
      body={"oldPassword": USER_PASS, "password": "newpass4567", "passwordConfirm": "newpass4567"},
      check=_password_changed),
    S("auth records: self email change by a non-manager", "PATCH", _self_path("em_self"),
      auth=_self_auth("em_self"), setup=_new_user("em_self"),
      body={"email": "changed@example.com"}, status=400,
      check=codes(MSG_UPDATE_FAIL, {"email": "validation_values_mismatch"})),
    S("auth records: self update of a normal field", "PATCH", _self_path("name_self"),
      auth=_self_auth("name_self"), setup=_new_user("name_self"), body={"name": "Renamed"},
      subset=lambda c: {"name": "Renamed", "email": c.vars["name_self"]["email"]}),
    S("auth records: other user cannot update me (404)", "PATCH", _self_path("other_upd"),
      auth="B", setup=_new_user("other_upd"), body={"name": "Hijack"}, status=404,
      exact=err(404, "The requested resource wasn't found.")),
]


# PocketBase: superusers are verified by definition; both routes are a 400 first.
SUPER_VERIFY = [
    S("request-verification: _superusers 400", "POST",
      "/api/collections/_superusers/request-verification", body={"email": "admin@example.com"},
      status=400, exact=err(400, "All superusers are verified by default.")),
    S("confirm-verification: _superusers 400 before the token", "POST",
      "/api/collections/_superusers/confirm-verification", body={"token": "x"},
      status=400, exact=err(400, "All superusers are verified by default.")),
]


# -- look-alike identities ---------------------------------------------------------
# An address with an invisible character (zero-width space U+200B, soft hyphen
# U+00AD, BOM U+FEFF, word joiner U+2060, bidi mark U+200E, a control) would make
# a second account that looks like an existing one: refused everywhere an
# identity comes in. Surrounding whitespace is refused too, not trimmed
# (PocketBase's is.EmailFormat neither trims nor accepts it).

LOOKALIKES = [EMAILS["A"] + "\u200b", "\u00ad" + EMAILS["A"], EMAILS["A"] + "\ufeff",
              EMAILS["A"].replace("@", "\u2060@"), "\u200e" + EMAILS["A"],
              EMAILS["A"] + "\u0085", EMAILS["A"].replace("@", "@\u00a0"), " " + EMAILS["A"],
              EMAILS["A"] + "\n", EMAILS["A"] + "\u3164"]

def _members_collection(ctx):
    """An auth collection that logs in by email or username (once per run)."""
    if ctx.call("GET", "/api/collections/probe_members", auth="su").status == 200:
        return
    ctx.must("POST", "/api/collections", auth="su", body={
        "name": "probe_members", "type": "auth", "createRule": "", "viewRule": "",
        "fields": [{"name": "username", "type": "text"}],
        "indexes": ["CREATE UNIQUE INDEX idx_probe_members_username ON probe_members (username)"],
        "passwordAuth": {"enabled": True, "identityFields": ["email", "username"]}})


LOOKALIKE = [
    S("look-alike identities: sign-up with %r -> 400 email validation_is_email" % e, "POST",
      USERS + "/records", body={"email": e, "password": USER_PASS, "passwordConfirm": USER_PASS},
      status=400, check=codes(MSG_CREATE_FAIL, {"email": "validation_is_email"}))
    for e in LOOKALIKES
] + [
    S("look-alike identities: superuser update to %r -> 400 email validation_is_email" % e,
      "PATCH", lambda c: USERS + "/records/" + c.ids["B"], auth="su", body={"email": e},
      status=400, check=codes(MSG_UPDATE_FAIL, {"email": "validation_is_email"}))
    for e in LOOKALIKES[:3]
] + [
    S("look-alike identities: %s with %r -> 400 %s validation_is_email" % (path, e, key), "POST",
      USERS + "/" + path, auth=auth, body={key: e}, status=400,
      check=codes(MSG_FORM_INVALID, {key: "validation_is_email"}))
    for path, key, auth in (("request-password-reset", "email", None),
                            ("request-verification", "email", None),
                            # request-otp: tests/e2e/mailflows.test.mjs (OTP is off here)
                            ("request-email-change", "newEmail", "A"))
    for e in LOOKALIKES[:2]
] + [
    S("look-alike identities: auth-with-password with %r -> 400 identity validation_match_invalid"
      % e, "POST", USERS + "/auth-with-password", body={"identity": e, "password": USER_PASS},
      status=400, check=codes(MSG_FORM_INVALID, {"identity": "validation_match_invalid"}))
    for e in LOOKALIKES[:6]
] + [
    S("look-alike identities: auth-with-password with surrounding spaces fails to authenticate",
      "POST", USERS + "/auth-with-password",
      body={"identity": " " + EMAILS["A"] + " ", "password": USER_PASS}, status=400,
      exact=E_AUTH),
    S("look-alike identities: a base collection's email field refuses them too", "POST",
      "/api/collections/probe_contacts/records", auth="su",
      setup=lambda c: c.must("POST", "/api/collections", auth="su",
                             body={"name": "probe_contacts", "createRule": "",
                                   "fields": [{"name": "mail", "type": "email"}]}),
      body={"mail": "someone@example.com\u200b"}, status=400,
      check=codes(MSG_CREATE_FAIL, {"mail": "validation_is_email"})),
] + [
    S("look-alike identities: a username identity field with %r -> 400 validation_match_invalid"
      % u, "POST", "/api/collections/probe_members/records",
      setup=_members_collection,
      body={"email": fresh_email(), "username": u, "password": USER_PASS,
            "passwordConfirm": USER_PASS}, status=400,
      check=codes(MSG_CREATE_FAIL, {"username": "validation_match_invalid"}))
    for u in ("bob\u200b", "\u00adbob", " bob", "bob ", "b\u2060ob")
] + [
    S("look-alike identities: a plain username identity is fine", "POST",
      "/api/collections/probe_members/records", setup=_members_collection,
      body={"email": fresh_email(), "username": "Bob Smith", "password": USER_PASS,
            "passwordConfirm": USER_PASS}, subset={"username": "Bob Smith"}),
    S("look-alike identities: an internationalised address is still fine", "POST",
      USERS + "/records",
      body={"email": "j\u00fcrgen@b\u00fccher.example", "password": USER_PASS,
            "passwordConfirm": USER_PASS},
      subset={"collectionName": "users"}),
]


SCENARIOS = METHODS + PASSWORD + REFRESH_SC + TOKENS + SIGNUP + SUPER_VERIFY + LOOKALIKE
LAST = EXPIRED


def _rotation_setup(ctx):
    """An auth collection of its own (rotating its secret must not touch the
    other scenarios' tokens) with one user, logged in; the token is used a few
    times so every worker's verified-token cache may hold it."""
    name = "tokrot"
    ctx.must("POST", "/api/collections", auth="su",
             body={"name": name, "type": "auth", "authRule": "", "fields": []})
    base = "/api/collections/" + name
    email = fresh_email()
    ctx.must("POST", base + "/records", auth="su",
             body={"email": email, "password": USER_PASS, "passwordConfirm": USER_PASS})
    tok = ctx.must("POST", base + "/auth-with-password",
                   body={"identity": email, "password": USER_PASS})["token"]
    for _ in range(4):
        ctx.must("POST", base + "/auth-refresh", auth=lambda c: tok)
    ctx.vars["rot"] = {"token": tok, "base": base}


def _rotated_token_dies(ctx, r):
    base = ctx.vars["rot"]["base"]
    for _ in range(4):
        old = ctx.call("POST", base + "/auth-refresh", auth=lambda c: c.vars["rot"]["token"])
        want(old.status == 401,
             "a token verified before still works after the secret changed: %d" % old.status)


AUTH_TOKEN_CACHE = [
    S("auth tokens: a token verified before dies when its collection's secret changes", "PATCH",
      "/api/collections/tokrot", auth="su", setup=_rotation_setup,
      body={"authToken": {"secret": "x" * 32 + "rotated-secret-value"}},
      check=_rotated_token_dies),
]
SCENARIOS = SCENARIOS + AUTH_TOKEN_CACHE
