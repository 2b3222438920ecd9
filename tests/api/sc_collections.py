"""Scenarios: health, routing, and the collections management API (§5.6,
Appendix B)."""

from apilib import (says_where, ANY, MSG_401, MSG_403_SUPER, MSG_404, MSG_400,
                    MSG_COLL_CREATE_FAIL, MSG_COLL_UPDATE_FAIL, MSG_IMPORT_FAIL,
                    MSG_FORM_INVALID, USERS_ID, SUPERUSERS_ID, DATE_RE,
                    Scenario as S, err, codes, want, collection_id, get_path, short,
                    jwt_tamper_signature)

E401 = err(401, MSG_401)
E403 = err(403, MSG_403_SUPER)
E404 = err(404, MSG_404)
E400 = err(400, MSG_400)


def is_list_result(j):
    return (isinstance(j, dict) and {"page", "perPage", "totalItems", "totalPages", "items"} <= set(j)
            and isinstance(j["items"], list))


def field_names(coll):
    return [f["name"] for f in coll["fields"]]


def find_secret_keys(v, path="$"):
    out = []
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "secret":
                out.append("%s.%s" % (path, k))
            out.extend(find_secret_keys(x, "%s.%s" % (path, k)))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out.extend(find_secret_keys(x, "%s[%d]" % (path, i)))
    return out


# -- health / routing --------------------------------------------------------

def _health_su(ctx, r):
    d = r.json["data"]
    want(d.get("canBackup") is True, "superuser health data.canBackup not true while idle: %s" % short(d))
    want("realIP" in d and "possibleProxyHeader" in d,
         "superuser health data lacks realIP/possibleProxyHeader: %s" % short(d))


HEALTH = [
    S("health: guest 200 exact body", "GET", "/api/health",
      exact={"message": "API is healthy.", "code": 200, "data": {}}),
    S("health: user token 200 exact body", "GET", "/api/health", auth="A",
      exact={"message": "API is healthy.", "code": 200, "data": {}}),
    S("health: superuser data has canBackup/realIP/possibleProxyHeader", "GET", "/api/health",
      auth="su", subset={"message": "API is healthy.", "code": 200}, check=_health_su),
    S("routing: unknown /api route 404 exact body", "GET", "/api/nope", exact=E404, status=404),
    S("routing: unknown nested route 404", "GET", "/api/collections/posts/records/x/y/z",
      exact=E404, status=404),
    S("routing: unknown route with superuser 404", "GET", "/api/definitely/not/here",
      auth="su", exact=E404, status=404),
    S("routing: POST /api/health 405 with error shape", "POST", "/api/health", body={},
      status=405),
    S("routing: PUT on records collection route 405", "PUT",
      "/api/collections/posts/records", body={}, status=405),
    S("routing: OPTIONS preflight on unknown path 204", "OPTIONS", "/api/whatever",
      headers={"Origin": "http://example.com",
               "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "Authorization"},
      status=204),
]


# -- auth guards on every collections endpoint --------------------------------

GUARDED = [
    ("list", "GET", "/api/collections", None),
    ("view", "GET", "/api/collections/posts", None),
    ("create", "POST", "/api/collections", {"name": "guard_probe"}),
    ("update", "PATCH", "/api/collections/posts", {"listRule": None}),
    ("delete", "DELETE", "/api/collections/posts", None),
    ("truncate", "DELETE", "/api/collections/posts/truncate", None),
    ("import", "PUT", "/api/collections/import",
     {"collections": [{"name": "guard_probe", "type": "base"}]}),
    ("scaffolds", "GET", "/api/collections/meta/scaffolds", None),
]


def _guard_scenarios():
    from apilib import NOBODY
    out = []
    for what, method, path, body in GUARDED:
        b = body if body is not None else NOBODY
        out.append(S("collections %s: guest 401 exact" % what, method, path, body=b,
                     status=401, exact=E401))
        out.append(S("collections %s: user token 403 exact" % what, method, path, body=b,
                     auth="A", status=403, exact=E403))
    # a tampered superuser token is a guest (401), not a forbidden user
    out.append(S("collections list: tampered superuser token is a guest 401", "GET",
                 "/api/collections", auth=lambda c: jwt_tamper_signature(c.tokens["su"]),
                 status=401, exact=E401))
    out.append(S("collections list: 'Bearer <superuser token>' accepted", "GET",
                 "/api/collections", auth=lambda c: "Bearer " + c.tokens["su"],
                 check=lambda c, r: want(is_list_result(r.json), "not a list result")))
    # posts must be untouched by all of the rejected writes above
    out.append(S("collections: rejected guest/user writes left posts intact", "GET",
                 "/api/collections/posts/records?perPage=1", auth="su",
                 check=lambda c, r: want(r.json["totalItems"] >= 2,
                                         "posts lost records: %s" % short(r.json))))
    return out


# -- list / view ---------------------------------------------------------------

def _list_has_system(ctx, r):
    want(is_list_result(r.json), "not a list result")
    names = [c["name"] for c in r.json["items"]]
    for n in ("_superusers", "users", "posts", "secrets", "notes"):
        want(n in names, "%s not listed (got %s)" % (n, names))
    want(r.json["totalItems"] >= 5, "totalItems %r" % r.json["totalItems"])
    want(not find_secret_keys(r.json), "token secrets serialized: %s" % find_secret_keys(r.json)[:3])


def _only_posts(ctx, r):
    want([c["name"] for c in r.json["items"]] == ["posts"],
         "items %s" % [c["name"] for c in r.json["items"]])
    want(r.json["totalItems"] == 1, "totalItems %r" % r.json["totalItems"])


def _sorted_desc(ctx, r):
    names = [c["name"] for c in r.json["items"]]
    want(names == sorted(names, reverse=True), "not sorted by -name: %s" % names)


def _view_posts(ctx, r):
    j = r.json
    want(j["id"] == collection_id("base", "posts") == "pbc_1125843985", "posts id %r" % j["id"])
    want(j["name"] == "posts" and j["type"] == "base" and j["system"] is False, "name/type/system")
    names = field_names(j)
    for n in ("id", "title", "views", "published", "tags", "author", "meta", "due", "secret",
              "created", "updated"):
        want(n in names, "field %s missing: %s" % (n, names))
    idf = j["fields"][names.index("id")]
    want(idf["system"] is True and idf.get("primaryKey") is True, "id field not system PK")
    want(j["listRule"] == "" and j["createRule"] == '@request.auth.id != ""', "rules not echoed")
    want(DATE_RE.match(j["created"]) and DATE_RE.match(j["updated"]), "created/updated format")


def _view_users(ctx, r):
    j = r.json
    want(j["id"] == USERS_ID and j["name"] == "users" and j["type"] == "auth", "users identity")
    names = field_names(j)
    for n in ("id", "password", "tokenKey", "email", "emailVisibility", "verified", "name", "avatar"):
        want(n in names, "field %s missing" % n)
    want(not find_secret_keys(j), "token secrets serialized: %s" % find_secret_keys(j)[:3])
    want(j.get("passwordAuth", {}).get("enabled") is True, "passwordAuth.enabled")


LIST_VIEW = [
    S("collections list: superuser 200 lists system and test collections", "GET",
      "/api/collections?perPage=100", auth="su", check=_list_has_system),
    S("collections list: filter name='posts'", "GET",
      "/api/collections?filter=name%3D'posts'", auth="su", check=_only_posts),
    S("collections list: sort=-name", "GET", "/api/collections?sort=-name&perPage=200",
      auth="su", check=_sorted_desc),
    S("collections list: perPage=1 pages", "GET", "/api/collections?perPage=1&page=2", auth="su",
      subset={"page": 2, "perPage": 1, "items": [ANY]}),
    S("collections list: bad filter 400 says what and where", "GET", "/api/collections?filter=name%3D",
      auth="su", status=400, check=says_where()),
    S("collections list: unknown filter field 400 says what and where", "GET",
      "/api/collections?filter=nosuch%3D1", auth="su", status=400, check=says_where("nosuch")),
    S("collections view: posts by name", "GET", "/api/collections/posts", auth="su",
      check=_view_posts),
    S("collections view: posts by id", "GET", "/api/collections/pbc_1125843985", auth="su",
      subset={"id": "pbc_1125843985", "name": "posts"}),
    S("collections view: name is case-insensitive", "GET", "/api/collections/POSTS", auth="su",
      subset={"id": "pbc_1125843985", "name": "posts"}),
    S("collections view: users (auth) shape, no token secrets", "GET",
      "/api/collections/users", auth="su", check=_view_users),
    S("collections view: _superusers well-known id", "GET", "/api/collections/_superusers",
      auth="su", subset={"id": SUPERUSERS_ID, "name": "_superusers", "type": "auth",
                         "system": True}),
    S("collections view: unknown 404 exact", "GET", "/api/collections/nope_nope", auth="su",
      status=404, exact=E404),
]


# -- create --------------------------------------------------------------------

def _created_probe(ctx, r):
    j = r.json
    want(j["id"] == collection_id("base", "probe_created"), "id %r != pbc_crc32" % j["id"])
    want(j["name"] == "probe_created" and j["type"] == "base", "name/type")
    names = field_names(j)
    want(names[0] == "id", "first field %r, want id" % names[0])
    want("t" in names and "n" in names, "fields %s" % names)
    want(j["listRule"] == "" and j["viewRule"] is None, "rules listRule=%r viewRule=%r" % (
        j["listRule"], j["viewRule"]))
    got = ctx.must("GET", "/api/collections/probe_created", auth="su")
    want(got["id"] == j["id"], "created collection not viewable")
    # and it works as a records endpoint (listRule "")
    lst = ctx.must("GET", "/api/collections/probe_created/records")
    want(lst["items"] == [] and lst["totalItems"] == 0, "fresh collection not empty")


def _created_auth(ctx, r):
    names = field_names(r.json)
    for n in ("id", "password", "tokenKey", "email", "emailVisibility", "verified"):
        want(n in names, "auth system field %s missing: %s" % (n, names))
    want(r.json["id"] == collection_id("auth", "probe_auth"), "id %r" % r.json["id"])
    want(not find_secret_keys(r.json), "token secrets serialized")


CREATE = [
    S("collections create: superuser 200 base collection", "POST", "/api/collections",
      auth="su", body={"name": "probe_created", "listRule": "",
                       "fields": [{"name": "t", "type": "text"}, {"name": "n", "type": "number"}]},
      check=_created_probe),
    S("collections create: type auth gets system auth fields", "POST", "/api/collections",
      auth="su", body={"name": "probe_auth", "type": "auth"}, check=_created_auth),
    S("collections create: bad name -> data.name", "POST", "/api/collections", auth="su",
      body={"name": "bad name!"}, status=400,
      check=codes(MSG_COLL_CREATE_FAIL,
                  {"name": ("validation_match_invalid", "validation_collection_name_invalid")})),
    S("collections create: empty name -> data.name validation_required", "POST",
      "/api/collections", auth="su", body={"name": ""}, status=400,
      check=codes(MSG_COLL_CREATE_FAIL, {"name": "validation_required"})),
    S("collections create: duplicate name -> validation_collection_name_exists", "POST",
      "/api/collections", auth="su", body={"name": "posts"}, status=400,
      check=codes(MSG_COLL_CREATE_FAIL, {"name": "validation_collection_name_exists"})),
    S("collections create: duplicate name is case-insensitive", "POST", "/api/collections",
      auth="su", body={"name": "USERS"}, status=400,
      check=codes(MSG_COLL_CREATE_FAIL, {"name": "validation_collection_name_exists"})),
] + [
    # A collection's table is named after it: an internal table's name (SQLite's
    # sqlite_*, our system tables, scratch tables, indexes), in any case, is a 400
    # on name as PocketBase answers, not a 500 from the DDL.
    S("collections create: internal table name %s -> validation_collection_name_invalid" % n,
      "POST", "/api/collections", auth="su", body={"name": n}, status=400,
      check=codes(MSG_COLL_CREATE_FAIL, {"name": "validation_collection_name_invalid"}))
    for n in ("sqlite_master", "sqlite_schema", "SQLITE_SEQUENCE", "sqlite_stat1", "Sqlite_x",
              "_collections", "_params", "_jobs", "_PARAMS", "_tmp_pbc_1",
              "__pb_users_auth__email")
] + [
    # The auth system collections (spec §5.5) are collections, as in PocketBase:
    # their names are taken, not internal tables (_otps was one before).
    S("collections create: system collection name %s -> validation_collection_name_exists" % n,
      "POST", "/api/collections", auth="su", body={"name": n}, status=400,
      check=codes(MSG_COLL_CREATE_FAIL, {"name": "validation_collection_name_exists"}))
    for n in ("_otps", "_MFAS", "_authOrigins")
] + [
    S("collections create: a name merely containing sqlite_ is fine", "POST", "/api/collections",
      auth="su", body={"name": "my_sqlite_notes"}, check=lambda c, r: c.must(
          "DELETE", "/api/collections/my_sqlite_notes", auth="su", status=204)),
    S("collections create: bad collection type -> data.type validation_in_invalid", "POST",
      "/api/collections", auth="su", body={"name": "probe_badtype", "type": "bogus"},
      status=400, check=codes(MSG_COLL_CREATE_FAIL, {"type": "validation_in_invalid"})),
    S("collections create: invalid field type -> 400", "POST", "/api/collections", auth="su",
      body={"name": "probe_badfield", "fields": [{"name": "a", "type": "bogus"}]},
      status=400, check=lambda c, r: _bad_field_type(r)),
    S("collections create: relation to a missing collection -> data.fields.N.collectionId",
      "POST", "/api/collections", auth="su",
      body={"name": "probe_badrel",
            "fields": [{"name": "r", "type": "relation", "collectionId": "pbc_0000000000"}]},
      status=400,
      check=codes(MSG_COLL_CREATE_FAIL,
                  {"fields.*.collectionId": ("validation_field_relation_missing_collection",
                                             "validation_missing_rel_collection")})),
    S("collections create: duplicate field name -> data.fields.N.name", "POST",
      "/api/collections", auth="su",
      body={"name": "probe_dupfield", "fields": [{"name": "a", "type": "text"},
                                                 {"name": "A", "type": "text"}]},
      status=400,
      check=codes(MSG_COLL_CREATE_FAIL,
                  {"fields.*.name": ("validation_duplicated_field_name", "validation_not_unique")})),
    S("collections create: reserved field name -> data.fields.N.name", "POST",
      "/api/collections", auth="su",
      body={"name": "probe_reserved", "fields": [{"name": "expand", "type": "text"}]},
      status=400, check=lambda c, r: want(get_path(r.json["data"], "fields.*.name"),
                                          "no data.fields.N.name: %s" % short(r.json["data"]))),
    S("collections create: bad index SQL -> data.indexes.0 validation_invalid_index_expression",
      "POST", "/api/collections", auth="su",
      body={"name": "probe_badidx", "fields": [{"name": "a", "type": "text"}],
            "indexes": ["CREATE INDEX oops"]},
      status=400,
      check=codes(MSG_COLL_CREATE_FAIL, {"indexes.0": "validation_invalid_index_expression"})),
    S("collections create: rule with unknown field -> data.listRule validation_invalid_rule",
      "POST", "/api/collections", auth="su",
      body={"name": "probe_badrule", "listRule": "nosuchfield = 1"}, status=400,
      check=codes(MSG_COLL_CREATE_FAIL, {"listRule": "validation_invalid_rule"}, only=True)),
    S("collections create: rule syntax error -> data.createRule validation_invalid_rule",
      "POST", "/api/collections", auth="su",
      body={"name": "probe_badrule2", "createRule": "((("}, status=400,
      check=codes(MSG_COLL_CREATE_FAIL, {"createRule": "validation_invalid_rule"})),
    S("collections create: pre-v0.23 @request.data rule rejected", "POST", "/api/collections",
      auth="su", body={"name": "probe_badrule3", "listRule": "@request.data.x = 1"},
      status=400, check=codes(MSG_COLL_CREATE_FAIL, {"listRule": "validation_invalid_rule"})),
    S("collections create: failed creates left nothing behind", "GET",
      "/api/collections?filter=name~'probe_bad'", auth="su",
      check=lambda c, r: want(r.json["items"] == [], "failed creates persisted: %s" % [
          x["name"] for x in r.json["items"]])),
    S("collections create: malformed JSON body 400", "POST", "/api/collections", auth="su",
      raw=b"{not json", ctype="application/json", status=400,
      check=lambda c, r: want(r.json["data"] == {}, "data not empty")),
]


def _bad_field_type(r):
    # PB answers "Failed to load the submitted data due to invalid formatting."
    # with data {} (the field list fails to unmarshal); a per-field error
    # (data.fields.N.type) is an acceptable, more precise alternative.
    j = r.json
    per_field = get_path(j["data"], "fields.*.type")
    if per_field:
        want(j["message"] == MSG_COLL_CREATE_FAIL, "message %r" % j["message"])
        want("code" in per_field[0], "data.fields.N.type has no code")
    else:
        want(j["data"] == {}, "unexpected data %s" % short(j["data"]))


# -- update --------------------------------------------------------------------

def _setup_rename(ctx):
    c = ctx.new_collection({"name": "ren_src", "listRule": "", "viewRule": "",
                            "fields": [{"name": "old", "type": "text"},
                                       {"name": "other", "type": "number"}]})
    ctx.vars["ren_coll"] = c
    ctx.vars["ren_rec"] = ctx.must("POST", "/api/collections/ren_src/records", auth="su",
                                   body={"old": "kept value", "other": 42})


def _rename_body(ctx):
    fields = [dict(f) for f in ctx.vars["ren_coll"]["fields"]]
    for f in fields:
        if f["name"] == "old":
            f["name"] = "renamed"
    return {"fields": fields}


def _renamed(ctx, r):
    names = field_names(r.json)
    want("renamed" in names and "old" not in names, "fields after rename: %s" % names)
    old_id = [f["id"] for f in ctx.vars["ren_coll"]["fields"] if f["name"] == "old"][0]
    new_id = [f["id"] for f in r.json["fields"] if f["name"] == "renamed"][0]
    want(old_id == new_id, "field id changed on rename: %s -> %s" % (old_id, new_id))
    rec = ctx.must("GET", "/api/collections/ren_src/records/" + ctx.vars["ren_rec"]["id"])
    want(rec.get("renamed") == "kept value", "data not kept under new name: %s" % short(rec))
    want("old" not in rec, "old field name still in record")
    want(rec.get("other") == 42, "other field changed: %s" % short(rec))


def _setup_cren(ctx):
    ctx.new_collection({"name": "cren_a", "listRule": "", "fields": [{"name": "t", "type": "text"}]})
    ctx.must("POST", "/api/collections/cren_a/records", auth="su", body={"t": "survivor"})


def _coll_renamed(ctx, r):
    want(r.json["name"] == "cren_b", "name %r" % r.json["name"])
    ctx.must("GET", "/api/collections/cren_a", auth="su", status=404)
    lst = ctx.must("GET", "/api/collections/cren_b/records")
    want([x["t"] for x in lst["items"]] == ["survivor"], "records after rename: %s" % short(lst))


def _rules_updated(ctx, r):
    want(r.json["listRule"] is None, "listRule %r" % r.json["listRule"])
    # now guests are locked out of listing
    g = ctx.call("GET", "/api/collections/rules_upd/records")
    want(g.status == 403, "guest list after listRule=null: %d" % g.status)


UPDATE = [
    # Dropping fields that oauth2.mappedFields still names is refused (it was
    # stored, and every later schema change then failed, and the data
    # directory no longer opened): PocketBase answers the same field error.
    S("collections update: removing an oauth2-mapped field is refused", "PATCH",
      "/api/collections/users", auth="su",
      body={"fields": [{"name": "role", "type": "text"}]}, status=400,
      check=codes(MSG_COLL_UPDATE_FAIL, {"oauth2.mappedFields.name": "validation_missing_field",
                                         "oauth2.mappedFields.avatarURL":
                                             "validation_missing_field"})),
    S("collections update: with the mapping cleared the same fields go", "PATCH",
      "/api/collections/oauthmap", auth="su",
      setup=lambda ctx: ctx.new_collection({"name": "oauthmap", "type": "auth", "fields": [
          {"name": "name", "type": "text"}, {"name": "avatar", "type": "text"}],
          "oauth2": {"mappedFields": {"name": "name", "avatarURL": "avatar"}}}),
      body={"fields": [{"name": "role", "type": "text"}],
            "oauth2": {"mappedFields": {"name": "", "avatarURL": ""}}},
      check=lambda ctx, r: want("name" not in field_names(r.json), "name kept")),
    S("collections update: rename a field keeps its data", "PATCH", "/api/collections/ren_src",
      auth="su", setup=_setup_rename, body=_rename_body, check=_renamed),
    S("collections update: rename the collection keeps records", "PATCH",
      "/api/collections/cren_a", auth="su", setup=_setup_cren, body={"name": "cren_b"},
      check=_coll_renamed),
    S("collections update: set a rule to null locks guests out", "PATCH",
      "/api/collections/rules_upd", auth="su",
      setup=lambda c: c.new_collection({"name": "rules_upd", "listRule": ""}),
      body={"listRule": None}, check=_rules_updated),
    S("collections update: invalid rule -> 400 data.listRule", "PATCH", "/api/collections/posts",
      auth="su", body={"listRule": "nosuch = 1"}, status=400,
      check=codes(MSG_COLL_UPDATE_FAIL, {"listRule": "validation_invalid_rule"})),
    S("collections update: type change rejected", "PATCH", "/api/collections/posts", auth="su",
      body={"type": "auth"}, status=400,
      check=codes(MSG_COLL_UPDATE_FAIL, {"type": "validation_collection_type_change"})),
    S("collections update: rename a system collection rejected", "PATCH",
      "/api/collections/_superusers", auth="su", body={"name": "admins"}, status=400,
      check=codes(MSG_COLL_UPDATE_FAIL, {"name": "validation_collection_system_name_change"})),
    S("collections update: rename onto an existing name rejected", "PATCH",
      "/api/collections/secrets", auth="su", body={"name": "notes"}, status=400,
      check=codes(MSG_COLL_UPDATE_FAIL, {"name": "validation_collection_name_exists"})),
    S("collections update: rename onto an internal table rejected", "PATCH",
      "/api/collections/secrets", auth="su", body={"name": "_Collections"}, status=400,
      check=codes(MSG_COLL_UPDATE_FAIL, {"name": "validation_collection_name_invalid"})),
    S("collections update: failed updates left posts unchanged", "GET", "/api/collections/posts",
      auth="su", subset={"name": "posts", "type": "base", "listRule": ""}),
    S("collections update: unknown collection 404 exact", "PATCH", "/api/collections/nope_nope",
      auth="su", body={"listRule": ""}, status=404, exact=E404),
]


# -- delete / truncate ----------------------------------------------------------

def _deleted(ctx, r):
    ctx.must("GET", "/api/collections/del_me", auth="su", status=404)
    g = ctx.call("GET", "/api/collections/del_me/records", auth="su")
    want(g.status == 404, "records of a deleted collection: %d" % g.status)


def _truncated(ctx, r):
    lst = ctx.must("GET", "/api/collections/trunc_me/records", auth="su")
    want(lst["totalItems"] == 0 and lst["items"] == [], "records left: %s" % short(lst))
    ctx.must("GET", "/api/collections/trunc_me", auth="su")


def _setup_trunc(ctx):
    ctx.new_collection({"name": "trunc_me", "fields": [{"name": "t", "type": "text"}]})
    for t in ("one", "two", "three"):
        ctx.must("POST", "/api/collections/trunc_me/records", auth="su", body={"t": t})


DELETE = [
    S("collections delete: superuser 204 then 404", "DELETE", "/api/collections/del_me",
      auth="su", setup=lambda c: c.new_collection({"name": "del_me"}), status=204,
      check=_deleted),
    S("collections delete: by id", "DELETE",
      lambda c: "/api/collections/" + c.vars["del_by_id"]["id"], auth="su",
      setup=lambda c: c.vars.__setitem__("del_by_id", c.new_collection({"name": "del_by_id"})),
      status=204),
    S("collections delete: system collection _superusers 400", "DELETE",
      "/api/collections/_superusers", auth="su", status=400,
      check=lambda c, r: c.must("GET", "/api/collections/_superusers", auth="su")),
    S("collections delete: collection referenced by a relation 400", "DELETE",
      "/api/collections/users", auth="su", status=400,
      check=lambda c, r: c.must("GET", "/api/collections/users", auth="su")),
    S("collections delete: unknown 404 exact", "DELETE", "/api/collections/nope_nope",
      auth="su", status=404, exact=E404),
    S("collections truncate: superuser 204 empties records", "DELETE",
      "/api/collections/trunc_me/truncate", auth="su", setup=_setup_trunc, status=204,
      check=_truncated),
    S("collections truncate: unknown 404 exact", "DELETE", "/api/collections/nope_nope/truncate",
      auth="su", status=404, exact=E404),
]


# -- import / scaffolds -----------------------------------------------------------

def _imported(ctx, r):
    c = ctx.must("GET", "/api/collections/imported_one", auth="su")
    want("t" in field_names(c), "imported field missing: %s" % field_names(c))
    # existing collections untouched (deleteMissing false)
    ctx.must("GET", "/api/collections/posts", auth="su")


def _scaffolds(ctx, r):
    j = r.json
    for t in ("base", "auth", "view"):
        want(t in j, "scaffold %s missing" % t)
        want(j[t]["type"] == t and j[t]["id"] == "" and j[t]["name"] == "",
             "scaffold %s: type=%r id=%r name=%r" % (t, j[t].get("type"), j[t].get("id"),
                                                    j[t].get("name")))
    want("id" in field_names(j["base"]), "base scaffold lacks id field")
    for n in ("password", "tokenKey", "email", "emailVisibility", "verified"):
        want(n in field_names(j["auth"]), "auth scaffold lacks %s" % n)
    want(not find_secret_keys(j), "token secrets serialized")


IMPORT = [
    S("collections import: superuser 204 creates the collection", "PUT",
      "/api/collections/import", auth="su",
      body={"collections": [{"name": "imported_one", "type": "base",
                             "fields": [{"name": "t", "type": "text"}]}],
            "deleteMissing": False},
      status=204, check=_imported),
    S("collections import: invalid collection -> 400 Failed to import collections.", "PUT",
      "/api/collections/import", auth="su",
      body={"collections": [{"name": "bad name", "type": "base"}]}, status=400,
      check=lambda c, r: want(r.json["message"] == MSG_IMPORT_FAIL and r.json["data"],
                              "message %r data %s" % (r.json["message"], short(r.json["data"])))),
    S("collections import: an internal table name -> 400, nothing imported", "PUT",
      "/api/collections/import", auth="su",
      body={"collections": [{"name": "imported_two", "type": "base"},
                            {"name": "sqlite_sequence", "type": "base"}]}, status=400,
      check=lambda c, r: (want(r.json["message"] == MSG_IMPORT_FAIL, r.json["message"]),
                          c.must("GET", "/api/collections/imported_two", auth="su",
                                 status=404))),
    S("collections import: empty collections list -> 400 data.collections validation_required [pb]",
      "PUT", "/api/collections/import", auth="su", body={"collections": []}, status=400,
      check=codes(MSG_FORM_INVALID, {"collections": "validation_required"})),
    S("collections scaffolds: superuser 200 base/auth/view", "GET",
      "/api/collections/meta/scaffolds", auth="su", check=_scaffolds),
]


# -- view collections --------------------------------------------------------------
# A view's records are its query's rows: read through the records API, never
# written (PocketBase: 400 "Unsupported collection type.").

VIEW_SETUP = {"name": "posts_view", "type": "view", "listRule": "", "viewRule": "",
              "viewQuery": "SELECT id, title FROM posts"}


def _view_created(ctx, r):
    j = r.json
    want(j["type"] == "view" and j["viewQuery"] == VIEW_SETUP["viewQuery"], short(j))
    want(field_names(j) == ["id", "title"], "fields %s" % field_names(j))
    want(j["createRule"] is None and j["updateRule"] is None and j["deleteRule"] is None,
         "write rules %s" % short(j))


def _view_lists(ctx, r):
    want(is_list_result(r.json), short(r.json))
    want(all(x["collectionName"] == "posts_view" and set(x) >= {"id", "title"}
             for x in r.json["items"]), short(r.json))


VIEWS = [
    S("view collection: superuser creates it, fields from the query", "POST", "/api/collections",
      auth="su", body=VIEW_SETUP, check=_view_created),
    S("view collection: its records list", "GET", "/api/collections/posts_view/records",
      check=_view_lists),
    S("view collection: create a record -> 400 Unsupported collection type.", "POST",
      "/api/collections/posts_view/records", body={"title": "x"}, status=400,
      exact={"status": 400, "message": "Unsupported collection type.", "data": {}}),
    S("view collection: truncate -> 400", "DELETE", "/api/collections/posts_view/truncate",
      auth="su", status=400),
    S("view collection: two statements -> 400 data.viewQuery", "POST", "/api/collections",
      auth="su", body=dict(VIEW_SETUP, name="bad_view",
                           viewQuery="SELECT id FROM posts; DELETE FROM posts"),
      status=400, check=codes(MSG_COLL_CREATE_FAIL, {"viewQuery": "validation_invalid_view_query"})),
    S("view collection: a createRule -> 400 data.createRule validation_nil", "POST",
      "/api/collections", auth="su", body=dict(VIEW_SETUP, name="bad_view", createRule=""),
      status=400, check=codes(MSG_COLL_CREATE_FAIL, {"createRule": "validation_nil"})),
    S("view collection: the refused ones were not created", "GET",
      "/api/collections/bad_view/records", status=404),
    S("view collection: superuser deletes it", "DELETE", "/api/collections/posts_view",
      auth="su", status=204),
]


SCENARIOS = (HEALTH + _guard_scenarios() + LIST_VIEW + CREATE + UPDATE + DELETE + IMPORT
             + VIEWS)
