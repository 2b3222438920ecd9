"""Scenarios: file uploads through record create/update (§8.1), downloads,
ranges, conditional requests and thumbnails (§8.2), protected files and file
tokens (§8.3), and the removal of replaced and deleted files.

The fixtures (collections "fdocs" and "fvault", a record with files) are made
on first use by ensure(); every scenario's setup calls it."""

import os
import re
import struct
import time
import zlib

from apilib import (MSG_404, Scenario, SetupError, err, codes, jwt_payload, want, short)

E404 = err(404, MSG_404)
DOCS = "/api/collections/fdocs/records"
VAULT = "/api/collections/fvault/records"
BOUNDARY = "tarmacFilesBoundary7MA4YWxkTrZu0gW"
MP = "multipart/form-data; boundary=" + BOUNDARY
RAND = "[a-z0-9]{10}"


def png(w, h):
    """A w x h RGB PNG made with zlib only."""
    raw = b"".join(b"\x00" + b"".join(bytes([(x * 7) % 256, (y * 5) % 256, 128])
                                      for x in range(w))
                   for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png_size(data):
    want(data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG: %r" % data[:16])
    return struct.unpack(">II", data[16:24])


PNG = png(200, 100)
TEXT = b"hello files\n"


def multipart(parts):
    """parts: list of (name, value) for text or (name, filename, bytes[, type]) for files."""
    out = []
    for p in parts:
        out.append(("--" + BOUNDARY + "\r\n").encode())
        if len(p) == 2:
            out.append(('Content-Disposition: form-data; name="%s"\r\n\r\n' % p[0]).encode())
            out.append(p[1].encode() if isinstance(p[1], str) else p[1])
        else:
            ctype = p[3] if len(p) > 3 else "application/octet-stream"
            out.append(('Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                        'Content-Type: %s\r\n\r\n' % (p[0], p[1], ctype)).encode("utf-8"))
            out.append(p[2])
        out.append(b"\r\n")
    out.append(("--" + BOUNDARY + "--\r\n").encode())
    return b"".join(out)


FDOCS = {
    "name": "fdocs",
    "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "one", "type": "file", "maxSelect": 1},
        {"name": "many", "type": "file", "maxSelect": 3, "maxSize": 100000},
        {"name": "img", "type": "file", "maxSelect": 1, "mimeTypes": ["image/png", "image/jpeg"],
         "thumbs": ["50x20", "0x40", "60x0", "40x40t", "40x40b", "300x300f"]},
    ],
}
FVAULT = {
    "name": "fvault",
    "listRule": "owner = @request.auth.id", "viewRule": "owner = @request.auth.id",
    "createRule": '@request.auth.id != ""', "updateRule": None, "deleteRule": None,
    "fields": [
        {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
        {"name": "doc", "type": "file", "maxSelect": 1, "protected": True},
    ],
}


def upload(ctx, path, parts, auth=None, method="POST"):
    r = ctx.call(method, path, auth=auth, raw=multipart(parts), ctype=MP)
    if r.status != 200:
        raise SetupError("fixture %s" % r.summary())
    return r.json


def ensure(ctx):
    if "fdoc" in ctx.vars:
        return
    ctx.new_collection(FDOCS)
    vault = dict(FVAULT)
    vault["fields"] = [dict(f) for f in FVAULT["fields"]]
    vault["fields"][0]["collectionId"] = ctx.must("GET", "/api/collections/users", auth="su")["id"]
    ctx.new_collection(vault)
    ctx.vars["fdoc"] = upload(ctx, DOCS, [
        ("title", "seed"), ("one", "My File.txt", TEXT, "text/plain"),
        ("many", "a.txt", TEXT), ("many", "Photo 1.JPG", PNG, "image/jpeg"),
        ("img", "pic.png", PNG, "image/png")])
    ctx.vars["fvault"] = upload(ctx, VAULT, [("owner", ctx.ids["A"]),
                                              ("doc", "secret.txt", b"top secret")], auth="A")
    ctx.vars["ftok"] = {}
    for who in ("A", "B", "su"):
        ctx.vars["ftok"][who] = ctx.must("POST", "/api/files/token", auth=who)["token"]


def file_url(coll_key, rec_key, field, index=None, query=""):
    def f(ctx):
        rec = ctx.vars[rec_key]
        name = rec[field] if index is None else rec[field][index]
        coll = rec["collectionId"] if coll_key == "id" else rec["collectionName"]
        return "/api/files/%s/%s/%s%s" % (coll, rec["id"], name, query)
    return f


def storage_path(ctx, rec, name=None):
    p = os.path.join(ctx.server.datadir, "storage", rec["collectionId"], rec["id"])
    return os.path.join(p, name) if name else p


def wait_gone(path, timeout=3.0):
    end = time.time() + timeout
    while time.time() < end:
        if not os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


class S(Scenario):
    """A scenario whose success responses are files, not JSON: the universal
    checks apply to JSON answers only."""

    def __init__(self, name, method, path, raw_check=None, **kw):
        kw.setdefault("setup", ensure)
        super().__init__(name, method, path, **kw)
        self.raw_check = raw_check

    def run(self, ctx):
        if self.setup:
            try:
                self.setup(ctx)
            except Exception as e:
                return ("setup: %s" % e, None)
        path = self.path(ctx) if callable(self.path) else self.path
        raw = self.raw(ctx) if callable(self.raw) else self.raw
        headers = self.headers(ctx) if callable(self.headers) else self.headers
        try:
            r = ctx.call(self.method, path, auth=self.auth, body=self.body, raw=raw,
                         ctype=self.ctype, headers=headers, scenario=True)
        except Exception as e:
            return ("request failed: %s: %s" % (type(e).__name__, e), None)
        try:
            statuses = self.status if isinstance(self.status, tuple) else (self.status,)
            want(r.status in statuses, "status %d, want %s" % (
                r.status, " or ".join(str(s) for s in statuses)))
            if self.exact is not None:
                exp = self.exact(ctx) if callable(self.exact) else self.exact
                want(r.json == exp, "body != %s" % short(exp, 300))
            if self.check:
                self.check(ctx, r)
            ct = (r.header("Content-Type", "") or "").split(";")[0]
            if ct == "application/json":
                from apilib import universal_checks
                universal_checks(r)
        except Exception as e:
            return ("%s: %s" % (type(e).__name__, e), r)
        return None


# -- checks -------------------------------------------------------------------

def _seed_names(ctx, r):
    d = ctx.vars["fdoc"]
    want(re.fullmatch("my_file_%s\\.txt" % RAND, d["one"]), "one %r" % d["one"])
    want(len(d["many"]) == 2, "many %r" % d["many"])
    want(re.fullmatch("a%s_%s\\.txt" % (RAND, RAND), d["many"][0]), "short name %r" % d["many"][0])
    want(re.fullmatch("photo_1_%s\\.JPG" % RAND, d["many"][1]), "many[1] %r" % d["many"][1])
    want(re.fullmatch("pic_%s\\.png" % RAND, d["img"]), "img %r" % d["img"])
    for n in [d["one"], d["img"]] + d["many"]:
        want(os.path.isfile(storage_path(ctx, d, n)), "not stored: %s" % n)
    want(r.json["one"] == d["one"] and r.json["many"] == d["many"], "view differs")


def _name(field, pattern):
    def check(ctx, r):
        v = r.json[field]
        v = v[-1] if isinstance(v, list) else v
        want(re.fullmatch(pattern, v), "%s = %r, want /%s/" % (field, v, pattern))
        want(os.path.isfile(storage_path(ctx, r.json, v)), "not stored: %s" % v)
    return check


def _nosniff(r):
    """Every file answer (200, 206, 304, 416, HEAD, thumbs) forbids MIME sniffing."""
    want(r.header("X-Content-Type-Options") == "nosniff",
         "X-Content-Type-Options %r" % r.header("X-Content-Type-Options"))


def _body(data, ctype=None, disposition=None):
    def check(ctx, r):
        _nosniff(r)
        want(r.body == data, "body %r, want %r" % (r.body[:40], data[:40]))
        if ctype:
            want(r.header("Content-Type") == ctype, "Content-Type %r" % r.header("Content-Type"))
        if disposition:
            want((r.header("Content-Disposition") or "").startswith(disposition + "; filename="),
                 "Content-Disposition %r" % r.header("Content-Disposition"))
        want(r.header("Content-Security-Policy") ==
             "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox", "CSP")
        want(r.header("Cache-Control") == "max-age=2592000, stale-while-revalidate=86400",
             "Cache-Control %r" % r.header("Cache-Control"))
        want(r.header("Last-Modified"), "no Last-Modified")
    return check


def _range(start, end, size):
    def check(ctx, r):
        _nosniff(r)
        want(r.body == TEXT[start:end + 1], "range body %r" % r.body)
        want(r.header("Content-Range") == "bytes %d-%d/%d" % (start, end, size),
             "Content-Range %r" % r.header("Content-Range"))
    return check


def _dims(w, h):
    def check(ctx, r):
        _nosniff(r)
        got = png_size(r.body)
        want(got == (w, h), "thumb %dx%d, want %dx%d" % (got + (w, h)))
    return check


def _last_modified(ctx):
    return {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}


def _token_shape(ctx, r):
    p = jwt_payload(r.json["token"])
    want(p["type"] == "file" and p["id"] == ctx.ids["A"], "claims %s" % p)
    want(170 <= p["exp"] - time.time() <= 181, "exp in %ds" % (p["exp"] - time.time()))


def _vault_url(token_key=None, auth_token=False):
    def f(ctx):
        rec = ctx.vars["fvault"]
        q = ""
        if token_key:
            q = "?token=" + ctx.vars["ftok"][token_key]
        elif auth_token:
            q = "?token=" + ctx.tokens["A"]
        return "/api/files/fvault/%s/%s%s" % (rec["id"], rec["doc"], q)
    return f


# -- update flows (each on a record of its own) ----------------------------------

def _fresh(ctx):
    ensure(ctx)
    ctx.vars["fx"] = upload(ctx, DOCS, [("one", "first.txt", TEXT),
                                        ("many", "m1.txt", TEXT), ("many", "m2.txt", TEXT)])


def _patch(parts):
    return lambda ctx: multipart(parts(ctx) if callable(parts) else parts)


def _rec_path(ctx):
    return DOCS + "/" + ctx.vars["fx"]["id"]


def _appended(ctx, r):
    old = ctx.vars["fx"]["many"]
    want(r.json["many"][:2] == old and len(r.json["many"]) == 3, "many %r" % r.json["many"])
    want(re.fullmatch("mmm3_%s\\.txt" % RAND, r.json["many"][2]), "new %r" % r.json["many"][2])


def _prepended(ctx, r):
    old = ctx.vars["fx"]["many"]
    want(r.json["many"][1:] == old and len(r.json["many"]) == 3, "many %r" % r.json["many"])
    want(r.json["many"][0].startswith("mmm0_"), "new %r" % r.json["many"][0])


def _deleted_one_of_many(ctx, r):
    old = ctx.vars["fx"]["many"]
    want(r.json["many"] == old[1:], "many %r" % r.json["many"])
    want(wait_gone(storage_path(ctx, r.json, old[0])), "removed file still stored")


def _replaced_single(ctx, r):
    old = ctx.vars["fx"]["one"]
    want(r.json["one"] != old and r.json["one"].startswith("second_"), "one %r" % r.json["one"])
    want(wait_gone(storage_path(ctx, r.json, old)), "replaced file still stored")
    want(os.path.isfile(storage_path(ctx, r.json, r.json["one"])), "new file not stored")


def _kept_plus_new(ctx, r):
    old = ctx.vars["fx"]["many"]
    want(len(r.json["many"]) == 2 and r.json["many"][0] == old[1], "many %r" % r.json["many"])
    want(r.json["many"][1].startswith("kkk_"), "new %r" % r.json["many"][1])
    want(wait_gone(storage_path(ctx, r.json, old[0])), "dropped file still stored")


def _cleared(ctx, r):
    old = ctx.vars["fx"]
    want(r.json["one"] == "" and r.json["many"] == [], "not cleared: %s" % short(r.json))
    for n in [old["one"]] + old["many"]:
        want(wait_gone(storage_path(ctx, old, n)), "cleared file still stored: %s" % n)


def _failed_update_keeps_files(ctx, r):
    d = storage_path(ctx, ctx.vars["fx"])
    time.sleep(0.2)
    names = sorted(os.listdir(d))
    want(names == sorted([ctx.vars["fx"]["one"]] + ctx.vars["fx"]["many"]),
         "stored files after a failed update: %s" % names)


def _record_dir_gone(ctx, r):
    want(wait_gone(storage_path(ctx, ctx.vars["fx"])), "record directory still there")


def _thumb_dir_made(ctx, r):
    d = ctx.vars["fdoc"]
    p = storage_path(ctx, d, "thumbs_%s/100x100_%s" % (d["img"], d["img"]))
    want(os.path.isfile(p), "thumb not cached at %s" % p)


def _cascade_setup(ctx):
    ensure(ctx)
    if "fparents" not in ctx.vars:
        parents = ctx.new_collection({"name": "fparents", "listRule": "", "viewRule": "",
                                      "createRule": "", "deleteRule": "",
                                      "fields": [{"name": "t", "type": "text"}]})
        ctx.new_collection({"name": "fkids", "listRule": "", "viewRule": "", "createRule": "",
                            "fields": [{"name": "parent", "type": "relation", "maxSelect": 1,
                                        "collectionId": parents["id"], "cascadeDelete": True},
                                       {"name": "att", "type": "file", "maxSelect": 1}]})
        ctx.vars["fparents"] = parents["id"]
    ctx.vars["fparent"] = ctx.must("POST", "/api/collections/fparents/records", body={"t": "p"})
    ctx.vars["fkid"] = upload(ctx, "/api/collections/fkids/records",
                              [("parent", ctx.vars["fparent"]["id"]), ("att", "kid.txt", TEXT)])
    if not os.path.isfile(storage_path(ctx, ctx.vars["fkid"], ctx.vars["fkid"]["att"])):
        raise SetupError("child file not stored")


def _kid_dir_gone(ctx, r):
    want(wait_gone(storage_path(ctx, ctx.vars["fkid"])), "deleted record kept its files")


# -- the table ------------------------------------------------------------------

def _seed_view(ctx):
    return DOCS + "/" + ctx.vars["fdoc"]["id"]


def _big(n):
    return multipart([("many", "big.bin", b"x" * n)])


SCENARIOS = [
    # 8.1 uploads
    S("files: create stores uploads under spec names", "GET", _seed_view, check=_seed_names),
    S("files: name keeps double extension and snake-cases", "POST", DOCS, ctype=MP,
      raw=multipart([("one", "myFile.tar.gz", TEXT)]), check=_name("one", "my_file_%s\\.tar\\.gz" % RAND)),
    S("files: non-ASCII name gets random base", "POST", DOCS, ctype=MP,
      raw=multipart([("one", "фото.png", PNG)]), check=_name("one", "%s_%s\\.png" % (RAND, RAND))),
    S("files: traversal name is neutralised", "POST", DOCS, ctype=MP,
      raw=multipart([("one", "../../etc/passwd", TEXT)]),
      check=_name("one", "passwd_%s\\.txt" % RAND)),
    S("files: name without extension gets the sniffed one", "POST", DOCS, ctype=MP,
      raw=multipart([("img", "picture", PNG)]), check=_name("img", "picture_%s\\.png" % RAND)),
    S("files: maxSize -> validation_file_size_limit", "POST", DOCS, ctype=MP,
      raw=_big(100001), status=400, check=codes("Failed to create record.",
                                                {"many": "validation_file_size_limit"})),
    S("files: mime sniffed, not the part's Content-Type", "POST", DOCS, ctype=MP,
      raw=multipart([("img", "fake.png", TEXT, "image/png")]), status=400,
      check=codes("Failed to create record.", {"img": "validation_invalid_mime_type"})),
    S("files: maxSelect -> validation_too_many_files", "POST", DOCS, ctype=MP,
      raw=multipart([("many", "%d.txt" % i, TEXT) for i in range(4)]), status=400,
      check=codes("Failed to create record.", {"many": "validation_too_many_files"})),
    S("files: unknown plain name -> validation_invalid_file", "POST", DOCS,
      body={"one": "nope_1234567890.txt"}, status=400,
      check=codes("Failed to create record.", {"one": "validation_invalid_file"})),
    # Input is never dropped: a part without a filename (Flutter's MultipartFile.fromBytes
    # without one) is not an upload, and a text value that is not UTF-8 is refused.
    S("files: binary part without filename -> validation_invalid_file", "POST", DOCS, ctype=MP,
      raw=multipart([("title", "t"), ("img", PNG)]), status=400,
      check=codes("Failed to load the submitted data due to invalid formatting.",
                  {"img": "validation_invalid_file"}, only=True)),
    S("files: text part without filename -> validation_invalid_file", "POST", DOCS, ctype=MP,
      raw=multipart([("one", TEXT)]), status=400,
      check=codes("Failed to create record.", {"one": "validation_invalid_file"})),
    S("files: non-UTF-8 text part -> 400 naming it", "POST", DOCS, ctype=MP,
      raw=multipart([("title", b"caf\xe9")]), status=400,
      check=codes("Failed to load the submitted data due to invalid formatting.",
                  {"title": "validation_invalid_utf8"}, only=True)),
    S("files: non-UTF-8 urlencoded value -> 400 naming it", "POST", DOCS,
      ctype="application/x-www-form-urlencoded", raw=b"title=caf%E9", status=400,
      check=codes("Failed to load the submitted data due to invalid formatting.",
                  {"title": "validation_invalid_utf8"}, only=True)),
    S("files: client cannot forge the internal uploads key", "POST", DOCS,
      body={"one": "x_1234567890.txt", "@tarmac.uploads": [{"key": "one", "name": "x_1234567890.txt"}]},
      status=400, check=codes("Failed to create record.", {"one": "validation_invalid_file"})),
    S("files: body over --max-body -> 413", "POST", DOCS, ctype=MP, raw=b"x",
      headers={"Content-Length": str(64 << 20)}, status=413),
    # 8.1 update flows
    S("files: f+ appends", "PATCH", _rec_path, setup=_fresh, ctype=MP,
      raw=_patch([("many+", "mmm3.txt", TEXT)]), check=_appended),
    S("files: +f prepends", "PATCH", _rec_path, setup=_fresh, ctype=MP,
      raw=_patch([("+many", "mmm0.txt", TEXT)]), check=_prepended),
    S("files: f- deletes a stored file", "PATCH", _rec_path, setup=_fresh, ctype=MP,
      raw=_patch(lambda ctx: [("many-", ctx.vars["fx"]["many"][0])]), check=_deleted_one_of_many),
    S("files: single field upload replaces and removes the old file", "PATCH", _rec_path,
      setup=_fresh, ctype=MP, raw=_patch([("one", "second.txt", TEXT)]), check=_replaced_single),
    S("files: kept names plus new upload", "PATCH", _rec_path, setup=_fresh, ctype=MP,
      raw=_patch(lambda ctx: [("many", ctx.vars["fx"]["many"][1]), ("many", "kkk.txt", TEXT)]),
      check=_kept_plus_new),
    S("files: \"\" and [] clear", "PATCH", _rec_path, setup=_fresh,
      body={"one": "", "many": []}, check=_cleared),
    S("files: failed update writes nothing", "PATCH", _rec_path, setup=_fresh, ctype=MP,
      raw=_patch([("many+", "a.txt", TEXT), ("many+", "b.txt", TEXT)]), status=400,
      check=_failed_update_keeps_files),
    S("files: delete removes the record directory", "DELETE", _rec_path, setup=_fresh,
      status=204, check=_record_dir_gone),
    S("files: a cascade delete removes the files of the deleted children", "DELETE",
      lambda ctx: "/api/collections/fparents/records/" + ctx.vars["fparent"]["id"],
      setup=_cascade_setup, status=204, check=_kid_dir_gone),
    S("files: truncating a collection removes its files", "DELETE",
      "/api/collections/fkids/truncate", auth="su", setup=_cascade_setup, status=204,
      check=_kid_dir_gone),
    S("files: deleting a collection removes its storage", "DELETE", "/api/collections/fkids",
      auth="su", setup=_cascade_setup, status=204,
      check=lambda ctx, r: want(wait_gone(os.path.dirname(storage_path(ctx, ctx.vars["fkid"]))),
                                "collection storage still there")),
    # 8.2 downloads
    S("files: download by collection name", "GET", file_url("name", "fdoc", "one"),
      check=_body(TEXT, "text/plain; charset=utf-8", "attachment")),
    S("files: download by collection id, image inline", "GET", file_url("id", "fdoc", "img"),
      check=_body(PNG, "image/png", "inline")),
    S("files: download=1 -> attachment", "GET", file_url("id", "fdoc", "img", query="?download=1"),
      check=_body(PNG, "image/png", "attachment")),
    S("files: Range -> 206", "GET", file_url("name", "fdoc", "one"), headers={"Range": "bytes=1-4"},
      status=206, check=_range(1, 4, len(TEXT))),
    S("files: suffix Range -> 206", "GET", file_url("name", "fdoc", "one"),
      headers={"Range": "bytes=-3"}, status=206, check=_range(len(TEXT) - 3, len(TEXT) - 1, len(TEXT))),
    S("files: unsatisfiable Range -> 416", "GET", file_url("name", "fdoc", "one"),
      headers={"Range": "bytes=999-"}, status=416,
      check=lambda ctx, r: (_nosniff(r),
                            want(r.header("Content-Range") == "bytes */%d" % len(TEXT),
                                 "Content-Range %r" % r.header("Content-Range")))),
    S("files: If-Modified-Since -> 304", "GET", file_url("name", "fdoc", "one"),
      headers=_last_modified, status=304, check=lambda ctx, r: _nosniff(r)),
    S("files: HEAD", "HEAD", file_url("name", "fdoc", "one"),
      check=lambda ctx, r: (_nosniff(r), want(r.header("Content-Length") == str(len(TEXT)),
                                               "Content-Length"))),
    S("files: HEAD of a thumb", "HEAD", file_url("id", "fdoc", "img", query="?thumb=100x100"),
      check=lambda ctx, r: (_nosniff(r), want(r.header("Content-Type") == "image/png",
                                               "Content-Type %r" % r.header("Content-Type")))),
    S("files: unknown collection -> 404", "GET", "/api/files/nope/abc/x.txt", status=404, exact=E404),
    S("files: unknown record -> 404", "GET",
      lambda ctx: "/api/files/fdocs/zzzzzzzzzzzzzzz/" + ctx.vars["fdoc"]["one"], status=404, exact=E404),
    S("files: name not in the record -> 404", "GET",
      lambda ctx: "/api/files/fdocs/%s/other_1234567890.txt" % ctx.vars["fdoc"]["id"],
      status=404, exact=E404),
    S("files: traversal in the URL -> 404", "GET",
      lambda ctx: "/api/files/fdocs/%s/..%%2F..%%2F..%%2Fdata.db" % ctx.vars["fdoc"]["id"],
      status=404, exact=E404),
    S("files: traversal in the record id -> 404", "GET", "/api/files/fdocs/..%2F..%2Fstorage/x",
      status=404, exact=E404),
    # thumbs
    S("files: thumb 100x100 always allowed", "GET", file_url("id", "fdoc", "img", query="?thumb=100x100"),
      check=lambda ctx, r: (_dims(100, 100)(ctx, r), _thumb_dir_made(ctx, r))),
    S("files: thumb WxH listed", "GET", file_url("id", "fdoc", "img", query="?thumb=50x20"),
      check=_dims(50, 20)),
    S("files: thumb 0xH keeps ratio", "GET", file_url("id", "fdoc", "img", query="?thumb=0x40"),
      check=_dims(80, 40)),
    S("files: thumb Wx0 keeps ratio", "GET", file_url("id", "fdoc", "img", query="?thumb=60x0"),
      check=_dims(60, 30)),
    S("files: thumb top crop", "GET", file_url("id", "fdoc", "img", query="?thumb=40x40t"),
      check=_dims(40, 40)),
    S("files: thumb bottom crop", "GET", file_url("id", "fdoc", "img", query="?thumb=40x40b"),
      check=_dims(40, 40)),
    S("files: thumb fit never enlarges", "GET", file_url("id", "fdoc", "img", query="?thumb=300x300f"),
      check=_dims(200, 100)),
    S("files: thumb size not listed -> original", "GET", file_url("id", "fdoc", "img", query="?thumb=30x30"),
      check=_body(PNG, "image/png")),
    S("files: thumb of a non-image -> original", "GET",
      file_url("id", "fdoc", "one", query="?thumb=100x100"), check=_body(TEXT)),
    S("files: bad thumb -> original", "GET", file_url("id", "fdoc", "img", query="?thumb=0x0"),
      check=_body(PNG)),
    # 8.3 protected files and tokens
    S("files: token for a guest -> 401", "POST", "/api/files/token", status=401),
    S("files: token is a file JWT for 180 s", "POST", "/api/files/token", auth="A",
      check=_token_shape),
    S("files: protected without token -> 404", "GET", _vault_url(), status=404, exact=E404),
    S("files: protected ignores Authorization", "GET", _vault_url(), auth="A", status=404,
      exact=E404),
    S("files: protected with the owner's file token", "GET", _vault_url("A"),
      check=_body(b"top secret")),
    S("files: protected with another user's token -> 404", "GET", _vault_url("B"), status=404,
      exact=E404),
    S("files: protected with an auth token in ?token -> 404", "GET", _vault_url(auth_token=True),
      status=404, exact=E404),
    S("files: protected with a superuser file token", "GET", _vault_url("su"),
      check=_body(b"top secret")),
]
