/* ratelimit.c -- see ratelimit.h. */
#include "api/ratelimit.h"

#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/worker.h"
#include "base/chrono.h"
#include "core/schema/collection.h"
#include "core/settings/settings.h"
#include "http/req.h"

/* The endpoints PocketBase groups under its "*:auth" label. */
static bool is_auth_endpoint(struct str path)
{
    static const char *const tails[] = {
        "/auth-with-password",     "/auth-with-otp",        "/auth-with-oauth2",
        "/auth-with-id-token",     "/request-otp",          "/request-password-reset",
        "/confirm-password-reset", "/request-verification", "/confirm-verification",
        "/request-email-change",   "/confirm-email-change"};
    if (!str_has_prefix(path, STR_LIT("/api/collections/")))
        return false;
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        size_t n = strlen(tails[i]);
        if (path.len > n && memcmp(path.ptr + path.len - n, tails[i], n) == 0)
            return true;
    }
    return false;
}

/* Room a collection name may add over the segment it replaces (names are at
 * most 255 bytes, spec §5.2). */
#define NAME_ROOM 256

/* Writes path into out (room for path.len + NAME_ROOM + 1 bytes) as the
 * router and the handlers read it, so no spelling of a path escapes a rule
 * written for it: each segment percent-decoded on its own, as the router
 * does (a '/' it decodes to stays "%2F", keeping the segments apart), and a
 * collection in /api/collections/{c}... or /api/files/{c}... named by id or
 * by its name in any case (core_schema_find, the handlers' lookup) replaced
 * by its name. Returns the length, or -1 for a malformed escape or an
 * encoded NUL (the router answers those 400). */
static long canonical_path(struct str path, const struct core_schema *schema, char *out)
{
    size_t len = 0;
    size_t seg_no = 0;
    size_t seg_start[4] = {0};
    for (size_t i = 0; i < path.len; i++) {
        char ch = path.ptr[i];
        if (ch == '/') {
            if (++seg_no < 4)
                seg_start[seg_no] = len + 1;
        } else if (ch == '%') {
            int hi = i + 2 < path.len ? str_hex_value(path.ptr[i + 1]) : -1;
            int lo = hi >= 0 ? str_hex_value(path.ptr[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0))
                return -1;
            ch = (char)(hi * 16 + lo);
            i += 2;
            if (ch == '/') {
                memcpy(out + len, "%2F", 3);
                len += 3;
                continue;
            }
        }
        out[len++] = ch;
    }
    out[len] = '\0';
    bool has_collection =
        seg_no >= 3 && (str_has_prefix((struct str){out, len}, STR_LIT("/api/collections/")) ||
                        str_has_prefix((struct str){out, len}, STR_LIT("/api/files/")));
    if (!has_collection || !schema)
        return (long)len;
    size_t start = seg_start[3];
    const char *end = memchr(out + start, '/', len - start);
    size_t seg_len = end ? (size_t)(end - (out + start)) : len - start;
    const struct core_collection *c = core_schema_find(schema, (struct str){out + start, seg_len});
    size_t name_len = c ? strlen(c->name) : 0;
    if (!c || name_len > seg_len + NAME_ROOM)
        return (long)len;
    memmove(out + start + name_len, out + start + seg_len, len - start - seg_len + 1);
    memcpy(out + start, c->name, name_len);
    return (long)(len - seg_len + name_len);
}

static void too_many(struct http_req *req, uint32_t retry_after_s)
{
    api_error_write(req, 429, NULL);
    char v[16];
    int n = snprintf(v, sizeof(v), "%u", retry_after_s ? retry_after_s : 1);
    http_resp_add_header(req, "Retry-After", (struct str){v, (size_t)n});
}

static bool admit_one(struct api_limits *l, const struct core_ratelimit_rule *r, const char *scope,
                      struct http_req *req, int64_t now)
{
    if (r->max == 0)
        return true;
    char key[256];
    int n = snprintf(key, sizeof(key), "%s|%s%s%s|%s", scope, r->method, r->method[0] ? " " : "",
                     r->prefix, req->remote_addr ? req->remote_addr : "");
    uint32_t retry = 0;
    if (l->store.hit(l->store.ctx, (struct str){key, (size_t)n}, r->max, r->window_s, now,
                     &retry) == RC_RATE_LIMITED) {
        too_many(req, retry);
        return false;
    }
    return true;
}

/* The path rules (and the per-IP auth rule for a POST to an auth endpoint)
 * for one request of req's client: req's own, or a batch's sub-request. */
static bool admit_path(struct api_limits *l, struct http_req *req, struct str method,
                       struct str raw_path)
{
    int64_t now = chrono_real_ms();
    struct core_app *app = api_worker_of(req)->core.app;
    const struct core_schema *schema = core_app_schema(app);
    /* The rules of now: the settings API replaces them at run time. */
    const struct core_settings *settings = core_app_settings(app);
    if (core_settings_ratelimit_excluded(settings, req->remote_addr))
        return true;
    const struct core_ratelimit_config *cfg = &settings->ratelimit;
    char *buf = arena_alloc(req->arena, raw_path.len + NAME_ROOM + 1);
    long n = canonical_path(raw_path, schema, buf);
    if (n < 0)
        return true; /* the router answers 400 */
    struct str path = {buf, (size_t)n};
    for (size_t i = 0; i < cfg->rule_count; i++) {
        const struct core_ratelimit_rule *r = &cfg->rules[i];
        if (r->method[0] && !str_eq(method, str_from_cstr(r->method)))
            continue;
        /* The rule's own path read the same way: it may name a collection by id. */
        char prefix[sizeof(r->prefix) + NAME_ROOM];
        long pn = canonical_path(str_from_cstr(r->prefix), schema, prefix);
        struct str want = pn < 0 ? str_from_cstr(r->prefix) : (struct str){prefix, (size_t)pn};
        bool is_match = r->is_exact ? str_eq(path, want) : str_has_prefix(path, want);
        if (is_match && !admit_one(l, r, "ip", req, now))
            return false;
    }
    if (str_eq(method, STR_LIT("POST")) && is_auth_endpoint(path))
        return admit_one(l, &cfg->auth_ip, "ip", req, now);
    return true;
}

bool api_ratelimit_admit(struct http_req *req, void *ctx)
{
    return admit_path(ctx, req, str_from_cstr(http_method_name(req->method)), req->path);
}

bool api_ratelimit_admit_sub(struct http_req *req, const struct api_limits *limits,
                             const char *method, struct str path)
{
    if (!limits)
        return true;
    return admit_path((struct api_limits *)limits, req, str_from_cstr(method), path);
}

enum rc api_ratelimit_identity(struct api_call *c, const struct api_limits *limits,
                               const char *collection_id, const char *identity)
{
    if (!limits || limits->cfg.auth_identity.max == 0 ||
        core_settings_ratelimit_excluded(core_app_settings(c->aw->core.app), c->req->remote_addr))
        return RC_OK;
    char key[320];
    int n = snprintf(key, sizeof(key), "id|%s|", collection_id);
    /* Identities compare without case, as the email lookup does. */
    for (const char *p = identity; *p && (size_t)n < sizeof(key) - 1; p++)
        key[n++] = ascii_lower(*p);
    uint32_t retry = 0;
    if (limits->store.hit(limits->store.ctx, (struct str){key, (size_t)n},
                          limits->cfg.auth_identity.max, limits->cfg.auth_identity.window_s,
                          chrono_real_ms(), &retry) == RC_RATE_LIMITED) {
        too_many(c->req, retry);
        return RC_RATE_LIMITED;
    }
    return RC_OK;
}
