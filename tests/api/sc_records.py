"""Scenarios: records CRUD (§2), list parameters (§2.1), filter/sort errors
(§3), API rules (§4) and request body decoding (§1.1, §1.6)."""

from urllib.parse import quote

from apilib import (says_where, ANY, MSG_400, MSG_404, MSG_ONLY_SUPER, MSG_NO_COLL, MSG_NO_COLL_WRITE,
                    MSG_CREATE_FAIL, MSG_UPDATE_FAIL, MSG_BAD_CTYPE, USERS_ID,
                    RECORD_ID_RE, DATE_RE, NOBODY, Scenario as S, err, codes, want, short)

E404 = err(404, MSG_404)
E400 = err(400, MSG_400)
E403_NULL = err(403, MSG_ONLY_SUPER)
POSTS = "/api/collections/posts/records"
NOTES = "/api/collections/notes/records"
SECRETS = "/api/collections/secrets/records"


def q(s):
    return quote(s, safe="")


def list_ids(r):
    return [x["id"] for x in r.json["items"]]


def post_path(key):
    return lambda c: POSTS + "/" + c.vars[key]["id"]


def note_path(key):
    return lambda c: NOTES + "/" + c.vars[key]["id"]


# -- list -------------------------------------------------------------------------

def _list_shape(ctx, r):
    j = r.json
    want(set(j) == {"page", "perPage", "totalItems", "totalPages", "items"},
         "list keys %s" % sorted(j))
    want(j["page"] == 1 and j["perPage"] == 30, "page/perPage %r/%r" % (j["page"], j["perPage"]))
    want(j["totalItems"] == len(j["items"]) >= 2, "totalItems %r items %d" % (
        j["totalItems"], len(j["items"])))
    want(j["totalPages"] == 1, "totalPages %r" % j["totalPages"])
    ids = list_ids(r)
    want(ctx.vars["postA"]["id"] in ids and ctx.vars["postB"]["id"] in ids, "seed posts missing")
    for it in j["items"]:
        want(it["collectionName"] == "posts" and it["collectionId"] == "pbc_1125843985",
             "collectionId/collectionName on item")
        want("secret" not in it, "hidden field 'secret' returned to a guest")


def _totals(items=None, per_page=None, page=None, total=None, pages=None):
    def check(ctx, r):
        j = r.json
        if per_page is not None:
            want(j["perPage"] == per_page, "perPage %r, want %r" % (j["perPage"], per_page))
        if page is not None:
            want(j["page"] == page, "page %r, want %r" % (j["page"], page))
        if total is not None:
            want(j["totalItems"] == total, "totalItems %r, want %r" % (j["totalItems"], total))
        if pages is not None:
            want(j["totalPages"] == pages, "totalPages %r, want %r" % (j["totalPages"], pages))
        if items is not None:
            want(len(j["items"]) == items, "%d items, want %d" % (len(j["items"]), items))
    return check


def _paging(ctx, r):
    j = r.json
    want(j["perPage"] == 1 and j["page"] == 2 and len(j["items"]) == 1, "paging %s" % short(j))
    want(j["totalPages"] == j["totalItems"], "totalPages %r != totalItems %r with perPage=1" % (
        j["totalPages"], j["totalItems"]))


def _filter_title(ctx, r):
    want(list_ids(r) == [ctx.vars["postB"]["id"]], "filter result %s" % list_ids(r))
    want(r.json["totalItems"] == 1, "totalItems %r" % r.json["totalItems"])


def _sorted_title_desc(ctx, r):
    titles = [x["title"] for x in r.json["items"]]
    want(titles == sorted(titles, reverse=True), "not sorted by -title: %s" % titles)


def _superuser_request_filter(ctx, r):
    want(list_ids(r) == [], "superuser @request.auth.id='' should match nothing for a superuser"
         " requester, got %s" % list_ids(r))


LIST = [
    S("records list: guest 200 list shape, hidden field omitted", "GET", POSTS, check=_list_shape),
    S("records list: perPage=5000 clamps and echoes 1000", "GET", POSTS + "?perPage=5000",
      check=_totals(per_page=1000, page=1)),
    S("records list: page=0 becomes 1", "GET", POSTS + "?page=0", check=_totals(page=1)),
    S("records list: perPage=0 becomes 30", "GET", POSTS + "?perPage=0", check=_totals(per_page=30)),
    S("records list: perPage=-3 becomes 30", "GET", POSTS + "?perPage=-3", check=_totals(per_page=30)),
    S("records list: perPage=1&page=2 pages", "GET", POSTS + "?perPage=1&page=2", check=_paging),
    S("records list: page beyond the end gives empty items", "GET", POSTS + "?page=999",
      check=_totals(items=0, page=999)),
    S("records list: perPage=abc 400 says what and where", "GET", POSTS + "?perPage=abc", status=400,
      exact=E400),
    S("records list: page=abc 400 says what and where", "GET", POSTS + "?page=abc", status=400, exact=E400),
    S("records list: skipTotal=1 gives -1 totals", "GET", POSTS + "?skipTotal=1",
      check=_totals(total=-1, pages=-1)),
    S("records list: skipTotal=true gives -1 totals", "GET", POSTS + "?skipTotal=true",
      check=_totals(total=-1, pages=-1)),
    S("records list: skipTotal=TRUE (Go ParseBool) gives -1 totals", "GET",
      POSTS + "?skipTotal=TRUE", check=_totals(total=-1, pages=-1)),
    S("records list: skipTotal=0 keeps totals", "GET", POSTS + "?skipTotal=0",
      check=lambda c, r: want(r.json["totalItems"] >= 2, "totalItems %r" % r.json["totalItems"])),
    S("records list: skipTotal=maybe 400 says what and where", "GET", POSTS + "?skipTotal=maybe",
      status=400, exact=E400),
    S("records list: filter title='seed of B'", "GET",
      POSTS + "?filter=" + q("title='seed of B'"), check=_filter_title),
    S("records list: empty filter is no constraint", "GET", POSTS + "?filter=",
      check=lambda c, r: want(r.json["totalItems"] >= 2, "totalItems %r" % r.json["totalItems"])),
    S("records list: filter syntax error 400 says what and where", "GET", POSTS + "?filter=" + q("title ="),
      status=400, check=says_where("offset")),
    S("records list: filter unknown field 400 says what and where", "GET",
      POSTS + "?filter=" + q("nosuch = 1"), status=400, check=says_where("nosuch")),
    S("records list: filter unbalanced parens 400 says what and where", "GET",
      POSTS + "?filter=" + q("(title = 'x'"), status=400, check=says_where()),
    S("records list: whitespace-only filter 400 says what and where", "GET", POSTS + "?filter=" + q("   "),
      status=400, check=says_where()),
    S("records list: filter on a hidden field by a user 400 says what and where", "GET",
      POSTS + "?filter=" + q("secret = 'x'"), auth="A", status=400, check=says_where("secret")),
    S("records list: filter on a hidden field by a superuser 200", "GET",
      POSTS + "?filter=" + q("secret = 'x'"), auth="su", subset={"items": []}),
    S("records list: @request. in a user's filter 403 exact", "GET",
      POSTS + "?filter=" + q('@request.auth.id != ""'), auth="A", status=403,
      exact=err(403, "Only superusers can filter by @request.")),
    S("records list: @request. in a guest's filter 403 exact", "GET",
      POSTS + "?filter=" + q('@request.auth.id = ""'), status=403,
      exact=err(403, "Only superusers can filter by @request.")),
    S("records list: @request. inside a quoted literal also 403", "GET",
      POSTS + "?filter=" + q("title = '@request.x'"), auth="A", status=403,
      exact=err(403, "Only superusers can filter by @request.")),
    S("records list: @collection. in a user's filter 403 exact", "GET",
      POSTS + "?filter=" + q("@collection.notes.body = 'x'"), auth="A", status=403,
      exact=err(403, "Only superusers can filter by @collection.")),
    S("records list: @request. in a user's sort 403", "GET",
      POSTS + "?sort=" + q("@request.auth.id"), auth="A", status=403,
      exact=err(403, "Only superusers can filter by @request.")),
    S("records list: superuser may filter by @request.", "GET",
      POSTS + "?filter=" + q("@request.auth.id = ''"), auth="su",
      check=_superuser_request_filter),
    S("records list: sort=-title", "GET", POSTS + "?sort=-title", check=_sorted_title_desc),
    S("records list: sort=@random 200", "GET", POSTS + "?sort=%40random",
      check=lambda c, r: want(r.json["totalItems"] >= 2, "items missing")),
    S("records list: sort unknown field 400 says what and where", "GET", POSTS + "?sort=nosuch",
      status=400, check=says_where("nosuch")),
    S("records list: sort trailing comma 400 says what and where", "GET", POSTS + "?sort=" + q("title,"),
      status=400, check=says_where()),
    S("records list: sort by a literal 400 says what and where", "GET", POSTS + "?sort=" + q("'x'"),
      status=400, check=says_where()),
    S("records list: collection by id", "GET", "/api/collections/pbc_1125843985/records",
      check=lambda c, r: want(r.json["totalItems"] >= 2, "items missing")),
    S("records list: collection name is case-insensitive", "GET",
      "/api/collections/POSTS/records",
      check=lambda c, r: want(r.json["totalItems"] >= 2, "items missing")),
    S("records list: unknown collection 404 Missing collection context.", "GET",
      "/api/collections/nope_nope/records", status=404, exact=err(404, MSG_NO_COLL)),
    S("records list: null listRule as user 403 exact", "GET", SECRETS, auth="A", status=403,
      exact=E403_NULL),
    S("records list: null listRule as guest 403 exact", "GET", SECRETS, status=403,
      exact=E403_NULL),
    S("records list: null listRule as superuser 200", "GET", SECRETS, auth="su",
      check=lambda c, r: want(list_ids(r) == [c.vars["secret"]["id"]], "secrets %s" % list_ids(r))),
    S("records list: fields=id,title picks keys", "GET", POSTS + "?fields=id,title&perPage=2",
      check=lambda c, r: want(all(set(x) == {"id", "title"} for x in r.json["items"]),
                              "items keys %s" % [sorted(x) for x in r.json["items"]])),
]


# -- view ---------------------------------------------------------------------------

def _view_seed(ctx, r):
    j = r.json
    p = ctx.vars["postA"]
    want(j["id"] == p["id"] and RECORD_ID_RE.match(j["id"]), "id %r" % j["id"])
    want(j["collectionId"] == "pbc_1125843985" and j["collectionName"] == "posts", "collection keys")
    exp = {"title": "seed of A", "views": 5, "published": False, "tags": ["go"],
           "author": ctx.ids["A"], "meta": None, "due": ""}
    for k, v in exp.items():
        want(k in j, "field %s missing" % k)
        want(j[k] == v and type(j[k]) is type(v), "%s=%s, want %s" % (k, short(j[k]), short(v)))
    want(DATE_RE.match(j["created"]) and DATE_RE.match(j["updated"]), "autodate format %r/%r" % (
        j["created"], j["updated"]))
    want("secret" not in j, "hidden field returned to a guest")


def _expand_author(ctx, r):
    ex = r.json.get("expand", {}).get("author")
    want(isinstance(ex, dict), "expand.author missing: %s" % short(r.json.get("expand")))
    want(ex["id"] == ctx.ids["A"] and ex["collectionName"] == "users", "expanded record %s" % short(ex))
    want(ex.get("email") == "usera@example.com", "own email not in expanded own record")


VIEW = [
    S("records view: guest 200 record shape with empty defaults", "GET", post_path("postA"),
      check=_view_seed),
    S("records view: superuser sees hidden field", "GET", post_path("postA"), auth="su",
      subset={"secret": ""}),
    S("records view: unknown id 404 exact", "GET", POSTS + "/zzzzzzzzzzzzzzz", status=404,
      exact=E404),
    S("records view: unknown collection 404 Missing collection context.", "GET",
      "/api/collections/nope_nope/records/zzzzzzzzzzzzzzz", status=404,
      exact=err(404, MSG_NO_COLL)),
    S("records view: null viewRule as user 403 (even for a missing id)", "GET",
      SECRETS + "/zzzzzzzzzzzzzzz", auth="A", status=403, exact=E403_NULL),
    S("records view: null viewRule as superuser 200", "GET",
      lambda c: SECRETS + "/" + c.vars["secret"]["id"], auth="su", subset={"v": "classified"}),
    S("records view: owner rule, other user 404 exact", "GET", note_path("noteA"), auth="B",
      status=404, exact=E404),
    S("records view: owner rule, guest 404 exact", "GET", note_path("noteA"), status=404,
      exact=E404),
    S("records view: owner rule, owner 200", "GET", note_path("noteA"), auth="A",
      subset=lambda c: {"id": c.vars["noteA"]["id"], "owner": c.ids["A"]}),
    S("records view: expand=author by the author", "GET",
      lambda c: POSTS + "/" + c.vars["postA"]["id"] + "?expand=author", auth="A",
      check=_expand_author),
    S("records view: fields=id,title", "GET",
      lambda c: POSTS + "/" + c.vars["postA"]["id"] + "?fields=id,title",
      exact=lambda c: {"id": c.vars["postA"]["id"], "title": "seed of A"}),
]


# -- create ---------------------------------------------------------------------------

def _created_full(ctx, r):
    j = r.json
    want(RECORD_ID_RE.match(j["id"]), "generated id %r" % j["id"])
    exp = {"title": "full post", "views": 12, "published": True, "tags": ["go", "c"],
           "author": ctx.ids["A"], "meta": {"k": [1, 2]}, "due": "2025-02-03 08:04:05.000Z"}
    for k, v in exp.items():
        want(k in j and j[k] == v and type(j[k]) is type(v),
             "%s=%s, want %s" % (k, short(j.get(k)), short(v)))
    want(DATE_RE.match(j["created"]), "created %r" % j["created"])
    want(not j["created"].startswith("2000"), "client value for autodate 'created' was used")
    want("bogus" not in j, "unknown key echoed")
    want("secret" not in j, "hidden field returned to its (non-superuser) creator")
    back = ctx.must("GET", POSTS + "/" + j["id"], auth="su")
    want(back["secret"] == "", "non-superuser could write a hidden field: %r" % back["secret"])
    want(back["title"] == "full post", "not stored")


FULL_BODY = {"title": "full post", "views": 12, "published": True, "tags": ["go", "c"],
             "meta": {"k": [1, 2]}, "due": "2025-02-03T10:04:05+02:00",
             "created": "2000-01-01 00:00:00.000Z", "secret": "sneaky", "bogus": "ignored"}


def with_author(extra, owner="A"):
    def body(ctx):
        b = {"author": ctx.ids[owner]}
        b.update(extra)
        return b
    return body


def _multipart(ctx):
    a = ctx.ids["A"]
    parts = [
        ("title", "multipart post"),
        ("views", "7"),
        ("published", "true"),
        ("@jsonPayload", '{"tags":["go","rust"],"author":"%s"}' % a),
    ]
    out = b""
    for name, val in parts:
        out += (b"--XbOuNdArY\r\nContent-Disposition: form-data; name=\"" + name.encode()
                + b"\"\r\n\r\n" + val.encode() + b"\r\n")
    return out + b"--XbOuNdArY--\r\n"


def _form_created(title):
    def check(ctx, r):
        j = r.json
        want(j["title"] == title, "title %r" % j["title"])
        want(j["views"] == 7 and type(j["views"]) is int, "views %r (number inference)" % j["views"])
        want(j["published"] is True, "published %r" % j["published"])
        want(j["author"] == ctx.ids["A"], "author %r" % j["author"])
    return check


CREATE = [
    S("records create: user 200 full record, unknown keys ignored, autodate/hidden not writable",
      "POST", POSTS, auth="A", body=with_author(FULL_BODY), check=_created_full),
    S("records create: superuser may write a hidden field", "POST", POSTS, auth="su",
      body=with_author({"title": "su post", "secret": "s3"}), subset={"secret": "s3"}),
    S("records create: number string coerced, scalar select becomes array", "POST", POSTS,
      auth="A", body=with_author({"title": "coerce", "views": "12", "tags": "rust"}),
      subset={"views": 12, "tags": ["rust"]}),
    S("records create: missing required title", "POST", POSTS, auth="A", body=with_author({}),
      status=400, check=codes(MSG_CREATE_FAIL, {"title": "validation_required"}, only=True)),
    S("records create: title too short (min 3)", "POST", POSTS, auth="A",
      body=with_author({"title": "ab"}), status=400,
      check=codes(MSG_CREATE_FAIL, {"title": ["validation_min_text_constraint", {"min": 3}]},
                  only=True)),
    S("records create: title too long (max 20)", "POST", POSTS, auth="A",
      body=with_author({"title": "x" * 21}), status=400,
      check=codes(MSG_CREATE_FAIL, {"title": ["validation_max_text_constraint", {"max": 20}]},
                  only=True)),
    S("records create: number above max", "POST", POSTS, auth="A",
      body=with_author({"title": "num", "views": 5000}), status=400,
      check=codes(MSG_CREATE_FAIL, {"views": ["validation_max_number_constraint", {"max": 1000}]},
                  only=True)),
    S("records create: number below min", "POST", POSTS, auth="A",
      body=with_author({"title": "num", "views": -5}), status=400,
      check=codes(MSG_CREATE_FAIL, {"views": ["validation_min_number_constraint", {"min": 0}]},
                  only=True)),
    S("records create: select value not allowed", "POST", POSTS, auth="A",
      body=with_author({"title": "sel", "tags": ["go", "bogus"]}), status=400,
      check=codes(MSG_CREATE_FAIL, {"tags": "validation_invalid_value"}, only=True)),
    S("records create: select too many values", "POST", POSTS, auth="A",
      body=with_author({"title": "sel", "tags": ["go", "c", "spam", "rust"]}), status=400,
      check=codes(MSG_CREATE_FAIL, {"tags": ["validation_too_many_values", {"maxSelect": 3}]},
                  only=True)),
    S("records create: relation to a missing id", "POST", POSTS, auth="A",
      body={"title": "rel", "author": "zzzzzzzzzzzzzzz"}, status=400,
      check=codes(MSG_CREATE_FAIL, {"author": "validation_missing_rel_records"}, only=True)),
    S("records create: several invalid fields reported together", "POST", POSTS, auth="A",
      body={"title": "x", "views": 5000, "tags": ["nope"], "author": "zzzzzzzzzzzzzzz"},
      status=400,
      check=codes(MSG_CREATE_FAIL, {"title": "validation_min_text_constraint",
                                    "views": "validation_max_number_constraint",
                                    "tags": "validation_invalid_value",
                                    "author": "validation_missing_rel_records"}, only=True)),
    S("records create: guest with createRule needing auth 400 exact", "POST", POSTS,
      body=with_author({"title": "guest post"}), status=400, exact=err(400, MSG_CREATE_FAIL)),
    S("records create: createRule failing (owner of another) 400 exact", "POST", NOTES,
      auth="A", body=lambda c: {"body": "forged", "owner": c.ids["B"]}, status=400,
      exact=err(400, MSG_CREATE_FAIL)),
    S("records create: createRule ok (own note) 200", "POST", NOTES, auth="A",
      body=lambda c: {"body": "mine", "owner": c.ids["A"]},
      subset=lambda c: {"body": "mine", "owner": c.ids["A"], "collectionName": "notes"}),
    S("records create: null createRule as user 403 exact", "POST", SECRETS, auth="A",
      body={"v": "x"}, status=403, exact=E403_NULL),
    S("records create: null createRule as guest 403 exact", "POST", SECRETS, body={"v": "x"},
      status=403, exact=E403_NULL),
    S("records create: null createRule as superuser 200", "POST", SECRETS, auth="su",
      body={"v": "by su"}, subset={"v": "by su"}),
    S("records create: unknown collection 404 Missing or invalid collection context.", "POST",
      "/api/collections/nope_nope/records", body={"title": "x"}, status=404,
      exact=err(404, MSG_NO_COLL_WRITE)),
    S("records create: text/plain body 400 Unsupported Content-Type.", "POST", POSTS, auth="A",
      raw=b"title=hello", ctype="text/plain", status=400, exact=err(400, MSG_BAD_CTYPE)),
    S("records create: malformed JSON 400", "POST", POSTS, auth="A", raw=b'{"title": "x",',
      ctype="application/json", status=400,
      check=lambda c, r: want(r.json["data"] == {}, "data %s" % short(r.json["data"]))),
    S("records create: JSON array body 400", "POST", POSTS, auth="A",
      raw=b'[{"title": "array"}]', ctype="application/json", status=400,
      check=lambda c, r: want(r.json["data"] == {}, "data %s" % short(r.json["data"]))),
    S("records create: JSON string body 400", "POST", POSTS, auth="A", raw=b'"title"',
      ctype="application/json", status=400),
    S("records create: empty JSON body is {} (validation, not decode error)", "POST", POSTS,
      auth="A", raw=b"", ctype="application/json", status=400,
      check=codes(MSG_CREATE_FAIL, {"title": "validation_required"})),
    S("records create: urlencoded form body", "POST", POSTS, auth="A",
      raw=lambda c: ("title=form+post&views=7&published=true&author=" + c.ids["A"]).encode(),
      ctype="application/x-www-form-urlencoded", check=_form_created("form post")),
    S("records create: urlencoded repeated key becomes an array", "POST", POSTS, auth="A",
      raw=lambda c: ("title=form+tags&tags=go&tags=c&author=" + c.ids["A"]).encode(),
      ctype="application/x-www-form-urlencoded", subset={"tags": ["go", "c"]}),
    S("records create: multipart text parts + @jsonPayload", "POST", POSTS, auth="A",
      raw=_multipart, ctype="multipart/form-data; boundary=XbOuNdArY",
      check=lambda c, r: (_form_created("multipart post")(c, r),
                          want(r.json["tags"] == ["go", "rust"], "tags %r" % r.json["tags"]))),
    S("records create: custom valid id accepted", "POST", POSTS, auth="A",
      body=with_author({"id": "customid1234567", "title": "custom id"}),
      subset={"id": "customid1234567"}),
    S("records create: duplicate custom id rejected 400", "POST", POSTS, auth="A",
      setup=lambda c: c.new_post("A", id="dupid1234567890", title="dup one"),
      body=with_author({"id": "dupid1234567890", "title": "dup two"}), status=400,
      check=lambda c, r: want(r.json["message"] == MSG_CREATE_FAIL and "id" in r.json["data"],
                              "message %r data %s" % (r.json["message"], short(r.json["data"])))),
]


# -- update ------------------------------------------------------------------------------

def _setup_post(key, owner="A", **fields):
    def setup(ctx):
        ctx.vars[key] = ctx.new_post(owner, **fields)
    return setup


def _unchanged(key, field, value):
    def check(ctx, r):
        back = ctx.must("GET", POSTS + "/" + ctx.vars[key]["id"])
        want(back[field] == value, "%s changed to %s" % (field, short(back[field])))
    return check


def _modifiers(ctx, r):
    j = r.json
    want(j["views"] == 12, "views+ 2 on 10 gave %r" % j["views"])
    want(j["tags"] == ["go", "c"], "tags+ c / tags- spam on [go, spam] gave %r" % j["tags"])
    want(j["title"] == "modified", "title %r" % j["title"])
    want(j["updated"] >= ctx.vars["upd_mod"]["updated"], "updated went backwards")
    want(j["created"] == ctx.vars["upd_mod"]["created"], "created changed on update")


UPDATE = [
    S("records update: owner 200 partial update", "PATCH", post_path("upd_ok"), auth="A",
      setup=_setup_post("upd_ok", title="before", views=3),
      body={"title": "after"}, subset={"title": "after", "views": 3}),
    S("records update: modifiers views+ tags+ tags-", "PATCH", post_path("upd_mod"), auth="A",
      setup=_setup_post("upd_mod", title="mods", views=10, tags=["go", "spam"]),
      body={"views+": 2, "tags+": ["c"], "tags-": "spam", "title": "modified"}, check=_modifiers),
    S("records update: modifiers +tags (prepend) and views-", "PATCH", post_path("upd_mod2"),
      auth="A", setup=_setup_post("upd_mod2", title="mods2", views=10, tags=["go"]),
      body={"+tags": "rust", "views-": 4}, subset={"tags": ["rust", "go"], "views": 6}),
    S("records update: non-owner 404 exact, record unchanged", "PATCH", post_path("upd_other"),
      auth="B", setup=_setup_post("upd_other", title="untouched"), body={"title": "hijacked"},
      status=404, exact=E404, check=_unchanged("upd_other", "title", "untouched")),
    S("records update: guest 404 exact", "PATCH", post_path("postA"), body={"title": "guest"},
      status=404, exact=E404, check=_unchanged("postA", "title", "seed of A")),
    S("records update: owner rule on notes, non-owner 404", "PATCH", note_path("noteA"),
      auth="B", body={"body": "hijacked"}, status=404, exact=E404),
    S("records update: unknown id 404 exact", "PATCH", POSTS + "/zzzzzzzzzzzzzzz", auth="A",
      body={"title": "nothing"}, status=404, exact=E404),
    S("records update: validation error 400 Failed to update record.", "PATCH",
      post_path("upd_bad"), auth="A", setup=_setup_post("upd_bad", title="valid"),
      body={"title": "x", "views": 5000}, status=400,
      check=lambda c, r: (codes(MSG_UPDATE_FAIL,
                                {"title": "validation_min_text_constraint",
                                 "views": "validation_max_number_constraint"}, only=True)(c, r),
                          _unchanged("upd_bad", "title", "valid")(c, r))),
    S("records update: superuser bypasses updateRule", "PATCH", post_path("upd_su"), auth="su",
      setup=_setup_post("upd_su", owner="B", title="of B"), body={"title": "by superuser"},
      subset=lambda c: {"title": "by superuser", "author": c.ids["B"]}),
    S("records update: null updateRule as user 403 exact", "PATCH",
      lambda c: SECRETS + "/" + c.vars["secret"]["id"], auth="A", body={"v": "x"}, status=403,
      exact=E403_NULL),
    S("records update: unknown collection 404 Missing or invalid collection context.", "PATCH",
      "/api/collections/nope_nope/records/zzzzzzzzzzzzzzz", auth="A", body={"x": 1}, status=404,
      exact=err(404, MSG_NO_COLL_WRITE)),
    S("records update: text/plain body 400 Unsupported Content-Type.", "PATCH",
      post_path("postA"), auth="A", raw=b"title=x", ctype="text/plain", status=400,
      exact=err(400, MSG_BAD_CTYPE)),
    S("records update: id cannot change", "PATCH", post_path("upd_pk"), auth="A",
      setup=_setup_post("upd_pk", title="pkpk"), body={"id": "changedid123456"}, status=400,
      check=lambda c, r: want(r.json["message"] == MSG_UPDATE_FAIL and "id" in r.json["data"],
                              "message %r data %s" % (r.json["message"], short(r.json["data"])))),
]


# -- delete ------------------------------------------------------------------------------

def _gone(key):
    def check(ctx, r):
        v = ctx.call("GET", POSTS + "/" + ctx.vars[key]["id"])
        want(v.status == 404, "view after delete: %d" % v.status)
        want(v.json == E404, "view after delete body %s" % short(v.json))
    return check


DELETE = [
    S("records delete: non-owner 404 exact, record kept", "DELETE", post_path("del_other"),
      auth="B", setup=_setup_post("del_other", title="keep me"), status=404, exact=E404,
      check=_unchanged("del_other", "title", "keep me")),
    S("records delete: guest 404 exact", "DELETE", post_path("postA"), status=404, exact=E404),
    S("records delete: owner 204 then view 404", "DELETE", post_path("del_own"), auth="A",
      setup=_setup_post("del_own", title="delete me"), status=204, check=_gone("del_own")),
    S("records delete: second delete 404", "DELETE", post_path("del_twice"), auth="A",
      setup=lambda c: (_setup_post("del_twice", title="twice")(c),
                       c.must("DELETE", POSTS + "/" + c.vars["del_twice"]["id"], auth="A",
                              status=204)),
      status=404, exact=E404),
    S("records delete: owner rule on notes, non-owner 404", "DELETE", note_path("noteA"),
      auth="B", status=404, exact=E404),
    S("records delete: null deleteRule as user 403 exact", "DELETE",
      lambda c: SECRETS + "/" + c.vars["secret"]["id"], auth="A", status=403, exact=E403_NULL),
    S("records delete: null deleteRule as user 403 even for a missing id", "DELETE",
      SECRETS + "/zzzzzzzzzzzzzzz", auth="A", status=403, exact=E403_NULL),
    S("records delete: unknown id 404 exact", "DELETE", POSTS + "/zzzzzzzzzzzzzzz", auth="A",
      status=404, exact=E404),
    S("records delete: unknown collection 404 Missing collection context.", "DELETE",
      "/api/collections/nope_nope/records/zzzzzzzzzzzzzzz", auth="A", status=404,
      exact=err(404, MSG_NO_COLL)),
    S("records delete: superuser bypasses deleteRule", "DELETE", post_path("del_su"),
      auth="su", setup=_setup_post("del_su", title="su deletes"), status=204,
      check=_gone("del_su")),
    S("records delete: seed records still there", "GET", note_path("noteA"), auth="A",
      subset={"body": "note of A"}),
]


# -- rules on list ------------------------------------------------------------------------

def _only_own_notes(owner):
    def check(ctx, r):
        owners = {x["owner"] for x in r.json["items"]}
        want(owners == {ctx.ids[owner]}, "owners listed: %s" % owners)
        want(r.json["totalItems"] == len(r.json["items"]), "totalItems counts other owners")
    return check


RULES = [
    S("rules: listRule filters to own notes (A)", "GET", NOTES, auth="A",
      check=_only_own_notes("A")),
    S("rules: listRule filters to own notes (B)", "GET", NOTES, auth="B",
      check=_only_own_notes("B")),
    S("rules: listRule for a guest gives empty 200", "GET", NOTES,
      subset={"items": [], "totalItems": 0}),
    S("rules: superuser lists every note", "GET", NOTES, auth="su",
      check=lambda c, r: want({x["owner"] for x in r.json["items"]} >= {c.ids["A"], c.ids["B"]},
                              "superuser did not see all notes")),
    S("rules: users listRule id=@request.auth.id shows only self", "GET",
      "/api/collections/users/records", auth="A",
      check=lambda c, r: want(list_ids(r) == [c.ids["A"]], "users listed %s" % list_ids(r))),
    S("rules: user views another user 404", "GET",
      lambda c: "/api/collections/users/records/" + c.ids["B"], auth="A", status=404,
      exact=E404),
    S("rules: user views self with email", "GET",
      lambda c: "/api/collections/users/records/" + c.ids["A"], auth="A",
      subset={"email": "usera@example.com", "emailVisibility": False, "name": "User A"}),
    S("rules: superuser lists users with emails", "GET", "/api/collections/users/records",
      auth="su",
      check=lambda c, r: want(all("email" in x for x in r.json["items"]) and len(r.json["items"]) >= 2,
                              "emails missing for superuser")),
]


# -- JSON paths in filters (spec §3.5) ---------------------------------------------
# A json field's path compares as SQLite's json_extract returns it: numbers
# as numbers (before any text in order), strings as text, true/false as 1/0,
# JSON null and a missing key as NULL, arrays and objects as their JSON text;
# on PostgreSQL too (store/dialect.c). Names are what the checks compare.
JSONPATHS = "/api/collections/jsonpaths/records"
_JP_DATA = {
    "n1": {"a": {"b": 1}, "s": "x", "f": True, "arr": [1, 2], "o": {"k": "v"}},
    "n2": {"a": {"b": 2.5}, "s": "Y", "f": False, "n": None},
    "n3": {"a": {"b": "1"}, "s": 10},
    "n4": None,
    "n5": "text",
    "n6": 7,
}
_JP_LOC = {"n1": {"lon": 23.32, "lat": 42.69}, "n2": {"lon": -0.12, "lat": 51.5}}


def _jp_setup(ctx):
    if "jsonpaths" in ctx.vars:
        return
    ctx.new_collection({"name": "jsonpaths", "listRule": "", "fields": [
        {"name": "name", "type": "text"}, {"name": "data", "type": "json"},
        {"name": "loc", "type": "geoPoint"}]})
    for name, data in _JP_DATA.items():
        body = {"name": name, "data": data}
        if name in _JP_LOC:
            body["loc"] = _JP_LOC[name]
        ctx.must("POST", JSONPATHS, auth="su", body=body)
    ctx.vars["jsonpaths"] = True


def _jp(name, flt, names, sort=None, ordered=False):
    path = JSONPATHS + "?perPage=50&filter=" + q(flt) + ("&sort=" + q(sort) if sort else "")

    def check(ctx, r):
        got = [x["name"] for x in r.json["items"]]
        if not ordered:
            got = sorted(got)
        want(got == names, "filter %s: %s, want %s" % (flt, got, names))
    return S("records list: json path " + name, "GET", path, setup=_jp_setup, check=check)


JSON_PATHS = [
    _jp("number = number", "data.a.b = 1", ["n1"]),
    _jp("a number is not its text", "data.a.b = '1'", ["n3"]),
    _jp("text orders after every number", "data.a.b > 1", ["n2", "n3"]),
    _jp("a NULL orders nowhere", "data.a.b < 2", ["n1"]),
    _jp("float", "data.a.b = 2.5", ["n2"]),
    _jp("string", "data.s = 'x'", ["n1"]),
    _jp(":lower", "data.s:lower = 'y'", ["n2"]),
    _jp("LIKE on a string", "data.s ~ 'x'", ["n1"]),
    _jp("LIKE on a number reads its text", "data.s ~ '1'", ["n3"]),
    _jp("true is 1", "data.f = true", ["n1"]),
    _jp("false is 0", "data.f = false", ["n2"]),
    _jp("true = 1", "data.f = 1", ["n1"]),
    _jp("JSON null and missing are null", "data.s = null", ["n4", "n5", "n6"]),
    _jp("!= null", "data.s != null", ["n1", "n2", "n3"]),
    _jp("JSON null is null", "data.n = null && data.a != null", ["n1", "n2", "n3"]),
    _jp("array is its JSON text", "data.arr = '[1,2]'", ["n1"]),
    _jp("array index", "data.arr.1 = 2", ["n1"]),
    _jp("object key", "data.o.k = 'v'", ["n1"]),
    _jp("'' is not null", "data.s = ''", []),
    _jp("!= ''", "data.s != ''", ["n1", "n2", "n3", "n4", "n5", "n6"]),
    _jp("whole value string", "data = 'text'", ["n5"]),
    _jp("whole value number", "data = 7", ["n6"]),
    _jp("whole value null", "data = null", ["n4"]),
    _jp("sort: numbers then text", "data.a.b != null", ["n1", "n2", "n3"], sort="data.a.b",
        ordered=True),
    _jp("sort descending", "data.a.b != null", ["n3", "n2", "n1"], sort="-data.a.b", ordered=True),
    _jp("geoPoint lon", "loc.lon > 0", ["n1"]),
    _jp("geoDistance", "geoDistance(loc.lon, loc.lat, 23.32, 42.69) < 5", ["n1"]),
    _jp("geoDistance in km", "geoDistance(loc.lon, loc.lat, -0.1276, 51.5072) < 10", ["n2"]),
]

# A create's checks in the order they answer (relation targets, then unique
# values, then the create rule), over a rule that reads the row itself
# (PostgreSQL judges it in the INSERT) and one that reads a related record.
def _cchk_setup(ctx):
    if "cchk" in ctx.vars:
        return
    for name, rule in (("cchk_own", "ref = @request.auth.id"),
                       ("cchk_join", "ref.email = @request.auth.email")):
        ctx.new_collection({
            "name": name, "listRule": "", "viewRule": "",
            "createRule": '@request.auth.id != "" && ' + rule,
            "fields": [{"name": "code", "type": "text"},
                       {"name": "ref", "type": "relation", "collectionId": USERS_ID,
                        "maxSelect": 1},
                       {"name": "refs", "type": "relation", "collectionId": USERS_ID,
                        "maxSelect": 5}],
            "indexes": ["CREATE UNIQUE INDEX idx_%s_code ON %s (code)" % (name, name)]})
    ctx.vars["cchk"] = True


def _cchk(name):
    path = "/api/collections/%s/records" % name
    missing = "zzzzzzzzzzzzzzz"
    return [
        S(name + ": create passing every check 200", "POST", path, auth="A", setup=_cchk_setup,
          body=lambda c: {"code": "one", "ref": c.ids["A"], "refs": [c.ids["A"], c.ids["B"]]},
          subset=lambda c: {"code": "one", "ref": c.ids["A"], "refs": [c.ids["A"], c.ids["B"]]}),
        S(name + ": failing the create rule 400 exact", "POST", path, auth="A",
          body=lambda c: {"code": "two", "ref": c.ids["B"]}, status=400,
          exact=err(400, MSG_CREATE_FAIL)),
        S(name + ": a missing target answers before the rule", "POST", path, auth="A",
          body={"code": "three", "ref": missing}, status=400,
          check=codes(MSG_CREATE_FAIL, {"ref": "validation_missing_rel_records"}, only=True)),
        S(name + ": a missing target answers before a duplicate value", "POST", path, auth="A",
          body=lambda c: {"code": "one", "ref": c.ids["A"], "refs": [c.ids["A"], missing]},
          status=400,
          check=codes(MSG_CREATE_FAIL, {"refs": "validation_missing_rel_records"}, only=True)),
        S(name + ": a duplicate value answers before the rule", "POST", path, auth="A",
          body=lambda c: {"code": "one", "ref": c.ids["B"]}, status=400,
          check=codes(MSG_CREATE_FAIL, {"code": "validation_not_unique"}, only=True)),
        S(name + ": nothing of the refused creates was kept", "GET", path + "?perPage=50",
          check=lambda c, r: want(sorted(x["code"] for x in r.json["items"]) == ["one"],
                                  "records: %s" % r.json["items"])),
    ]


CREATE_CHECKS = _cchk("cchk_own") + _cchk("cchk_join")


# strftime() in filters (spec §3.8): SQLite's own on SQLite, tarmac_strftime
# (store/pg.c) on PostgreSQL; the same answers on both.
DATES = "/api/collections/dates/records"
_DATES = {"d1": "2024-01-31 10:20:30.123Z", "d2": "2023-12-31 23:59:59.999Z", "d3": ""}


def _dates_setup(ctx):
    if "dates" in ctx.vars:
        return
    ctx.new_collection({"name": "dates", "listRule": "", "fields": [
        {"name": "name", "type": "text"}, {"name": "d", "type": "date"}]})
    for name, d in _DATES.items():
        ctx.must("POST", DATES, auth="su", body={"name": name, "d": d})
    ctx.vars["dates"] = True


def _strf(label, flt, names):
    def check(ctx, r):
        got = sorted(x["name"] for x in r.json["items"])
        want(got == names, "filter %s: %s, want %s" % (flt, got, names))
    return S("records list: strftime " + label, "GET", DATES + "?perPage=50&filter=" + q(flt),
             setup=_dates_setup, check=check)


STRFTIME = [
    _strf("full date", "strftime('%Y-%m-%d %H:%M:%f', d) = '2024-01-31 10:20:30.123'", ["d1"]),
    _strf("day of year", "strftime('%j', d) = '365'", ["d2"]),
    _strf("week and weekday", "strftime('%W %w', d) = '05 3'", ["d1"]),
    _strf("unix seconds", "strftime('%s', d) = '1704067199'", ["d2"]),
    _strf("a month past the 31st", "strftime('%Y-%m-%d', d, '+1 month') = '2024-03-02'",
          ["d1"]),
    _strf("start of month, a day back",
          "strftime('%Y-%m-%d', d, 'start of month', '-1 day') = '2023-12-31'", ["d1"]),
    _strf("next Sunday", "strftime('%Y-%m-%d', d, 'weekday 0') = '2024-02-04'", ["d1"]),
    _strf("an hour on", "strftime('%H', d, '+1 hour') = '00'", ["d2"]),
    _strf("no date is ''", "strftime('%Y', d) = ''", ["d3"]),
    _strf("unixepoch", "strftime('%Y-%m-%d', 1700000000, 'unixepoch') = '2023-11-14'",
          ["d1", "d2", "d3"]),
    _strf("an unknown modifier is ''", "strftime('%Y', d, 'bogus') = ''", ["d1", "d2", "d3"]),
]

# Nearest neighbours over a vector field (issue #18, item 2): four points
# on a line, one hidden by the list rule; every bad option a 400 naming it.
VECS = "/api/collections/vecs/records"
_VEC_DATA = {"a": [1, 0], "b": [2, 0], "c": [5, 0], "hid": [1.5, 0], "none": None}


def _vec_setup(ctx):
    if "vecs" in ctx.vars:
        return
    ctx.new_collection({"name": "vecs", "listRule": "name != 'hid'", "viewRule": "name != 'hid'",
                        "fields": [{"name": "name", "type": "text"},
                                   {"name": "v", "type": "vector", "dimensions": 2}]})
    for name, v in _VEC_DATA.items():
        ctx.vars["vec_" + name] = ctx.must("POST", VECS, auth="su", body={"name": name, "v": v})
    ctx.vars["vecs"] = True


def _near(name, query, names, dists=None, total=None, auth=None):
    def check(ctx, r):
        got = [x["name"] for x in r.json["items"]]
        want(got == names, "%s: %s, want %s" % (query, got, names))
        if dists is not None:
            d = [round(x["@distance"], 5) for x in r.json["items"]]
            want(d == dists, "%s: distances %s, want %s" % (query, d, dists))
        if total is not None:
            want(r.json["totalItems"] == total, "totalItems %s, want %s" % (
                r.json["totalItems"], total))
    return S("records list: nearest " + name, "GET", VECS + "?" + query, auth=auth,
             setup=_vec_setup, check=check)


def _near_bad(name, query, param):
    def check(ctx, r):
        want(param in (r.json.get("data") or {}), "400 does not name %s: %s" % (
            param, short(r.json, 300)))
    return S("records list: nearest refuses " + name, "GET", VECS + "?" + query,
             setup=_vec_setup, status=400, check=check)


NEAREST = [
    _near("l2, the hidden record left out", "nearest=v&to=" + q("[1.4,0]") + "&metric=l2&k=2",
          ["a", "b"], dists=[0.4, 0.6], total=2),
    _near("k larger than the rows: all the listable ones", "nearest=v&to=" + q("[0,0]") +
          "&metric=l2&k=1000", ["a", "b", "c"], total=3),
    _near("a superuser sees the hidden one", "nearest=v&to=" + q("[1.4,0]") + "&metric=l2&k=2",
          ["hid", "a"], auth="su"),
    _near("dot: the largest product first", "nearest=v&to=" + q("[1,0]") + "&metric=dot&k=3",
          ["c", "b", "a"], dists=[-5.0, -2.0, -1.0]),
    _near("cosine (default): parallel vectors all at 0", "nearest=v&to=" + q("[3,0]") + "&k=1",
          ["a"], dists=[0.0]),
    _near("with a filter", "nearest=v&to=" + q("[0,0]") + "&metric=l2&filter=" +
          q("name != 'a'"), ["b", "c"]),
    S("records list: nearest to=@record:ID", "GET",
      lambda c: VECS + "?nearest=v&metric=l2&k=2&to=" + q("@record:" + c.vars["vec_c"]["id"]),
      setup=_vec_setup,
      check=lambda c, r: want([x["name"] for x in r.json["items"]] == ["c", "b"],
                              short(r.json, 300))),
    S("records list: nearest to=@record:ID of a hidden record is refused", "GET",
      lambda c: VECS + "?nearest=v&to=" + q("@record:" + c.vars["vec_hid"]["id"]),
      setup=_vec_setup, status=400,
      check=lambda c, r: want("to" in r.json["data"], short(r.json, 300))),
    _near_bad("an unknown field", "nearest=nope&to=" + q("[1,0]"), "nearest"),
    _near_bad("a text field", "nearest=name&to=" + q("[1,0]"), "nearest"),
    _near_bad("no to", "nearest=v", "to"),
    _near_bad("to of the wrong length", "nearest=v&to=" + q("[1,0,0]"), "to"),
    _near_bad("to not JSON", "nearest=v&to=abc", "to"),
    _near_bad("k of 0", "nearest=v&to=" + q("[1,0]") + "&k=0", "k"),
    _near_bad("k past 1000", "nearest=v&to=" + q("[1,0]") + "&k=1001", "k"),
    _near_bad("an unknown metric", "nearest=v&to=" + q("[1,0]") + "&metric=hamming", "metric"),
    _near_bad("a sort", "nearest=v&to=" + q("[1,0]") + "&sort=name", "sort"),
    _near_bad("to without nearest", "to=" + q("[1,0]"), "to"),
    _near_bad("k without nearest", "k=3", "k"),
    S("records list: a vector field is no filter operand", "GET",
      VECS + "?filter=" + q("v != null"), setup=_vec_setup, status=400),
]

SCENARIOS = (LIST + VIEW + CREATE + CREATE_CHECKS + UPDATE + DELETE + RULES + JSON_PATHS
             + STRFTIME + NEAREST)
