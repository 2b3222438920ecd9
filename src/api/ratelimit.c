/* ratelimit.c -- see ratelimit.h. */
#include "api/ratelimit.h"

#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/worker.h"
#include "base/chrono.h"
#include "core/cluster/ratelimit.h"
#include "core/schema/collection.h"
#include "core/task.h"
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

/* One counter a request bumps: its key and rule. */
struct match {
    char key[320];
    size_t key_len;
    uint32_t max;
    uint32_t window_s;
};

/* The counters of one request (a path's rules, or a login's identity),
 * counted in this process or, with --redis, in Redis for every instance. */
struct check {
    struct api_limits *l;
    struct http_req *req;
    struct match m[CORE_RATELIMIT_MAX_RULES + 1];
    struct core_cluster_hit hits[CORE_RATELIMIT_MAX_RULES + 1];
    size_t n;
    int64_t now_ms;
    /* a wait inside a task */
    struct core_task *task;
    bool is_done;
    bool is_waiting;
    bool is_ok;
};

/* k set up for req, with no counter yet. Not zeroed whole: admission runs
 * for every request, and most match no rule. */
static void check_init(struct check *k, struct api_limits *l, struct http_req *req)
{
    k->l = l;
    k->req = req;
    k->n = 0;
    k->now_ms = chrono_real_ms();
    k->task = NULL;
    k->is_done = false;
    k->is_waiting = false;
    k->is_ok = false;
}

static void add_match(struct check *k, const struct core_ratelimit_rule *r, const char *scope,
                      struct http_req *req)
{
    if (r->max == 0 || k->n == sizeof(k->m) / sizeof(k->m[0]))
        return;
    struct match *m = &k->m[k->n++];
    int n = snprintf(m->key, sizeof(m->key), "%s|%s%s%s|%s", scope, r->method,
                     r->method[0] ? " " : "", r->prefix, req->remote_addr ? req->remote_addr : "");
    m->key_len = n < 0 ? 0 : (size_t)n < sizeof(m->key) ? (size_t)n : sizeof(m->key) - 1;
    m->max = r->max;
    m->window_s = r->window_s;
}

/* This process's counters, in order, the first one over its limit
 * answering 429 (the rest not counted); false then. */
static bool decide_local(struct check *k)
{
    for (size_t i = 0; i < k->n; i++) {
        struct match *m = &k->m[i];
        uint32_t retry = 0;
        if (k->l->store.hit(k->l->store.ctx, (struct str){m->key, m->key_len}, m->max, m->window_s,
                            k->now_ms, &retry) == RC_RATE_LIMITED) {
            too_many(k->req, retry);
            return false;
        }
    }
    return true;
}

/* The counts Redis returned: the first one over its limit answers 429. */
static bool decide_shared(struct check *k)
{
    for (size_t i = 0; i < k->n; i++) {
        if (k->hits[i].count > (long long)k->m[i].max) {
            long long ms = k->hits[i].ms_left > 0 ? k->hits[i].ms_left : 0;
            too_many(k->req, (uint32_t)((ms + 999) / 1000));
            return false;
        }
    }
    return true;
}

static void fill_hits(struct check *k)
{
    for (size_t i = 0; i < k->n; i++)
        k->hits[i] = (struct core_cluster_hit){.key = {k->m[i].key, k->m[i].key_len},
                                               .window_s = k->m[i].window_s};
}

/* An admission's answer from Redis (or its absence): decide, then let the
 * server route the request or send the 429 (http/server.h). */
static void on_admit_counted(void *ctx, bool ok)
{
    struct check *k = ctx;
    if (ok)
        (void)decide_shared(k);
    else
        (void)decide_local(k);
    http_req_resume(k->req);
}

static void on_task_counted(void *ctx, bool ok)
{
    struct check *k = ctx;
    k->is_ok = ok;
    k->is_done = true;
    if (k->is_waiting) {
        k->is_waiting = false;
        core_task_wake(k->task);
    }
}

/* Decides k now: with --redis and its connection up, by the shared counts,
 * waiting for them in the request's task (at most CORE_CLUSTER_TIMEOUT_MS);
 * else, or when Redis does not answer, by this process's counters. */
static bool decide_now(struct check *k)
{
    if (k->n == 0)
        return true;
    k->task = k->l->cluster ? core_task_current() : NULL;
    if (k->task) {
        fill_hits(k);
        if (core_cluster_ratelimit_hit(k->l->cluster, k->hits, k->n, on_task_counted, k) == RC_OK) {
            while (!k->is_done) {
                k->is_waiting = true;
                core_task_suspend(k->task);
            }
            if (k->is_ok)
                return decide_shared(k);
        }
    }
    return decide_local(k);
}

/* The path rules (and the per-IP auth rule for a POST to an auth endpoint)
 * for one request of req's client: req's own, or a batch's sub-request.
 * Fills k's counters, without counting them. */
static void match_path(struct check *k, struct http_req *req, struct str method,
                       struct str raw_path)
{
    struct core_app *app = api_worker_of(req)->core.app;
    const struct core_schema *schema = core_app_schema(app);
    /* The rules of now: the settings API replaces them at run time. */
    const struct core_settings *settings = core_app_settings(app);
    if (core_settings_ratelimit_excluded(settings, req->remote_addr))
        return;
    const struct core_ratelimit_config *cfg = &settings->ratelimit;
    char *buf = arena_alloc(req->arena, raw_path.len + NAME_ROOM + 1);
    long n = canonical_path(raw_path, schema, buf);
    if (n < 0)
        return; /* the router answers 400 */
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
        if (is_match)
            add_match(k, r, "ip", req);
    }
    if (str_eq(method, STR_LIT("POST")) && is_auth_endpoint(path))
        add_match(k, &cfg->auth_ip, "ip", req);
}

bool api_ratelimit_admit(struct http_req *req, void *ctx)
{
    struct api_limits *l = ctx;
    struct check local;
    check_init(&local, l, req);
    match_path(&local, req, str_from_cstr(http_method_name(req->method)), req->path);
    if (local.n == 0)
        return true;
    if (l->cluster && core_cluster_can_command(l->cluster)) {
        /* Decided when Redis answers: the check lives as long as req. */
        struct check *k = arena_alloc(req->arena, sizeof(*k));
        *k = local;
        fill_hits(k);
        if (core_cluster_ratelimit_hit(l->cluster, k->hits, k->n, on_admit_counted, k) == RC_OK) {
            http_req_defer(req); /* before routing: http_req_resume() goes on */
            return true;
        }
    }
    return decide_local(&local);
}

bool api_ratelimit_admit_sub(struct http_req *req, const struct api_limits *limits,
                             const char *method, struct str path)
{
    if (!limits)
        return true;
    struct check k;
    check_init(&k, (struct api_limits *)limits, req);
    match_path(&k, req, str_from_cstr(method), path);
    return decide_now(&k);
}

enum rc api_ratelimit_identity(struct api_call *c, const struct api_limits *limits,
                               const char *collection_id, const char *identity)
{
    if (!limits || limits->cfg.auth_identity.max == 0 ||
        core_settings_ratelimit_excluded(core_app_settings(c->aw->core.app), c->req->remote_addr))
        return RC_OK;
    struct check k;
    check_init(&k, (struct api_limits *)limits, c->req);
    struct match *m = &k.m[k.n++];
    int n = snprintf(m->key, sizeof(m->key), "id|%s|", collection_id);
    /* Identities compare without case, as the email lookup does. */
    for (const char *p = identity; *p && (size_t)n < sizeof(m->key) - 1; p++)
        m->key[n++] = ascii_lower(*p);
    m->key_len = (size_t)n;
    m->max = limits->cfg.auth_identity.max;
    m->window_s = limits->cfg.auth_identity.window_s;
    return decide_now(&k) ? RC_OK : RC_RATE_LIMITED;
}
