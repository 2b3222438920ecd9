/* files.c -- /api/files (spec §8.2, §8.3): downloads, thumbnails, protected
 * files and file tokens. The handler checks everything that needs the
 * schema and the database on the loop (a record by id is a few
 * microseconds), then reads the file (and makes the thumbnail) on the
 * offload pool, straight into the response buffer, and resumes. A body over
 * CORE_FILE_INLINE_MAX goes out by chunks instead (struct file_stream): one
 * chunk read on the pool per pull of the HTTP server (64 KiB from disk, a
 * ranged GET of 1 MiB from S3), so a large download holds a chunk of
 * memory, not the file. The storage is the one in use when the request
 * came (core_app_storage). */
#include "api/handlers.h"

#include <stddef.h>
#include <string.h>
#include <time.h>

#include "api/call.h"
#include "api/files.h"
#include "api/errors.h"
#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "base/jsonw.h"
#include "core/files/file_name.h"
#include "core/files/file_read.h"
#include "core/files/storage.h"
#include "core/record/record_write.h"
#include "core/settings/settings.h"
#include "core/files/thumb.h"
#include "core/credential/token.h"
#include "net/offload.h"

#define PATH_BYTES 4096

struct download {
    struct api_call *call;
    struct core_file_read r;
    struct str name;
    bool is_attachment; /* download=1 */
    enum rc rc;
};

/* The file field of record that holds name, or NULL. */
static const struct core_field *field_holding(const struct core_collection *col, json_t *record,
                                              struct str name)
{
    for (size_t i = 0; i < col->field_count; i++) {
        const struct core_field *f = &col->fields[i];
        if (f->type != CORE_FIELD_FILE)
            continue;
        json_t *v = json_object_get(record, f->name);
        if (json_is_string(v) && str_eq(str_from_cstr(json_string_value(v)), name))
            return f;
        size_t k;
        json_t *x;
        json_array_foreach(v, k, x)
        {
            if (json_is_string(x) && str_eq(str_from_cstr(json_string_value(x)), name))
                return f;
        }
    }
    return NULL;
}

/* spec §8.3: the viewRule with @request.auth = the file token's record; the
 * Authorization header does not count. */
static bool may_read_protected(struct api_call *c, const struct core_collection *col,
                               const char *id)
{
    core_auth_cleanup(&c->auth);
    struct str token = api_call_query(c, "token");
    core_auth_load_file(&c->aw->core, c->core.schema, token, chrono_real_ms() / 1000, &c->auth);
    if (c->auth.is_superuser &&
        !core_settings_superuser_ip_ok(core_app_settings(c->aw->core.app), c->req->remote_addr))
        core_auth_cleanup(&c->auth); /* superuserIPs: a guest, as PocketBase reads it */
    c->core.filter_request.auth_collection = c->auth.collection;
    c->core.filter_request.auth = c->auth.record;
    if (c->auth.is_superuser)
        return true;
    const char *rule = col->rules[CORE_RULE_VIEW];
    if (rule && rule[0])
        api_call_request_data(c, "protectedFile");
    return core_rule_passes(&c->core, col, rule, id);
}

/* "bytes=a-b", "bytes=a-", "bytes=-n"; anything else (several ranges, bad
 * syntax) is ignored and the whole file served. */
static void parse_range(struct str h, struct core_file_read *r)
{
    h = str_trim_ows(h);
    if (!str_has_prefix(h, STR_LIT("bytes=")))
        return;
    struct str spec = str_trim_ows((struct str){h.ptr + 6, h.len - 6});
    if (memchr(spec.ptr, ',', spec.len))
        return;
    const char *dash = memchr(spec.ptr, '-', spec.len);
    if (!dash)
        return;
    struct str a = {spec.ptr, (size_t)(dash - spec.ptr)};
    struct str b = {dash + 1, spec.len - a.len - 1};
    uint64_t x, y;
    if (a.len == 0) {
        if (!str_to_u64(b, &y))
            return;
        r->is_suffix = true;
        r->first = y;
    } else {
        if (!str_to_u64(a, &x))
            return;
        r->first = x;
        r->last = UINT64_MAX;
        if (b.len) {
            if (!str_to_u64(b, &y) || y < x)
                return;
            r->last = y;
        }
    }
    r->has_range = true;
}

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") in Unix seconds; -1 when
 * absent or unreadable. */
static int64_t parse_http_date(struct str h)
{
    char tmp[64];
    if (!h.ptr || h.len == 0 || h.len >= sizeof(tmp))
        return -1;
    memcpy(tmp, h.ptr, h.len);
    tmp[h.len] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return -1;
    return (int64_t)timegm(&tm);
}

static bool is_inline_type(const char *mime)
{
    struct str m = str_from_cstr(mime);
    if (str_has_prefix(m, STR_LIT("image/")))
        return !str_has_prefix(m, STR_LIT("image/svg"));
    return str_has_prefix(m, STR_LIT("video/")) || str_has_prefix(m, STR_LIT("audio/")) ||
           str_has_prefix(m, STR_LIT("application/pdf"));
}

/* spec §8.2: types a browser must not guess from the bytes. */
static const char *type_by_extension(struct str name, const char *sniffed)
{
    static const char *const map[][2] = {{".svg", "image/svg+xml"},
                                         {".css", "text/css"},
                                         {".js", "text/javascript"},
                                         {".mjs", "text/javascript"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t n = strlen(map[i][0]);
        if (name.len > n &&
            str_eq_nocase((struct str){name.ptr + name.len - n, n}, str_from_cstr(map[i][0])))
            return map[i][1];
    }
    return sniffed;
}

/* Every answer with a file's headers (200, 206, 304, 416; HEAD alike): the
 * browser takes Content-Type as given and never sniffs a stored upload into
 * something runnable. */
static void add_nosniff(struct http_req *req)
{
    http_resp_add_header(req, "X-Content-Type-Options", STR_LIT("nosniff"));
}

static void add_content_range(struct http_req *req, const struct core_file_read *r)
{
    char v[96];
    int n = snprintf(v, sizeof(v), "bytes %llu-%llu/%llu", (unsigned long long)r->start,
                     (unsigned long long)r->end, (unsigned long long)r->size);
    if (n > 0 && (size_t)n < sizeof(v))
        http_resp_add_header(req, "Content-Range", (struct str){v, (size_t)n});
}

/* -------------------------------------------------------------------------
 * Large bodies by chunks
 * ------------------------------------------------------------------------- */

/* Owned by itself: freed once the server has ended the source and no chunk
 * read is out (whichever comes last), since a read may outlive the
 * connection. */
struct file_stream {
    struct api_worker *aw; /* its pool and mailbox; counts the reads out (aw->file_reads) */
    struct http_body_source *src;
    struct core_storage_file *file;
    uint64_t offset; /* of the next chunk in the file */
    size_t chunk_len;
    size_t chunk_max; /* the storage's chunk (core_storage_ops.chunk) */
    enum rc read_rc;
    bool is_reading;
    bool is_ended;
    bool has_retried; /* one resubmission after RC_BUSY */
    char chunk[];
};

static void stream_free(struct file_stream *fs)
{
    core_file_read_close(fs->file);
    xfree(fs);
}

static void chunk_work(void *ctx)
{
    struct file_stream *fs = ctx;
    fs->read_rc = core_file_read_chunk(fs->file, fs->offset, fs->chunk, fs->chunk_len);
}

static void chunk_done(enum rc rc, void *ctx);

static void stream_read(struct file_stream *fs)
{
    fs->is_reading = true;
    fs->aw->file_reads++;
    if (net_offload_submit(fs->aw->core.app->offload, fs->aw->core.mailbox, chunk_work, chunk_done,
                           fs) != RC_OK) {
        fs->is_reading = false;
        fs->aw->file_reads--;
        http_body_fail(fs->src); /* on_end follows and frees */
    }
}

static void chunk_done(enum rc rc, void *ctx)
{
    struct file_stream *fs = ctx;
    fs->is_reading = false;
    fs->aw->file_reads--;
    if (fs->is_ended) {
        stream_free(fs);
        return;
    }
    if (rc == RC_BUSY && !fs->has_retried) {
        fs->has_retried = true; /* the pool was saturated: wait once more */
        stream_read(fs);
        return;
    }
    if (rc || fs->read_rc) {
        log_warn("msg=\"file read failed mid-download\" rc=%s", rc_name(rc ? rc : fs->read_rc));
        http_body_fail(fs->src);
        return;
    }
    fs->has_retried = false;
    fs->offset += fs->chunk_len;
    /* May end the source (the last chunk), which frees fs: touch it no more. */
    http_body_push(fs->src, fs->chunk, fs->chunk_len);
}

static void stream_pull(void *ctx, struct http_body_source *src)
{
    struct file_stream *fs = ctx;
    fs->src = src;
    uint64_t left = http_body_remaining(src);
    fs->chunk_len = left < fs->chunk_max ? (size_t)left : fs->chunk_max;
    stream_read(fs);
}

static void stream_end(void *ctx, bool is_complete)
{
    (void)is_complete;
    struct file_stream *fs = ctx;
    fs->is_ended = true;
    fs->src = NULL;
    if (!fs->is_reading)
        stream_free(fs);
}

static const struct http_body_ops stream_ops = {
    .pull = stream_pull,
    .on_end = stream_end,
};

/* Hands r's open file to the HTTP server as the body source of req. */
static void start_stream(struct api_call *c, struct core_file_read *r)
{
    struct file_stream *fs = xmalloc(sizeof(*fs) + r->chunk);
    memset(fs, 0, sizeof(*fs));
    fs->aw = c->aw;
    fs->file = r->file;
    fs->chunk_max = r->chunk;
    fs->offset = r->start;
    r->file = NULL;
    http_req_body_source(c->req, r->end - r->start + 1, &stream_ops, fs);
}

/* -------------------------------------------------------------------------
 * Downloads
 * ------------------------------------------------------------------------- */

static void read_work(void *ctx)
{
    struct download *d = ctx;
    d->rc = core_file_read(&d->r, http_resp_body(d->call->req));
}

static void read_done(enum rc rc, void *ctx)
{
    struct download *d = ctx;
    struct api_call *c = d->call;
    struct http_req *req = c->req;
    if (!rc)
        rc = d->rc;
    if (http_req_is_gone(req) || rc) {
        /* No body will be sent from it. Closing waits for nothing: a local
         * descriptor is closed, an S3 object's memory freed. */
        core_file_read_close(d->r.file);
        d->r.file = NULL;
    }
    if (http_req_is_gone(req)) {
        http_req_resume(req);
        return;
    }
    /* spec §8.2: a missing or unreadable file is a 404; a storage that
     * cannot be reached (S3 down) is a 503. */
    if ((!rc && d->r.status == 404) || rc == RC_IO)
        rc = RC_NOT_FOUND;
    if (rc) {
        buf_reset(http_resp_body(req));
        api_error_write(req, api_error_status(rc), NULL);
        http_req_resume(req);
        return;
    }
    struct core_file_read *r = &d->r;
    char date[30];
    chrono_format_http_date(r->mtime, date);
    if (r->status == 304) {
        http_resp_start(req, 304, NULL);
        add_nosniff(req);
        http_resp_add_header(req, "Last-Modified", str_from_cstr(date));
        http_req_resume(req);
        return;
    }
    if (r->status == 416) {
        buf_reset(http_resp_body(req));
        http_resp_start(req, 416, NULL);
        add_nosniff(req);
        {
            char v[48];
            int n = snprintf(v, sizeof(v), "bytes */%llu", (unsigned long long)r->size);
            http_resp_add_header(req, "Content-Range", (struct str){v, (size_t)n});
        }
        http_req_resume(req);
        return;
    }
    const char *type = r->is_thumb ? r->mime : type_by_extension(d->name, r->mime);
    http_resp_start(req, r->status, type);
    add_nosniff(req);
    char disp[CORE_FILE_NAME_MAX + 64];
    bool quote = memchr(d->name.ptr, '=', d->name.len) != NULL;
    int n = snprintf(disp, sizeof(disp), "%s; filename=%s%.*s%s",
                     d->is_attachment || !is_inline_type(type) ? "attachment" : "inline",
                     quote ? "\"" : "", (int)d->name.len, d->name.ptr, quote ? "\"" : "");
    if (n > 0 && (size_t)n < sizeof(disp))
        http_resp_add_header(req, "Content-Disposition", (struct str){disp, (size_t)n});
    http_resp_add_header(
        req, "Content-Security-Policy",
        STR_LIT("default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox"));
    http_resp_add_header(req, "Cache-Control",
                         STR_LIT("max-age=2592000, stale-while-revalidate=86400"));
    http_resp_add_header(req, "Last-Modified", str_from_cstr(date));
    http_resp_add_header(req, "Accept-Ranges", STR_LIT("bytes"));
    if (r->status == 206)
        add_content_range(req, r);
    if (r->file)
        start_stream(c, r);
    http_req_resume(req);
}

enum rc api_files_download(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_call_collection_or_fail(c, NULL, &col))
        return RC_OK;
    struct str id = http_req_param(req, "recordId");
    struct str name = http_req_param(req, "filename");
    if (!core_file_segment_is_safe(id) || !core_file_name_is_safe(name)) {
        api_error_write(req, 404, NULL);
        return RC_OK;
    }
    json_t *record = NULL;
    if (core_record_load(c->aw->core.db, col, id, &record) != RC_OK) {
        api_error_write(req, 404, NULL);
        return RC_OK;
    }
    const struct core_field *f = field_holding(col, record, name);
    json_decref(record);
    char idz[256];
    memcpy(idz, id.ptr, id.len);
    idz[id.len] = '\0';
    if (!f || (f->is_protected && !may_read_protected(c, col, idz))) {
        api_error_write(req, 404, NULL);
        return RC_OK;
    }
    struct core_app *app = c->aw->core.app;
    struct buf key;
    buf_init(&key, PATH_BYTES);
    enum rc rc = core_storage_key(&key, col->id, id, name);
    struct download *d = arena_alloc(req->arena, sizeof(*d));
    memset(d, 0, sizeof(*d));
    d->call = c;
    d->name = name;
    d->r.storage = core_app_storage(app);
    d->r.if_modified = -1;
    if (!rc)
        d->r.key = arena_strdup(req->arena, buf_str(&key)).ptr;
    struct str thumb = api_call_query(c, "thumb");
    if (!rc && thumb.len && core_thumb_parse(thumb, &d->r.thumb) &&
        core_thumb_is_allowed(f, thumb)) {
        /* thumbs_<name>/<size>_<name>; size is digits, 'x' and a mode letter. */
        buf_reset(&key);
        rc = core_thumb_key(&key, col->id, id, name, thumb);
        if (!rc)
            d->r.thumb_key = arena_strdup(req->arena, buf_str(&key)).ptr;
    }
    buf_cleanup(&key);
    if (rc) {
        api_error_write(req, 404, NULL);
        return RC_OK;
    }
    struct str download = api_call_query(c, "download");
    d->is_attachment = str_eq(download, STR_LIT("1")) || str_eq_cstr_nocase(download, "true") ||
                       str_eq_cstr_nocase(download, "t");
    struct str range = http_req_header(req, "range");
    if (range.ptr)
        parse_range(range, &d->r);
    d->r.if_modified = parse_http_date(http_req_header(req, "if-modified-since"));
    buf_reset(http_resp_body(req));
    api_call_defer(c); /* its budget pauses: the wait is not its cost */
    rc = net_offload_submit(app->offload, c->aw->core.mailbox, read_work, read_done, d);
    if (rc) {
        api_error_write(req, api_error_status(rc), NULL);
        http_req_resume(req);
    }
    return RC_OK;
}

void api_files_send(struct api_call *c, const char *path, struct str name)
{
    struct http_req *req = c->req;
    /* The file's directory as a storage of its own, the name its key. */
    const char *slash = strrchr(path, '/');
    struct core_storage *st = arena_alloc(req->arena, sizeof(*st));
    const char *root =
        slash ? arena_strdup(req->arena, (struct str){path, (size_t)(slash - path)}).ptr : ".";
    core_storage_init_dir(st, c->aw->core.app->dir, root);
    api_files_send_storage(c, st, slash ? slash + 1 : path, name);
}

void api_files_send_storage(struct api_call *c, const struct core_storage *st, const char *key,
                            struct str name)
{
    struct http_req *req = c->req;
    struct download *d = arena_alloc(req->arena, sizeof(*d));
    memset(d, 0, sizeof(*d));
    d->call = c;
    d->name = name;
    d->is_attachment = true;
    d->r.if_modified = parse_http_date(http_req_header(req, "if-modified-since"));
    d->r.storage = st;
    d->r.key = arena_strdup(req->arena, str_from_cstr(key)).ptr;
    struct str range = http_req_header(req, "range");
    if (range.ptr)
        parse_range(range, &d->r);
    buf_reset(http_resp_body(req));
    api_call_defer(c); /* its budget pauses: the wait is not its cost */
    enum rc rc =
        net_offload_submit(c->aw->core.app->offload, c->aw->core.mailbox, read_work, read_done, d);
    if (rc) {
        api_error_write(req, api_error_status(rc), NULL);
        http_req_resume(req);
    }
}

enum rc api_files_token(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, false))
        return RC_OK;
    struct buf token;
    buf_init(&token, CORE_TOKEN_MAX_LEN);
    enum rc rc =
        core_auth_issue_file(c->auth.collection, c->auth.record, chrono_real_ms() / 1000, &token);
    if (rc) {
        buf_cleanup(&token);
        api_error_write(req, 500, NULL);
        return RC_OK;
    }
    http_resp_start(req, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "token");
    jsonw_string(&w, buf_str(&token));
    jsonw_object_end(&w);
    rc = jsonw_finish(&w);
    buf_cleanup(&token);
    if (rc)
        api_error_write(req, 503, NULL);
    return RC_OK;
}
