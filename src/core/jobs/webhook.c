/* webhook.c -- see webhook.h. */
#include "core/jobs/webhook.h"
#include "core/schema/field_type.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/json_parts.h"
#include "base/chrono.h"
#include "base/log.h"
#include "base/secure.h"
#include "base/str.h"
#include "core/filter/sqlgen.h"
#include "core/jobs/http_kind.h"
#include "core/jobs/job.h"
#include "core/record/record_out.h"
#include "net/http_out.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/writer.h"

const char core_webhooks_collection_json[] =
    "{\"id\":\"pbc_tarmac_webhooks\",\"name\":\"_webhooks\",\"type\":\"base\","
    "\"listRule\":null,\"viewRule\":null,\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"collection\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"events\",\"type\":\"select\",\"maxSelect\":3,"
    "\"values\":[\"create\",\"update\",\"delete\"]},"
    "{\"name\":\"filter\",\"type\":\"text\",\"max\":4096},"
    "{\"name\":\"url\",\"type\":\"url\",\"required\":true},"
    "{\"name\":\"secret\",\"type\":\"text\",\"max\":1024},"
    "{\"name\":\"headers\",\"type\":\"json\",\"maxSize\":65536},"
    "{\"name\":\"active\",\"type\":\"bool\"},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}]}";

bool core_webhook_wants_action(struct str events, const char *action)
{
    json_t *a = json_loadb(events.ptr, events.len, 0, NULL);
    bool ok = !json_is_array(a) || json_array_size(a) == 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), action) == 0)
            ok = true;
    }
    json_decref(a);
    return ok;
}

/* Compiles a hook's filter over c's record (the select below names it r). */
static enum rc compile_filter(const struct core_schema *schema, const struct core_collection *c,
                              const struct core_filter_request *req, struct str filter,
                              size_t param_base, struct arena *a, struct core_sql_fragment *f,
                              char *err, size_t errlen)
{
    struct core_filter_options o = {.schema = schema,
                                    .collection = c,
                                    .alias = "r",
                                    .request = req,
                                    .allow_hidden = true,
                                    .param_base = param_base};
    return core_filter_compile(&o, filter, a, f, err, errlen);
}

enum rc core_webhook_filter_check(const struct core_schema *schema, const struct core_collection *c,
                                  struct str filter, struct core_problem *p)
{
    return core_webhook_filter_check_as(schema, c, NULL, filter, "filter", p);
}

enum rc core_webhook_filter_check_as(const struct core_schema *schema,
                                     const struct core_collection *c,
                                     const struct core_filter_request *req, struct str filter,
                                     const char *field, struct core_problem *p)
{
    struct arena a;
    arena_init(&a, 4096);
    struct core_sql_fragment f;
    char err[256], msg[320];
    enum rc rc = compile_filter(schema, c, req, filter, c->field_count, &a, &f, err, sizeof(err));
    arena_cleanup(&a);
    if (rc == RC_INVALID) {
        snprintf(msg, sizeof(msg), "Invalid filter: %s", err);
        core_problem_field(p, field, "validation_invalid_filter", msg, NULL);
        return RC_OK;
    }
    return rc;
}

enum rc core_webhook_check(const struct core_schema *schema, json_t *values, struct core_problem *p)
{
    const char *name = json_string_value(json_object_get(values, "collection"));
    const struct core_collection *target =
        name ? core_schema_find(schema, str_from_cstr(name)) : NULL;
    if (!target)
        core_problem_field(p, "collection", "validation_invalid_value", "No such collection.",
                           NULL);
    const char *filter = json_string_value(json_object_get(values, "filter"));
    enum rc rc = RC_OK;
    if (target && filter && filter[0]) {
        rc = core_webhook_filter_check(schema, target, str_from_cstr(filter), p);
        if (rc)
            return rc;
    }
    json_t *headers = json_object_get(values, "headers");
    const char *k;
    json_t *v;
    bool are_strings = !headers || json_is_null(headers) || json_is_object(headers);
    json_object_foreach(json_is_object(headers) ? headers : NULL, k, v)
    {
        are_strings = are_strings && json_is_string(v) && !strpbrk(k, "\r\n:") &&
                      !strpbrk(json_string_value(v), "\r\n");
    }
    if (!are_strings)
        core_problem_field(p, "headers", "validation_invalid_value",
                           "Must be an object of header names and string values.", NULL);
    if (core_problem_has_fields(p)) {
        core_problem_message(p, "Failed to save the webhook.");
        return RC_INVALID;
    }
    return RC_OK;
}

enum rc core_webhook_record_passes(struct store_conn *db, const struct core_event *ev,
                                   struct str filter, bool *ok)
{
    return core_webhook_values_pass(db, ev->schema, ev->c, ev->values, NULL, filter, ok);
}

enum rc core_webhook_values_pass(struct store_conn *db, const struct core_schema *schema,
                                 const struct core_collection *c, json_t *values,
                                 const struct core_filter_request *req, struct str filter, bool *ok)
{
    return core_webhook_values_match(db, schema, c, values, req, &filter, 1, ok);
}

/* SELECT CASE WHEN <filter 1> THEN 1 ELSE 0 END, ... FROM (SELECT ?1 AS
 * "f1", ...) "r": every filter in one statement, each fragment's
 * parameters numbered after the row's and the fragments before it. */
enum rc core_webhook_values_match(struct store_conn *db, const struct core_schema *schema,
                                  const struct core_collection *c, json_t *values,
                                  const struct core_filter_request *req, const struct str *filters,
                                  size_t n, bool *ok)
{
    for (size_t i = 0; i < n; i++)
        ok[i] = false;
    if (!n)
        return RC_OK;
    struct arena a;
    arena_init(&a, 4096);
    struct core_sql_fragment *f = arena_alloc(&a, n * sizeof(*f));
    bool *is_compiled = arena_alloc(&a, n * sizeof(*is_compiled));
    size_t *base = arena_alloc(&a, n * sizeof(*base));
    size_t next = c->field_count;
    enum rc rc = RC_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        char err[256];
        base[i] = next;
        rc = compile_filter(schema, c, req, filters[i], next, &a, &f[i], err, sizeof(err));
        is_compiled[i] = rc == RC_OK;
        if (rc == RC_INVALID) {
            log_warn("msg=\"filter does not compile: no match\" collection=%s error=\"%s\"",
                     c->name, err);
            rc = RC_OK;
        } else if (!rc) {
            next += f[i].param_count;
        }
    }
    if (rc) {
        arena_cleanup(&a);
        return rc; /* out of memory: the write fails rather than lose its delivery */
    }
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT ");
    for (size_t i = 0; i < n; i++) {
        if (i)
            store_sql_add(&q, ", ");
        if (!is_compiled[i]) {
            store_sql_add(&q, "0");
            continue;
        }
        store_sql_add(&q, "CASE WHEN (");
        store_sql_addn(&q, f[i].sql);
        store_sql_add(&q, ") THEN 1 ELSE 0 END");
    }
    store_sql_add(&q, " FROM (SELECT ");
    for (size_t i = 0; i < c->field_count; i++) {
        if (i)
            store_sql_add(&q, ", ");
        store_sql_param_typed(&q, core_field_column(&c->fields[i]));
        store_sql_add(&q, " AS ");
        store_sql_ident(&q, str_from_cstr(c->fields[i].name));
    }
    store_sql_add(&q, ") \"r\"");
    struct store_stmt *st = NULL;
    rc = store_sql_end(&q);
    if (!rc)
        rc = store_prepare(db, buf_str(&sql), &st);
    buf_cleanup(&sql);
    if (!rc)
        rc = core_record_bind_values(st, c, values);
    for (size_t i = 0; i < n && !rc; i++) {
        if (is_compiled[i])
            rc = core_sql_fragment_bind(st, &f[i], base[i]);
    }
    if (!rc) {
        rc = store_step(st);
        for (size_t i = 0; rc == RC_OK && i < n; i++)
            ok[i] = store_column_int64(st, (int)i) != 0;
        if (rc == RC_NOT_FOUND)
            rc = RC_OK;
    }
    if (st)
        store_done(st);
    arena_cleanup(&a);
    return rc;
}

/* The record as a superuser sees it: every field but passwords and tokenKey. */
static json_t *record_json(const struct core_event *ev)
{
    json_t *r = json_object();
    json_object_set_new(r, "collectionId", json_string(ev->c->id));
    json_object_set_new(r, "collectionName", json_string(ev->c->name));
    for (size_t i = 0; i < ev->c->field_count; i++) {
        const struct core_field *f = &ev->c->fields[i];
        if (core_field_is_secret(ev->c, f))
            continue;
        json_t *v = json_object_get(ev->values, f->name);
        json_object_set(r, f->name, v ? v : json_null());
    }
    return r;
}

static bool is_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static bool is_id(struct str s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (!is_id_char(s.ptr[i]))
            return false;
    }
    return s.len > 0;
}

/* A delivery's payload is {"hook":ID,"eventId":ID,"body":BODY}, written in
 * that layout (base/json_parts.h) with BODY the exact bytes that are sent
 * and signed (compact, keys sorted): a delivery then takes the three apart
 * without parsing or encoding the record again. Any other payload of the
 * kind (the jobs API's, a script's) is stored with its keys sorted (job.c),
 * so it is never in this order and is parsed (payload_parts). */
static const char *const payload_keys[] = {"hook", "eventId", "body"};
#define PAYLOAD_PARTS (sizeof(payload_keys) / sizeof(payload_keys[0]))

static enum rc enqueue_delivery(struct store_conn *db, const struct core_event *ev,
                                struct str hook_id)
{
    char now[32];
    chrono_format_db_ms(chrono_real_ms(), now);
    char event_id[32] = "evt_";
    (void)secure_random_id(event_id + 4, 20);
    event_id[24] = '\0';
    if (!is_id(hook_id))
        return RC_INVALID; /* record ids are [a-z0-9]: a hook's never fails this */
    json_t *body = json_object();
    json_object_set_new(body, "event", json_string(core_event_action_name(ev->action)));
    json_object_set_new(body, "collection", json_string(ev->c->name));
    json_object_set_new(body, "record", record_json(ev));
    json_object_set_new(body, "time", json_string(now));
    char *body_text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    if (!body_text)
        return RC_NOMEM;
    struct buf text;
    buf_init(&text, CORE_JOB_MAX_PAYLOAD);
    const struct str parts[PAYLOAD_PARTS] = {hook_id, str_from_cstr(event_id),
                                             str_from_cstr(body_text)};
    enum rc rc = json_parts_write(&text, payload_keys, parts, PAYLOAD_PARTS);
    xfree(body_text);
    if (!rc) {
        struct core_job_spec spec = {.kind = STR_LIT("webhook"), .payload_text = buf_str(&text)};
        char id[CORE_JOB_ID_LEN + 1];
        bool is_folded;
        rc = core_job_enqueue(db, &spec, id, &is_folded);
    }
    buf_cleanup(&text);
    return rc;
}

/* The hook id, event id and body of a delivery's payload t[0..n): by
 * position when it is one enqueue_delivery wrote, else parsed (the body
 * then encoded as a delivery's is). *owned: what the body points into, to
 * free. False when a part is missing. */
static bool payload_parts(const char *t, size_t n, struct str *hook, struct str *event,
                          struct str *body, char **owned)
{
    *owned = NULL;
    struct str parts[PAYLOAD_PARTS];
    if (json_parts_take((struct str){t, n}, payload_keys, PAYLOAD_PARTS, parts) &&
        is_id(parts[0]) && is_id(parts[1])) {
        *hook = parts[0];
        *event = parts[1];
        *body = parts[2];
        return true;
    }
    json_t *p = json_loadb(t, n, 0, NULL);
    const char *h = json_string_value(json_object_get(p, "hook"));
    const char *e = json_string_value(json_object_get(p, "eventId"));
    json_t *b = json_object_get(p, "body");
    bool ok = h && e && b && is_id(str_from_cstr(h)) && is_id(str_from_cstr(e));
    if (ok) {
        /* one buffer: the body's text, then the two ids after its NUL */
        char *bt = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
        size_t bl = bt ? strlen(bt) : 0, hl = strlen(h), el = strlen(e);
        ok = bt != NULL;
        if (ok) {
            *owned = xmalloc(bl + hl + el + 3);
            memcpy(*owned, bt, bl + 1);
            memcpy(*owned + bl + 1, h, hl + 1);
            memcpy(*owned + bl + hl + 2, e, el + 1);
            *body = (struct str){*owned, bl};
            *hook = (struct str){*owned + bl + 1, hl};
            *event = (struct str){*owned + bl + hl + 2, el};
        }
        xfree(bt);
    }
    json_decref(p);
    return ok;
}

struct core_webhooks {
    atomic_bool may_have_hooks;
};

struct core_webhooks *core_webhooks_new(void)
{
    struct core_webhooks *w = xcalloc(1, sizeof(*w));
    atomic_init(&w->may_have_hooks, true); /* until loaded */
    return w;
}

void core_webhooks_free(struct core_webhooks *w)
{
    xfree(w);
}

enum rc core_webhooks_load(struct core_webhooks *w, struct store_conn *db)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db, STR_LIT("SELECT EXISTS (SELECT 1 FROM \"_webhooks\")"), &st);
    if (rc)
        return rc;
    rc = store_step(st);
    if (rc == RC_OK)
        atomic_store(&w->may_have_hooks, store_column_int64(st, 0) != 0);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

static bool is_hooks(const struct core_collection *c)
{
    return strcmp(c->name, CORE_WEBHOOKS_COLLECTION) == 0;
}

static bool wants(void *ctx, const struct core_collection *c)
{
    struct core_webhooks *w = ctx;
    return is_hooks(c) || atomic_load_explicit(&w->may_have_hooks, memory_order_relaxed);
}

bool core_webhooks_may_enqueue(struct core_webhooks *w, const struct core_collection *c)
{
    return c->name[0] != '_' && atomic_load_explicit(&w->may_have_hooks, memory_order_relaxed);
}

static enum rc on_change(void *ctx, struct store_conn *db, const struct core_event *ev)
{
    struct core_webhooks *w = ctx;
    if (is_hooks(ev->c))
        atomic_store(&w->may_have_hooks, true);
    if (ev->c->name[0] == '_')
        return RC_OK; /* system collections (the hooks themselves) send nothing */
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("SELECT id, events, filter FROM \"_webhooks\" WHERE "
                                       "active = 1 AND (collection = ?1 OR collection = ?2)"),
                               &st);
    if (rc)
        return rc == RC_INVALID ? RC_OK : rc; /* no _webhooks table (yet) */
    store_bind_text(st, 1, str_from_cstr(ev->c->name));
    store_bind_text(st, 2, str_from_cstr(ev->c->id));
    /* Collect first: the statements below would reset this one's cursor. */
    struct match {
        char id[64];
        char *filter;
    } matches[32];
    size_t n = 0;
    while (n < 32 && (rc = store_step(st)) == RC_OK) {
        if (!core_webhook_wants_action(store_column_text(st, 1),
                                       core_event_action_name(ev->action)))
            continue;
        struct str id = store_column_text(st, 0), filter = store_column_text(st, 2);
        snprintf(matches[n].id, sizeof(matches[n].id), "%.*s", (int)id.len, id.ptr);
        matches[n].filter = xstrndup(filter.ptr, filter.len);
        n++;
    }
    store_done(st);
    rc = rc == RC_NOT_FOUND || rc == RC_OK ? RC_OK : rc;
    for (size_t i = 0; i < n; i++) {
        bool ok = true;
        if (!rc && matches[i].filter[0])
            rc = core_webhook_record_passes(db, ev, str_from_cstr(matches[i].filter), &ok);
        if (!rc && ok)
            rc = enqueue_delivery(db, ev, str_from_cstr(matches[i].id));
        xfree(matches[i].filter);
    }
    return rc;
}

/* Another instance wrote a hook: this one's writes must look for hooks too. */
static void on_remote(void *ctx, struct core_event *ev)
{
    struct core_webhooks *w = ctx;
    if (is_hooks(ev->c))
        atomic_store(&w->may_have_hooks, true);
}

struct core_event_listener core_webhook_listener(struct core_webhooks *w)
{
    return (struct core_event_listener){
        .wants = wants, .in_tx = on_change, .on_remote = on_remote, .ctx = w};
}

/* -------------------------------------------------------------------------
 * Delivery
 * ------------------------------------------------------------------------- */

struct hook {
    char id[64];
    char *url;
    char *secret;
    json_t *headers;
    bool is_active;
    char *owned; /* the payload's parts, when it was parsed */
};

static enum rc load_hook(struct store_conn *db, struct str id, struct hook *h)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db, STR_LIT("SELECT url, secret, headers, active FROM \"_webhooks\" WHERE id = ?1"), &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, id);
    rc = store_step(st);
    if (!rc) {
        struct str url = store_column_text(st, 0), secret = store_column_text(st, 1);
        struct str headers = store_column_text(st, 2);
        h->url = xstrndup(url.ptr, url.len);
        h->secret = xstrndup(secret.ptr, secret.len);
        h->headers = json_loadb(headers.ptr, headers.len, 0, NULL);
        h->is_active = store_column_int64(st, 3) != 0;
    }
    store_done(st);
    return rc;
}

/* The hooks this runner thread read for its current batch: the batch's
 * deliveries go out together, so a batch reads each hook once (it was one
 * indexed read per delivery). The runner forgets them after the batch
 * (core_webhook_batch_end), so a change to a hook reaches the next batch. */
#define HOOK_MEMO 8
static _Thread_local struct hook_memo {
    char id[64];
    struct hook h;
} hook_memo[HOOK_MEMO];
static _Thread_local size_t hook_memo_count;

static void hook_copy(const struct hook *from, struct hook *to)
{
    to->url = xstrdup(from->url);
    to->secret = xstrdup(from->secret);
    to->headers = from->headers ? json_incref(from->headers) : NULL;
    to->is_active = from->is_active;
}

static void hook_clear(struct hook *h)
{
    xfree(h->url);
    if (h->secret)
        secure_zero(h->secret, strlen(h->secret));
    xfree(h->secret);
    json_decref(h->headers);
    h->url = h->secret = NULL;
    h->headers = NULL;
}

/* load_hook through the batch's memo (id shorter than 64 bytes). */
static enum rc load_hook_memo(struct store_conn *db, struct str id, struct hook *h)
{
    for (size_t i = 0; i < hook_memo_count; i++) {
        if (strlen(hook_memo[i].id) == id.len && memcmp(hook_memo[i].id, id.ptr, id.len) == 0) {
            hook_copy(&hook_memo[i].h, h);
            return RC_OK;
        }
    }
    enum rc rc = load_hook(db, id, h);
    if (!rc && hook_memo_count < HOOK_MEMO) {
        struct hook_memo *m = &hook_memo[hook_memo_count++];
        memcpy(m->id, id.ptr, id.len);
        m->id[id.len] = '\0';
        hook_copy(h, &m->h);
    }
    return rc;
}

void core_webhook_batch_end(void)
{
    for (size_t i = 0; i < hook_memo_count; i++)
        hook_clear(&hook_memo[i].h);
    hook_memo_count = 0;
}

static enum rc disable_hook(struct store_conn *db, void *ctx)
{
    struct store_stmt *st;
    enum rc rc =
        store_prepare(db, STR_LIT("UPDATE \"_webhooks\" SET active = 0 WHERE id = ?1"), &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, str_from_cstr(ctx));
    rc = store_step(st);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

static void hook_free(struct hook *h)
{
    hook_clear(h);
    xfree(h->owned);
    xfree(h);
}

bool core_webhook_prepare(const struct core_job_env *env, const struct core_job *job,
                          struct core_job_call *call, struct core_job_result *res)
{
    struct hook *h = xcalloc(1, sizeof(*h));
    struct str hook_id = {0}, event_id = {0}, body = {0};
    bool has_parts = job->payload_text && payload_parts(job->payload_text, job->payload_len,
                                                        &hook_id, &event_id, &body, &h->owned);
    if (!has_parts || hook_id.len >= sizeof(h->id) || event_id.len > 64 ||
        load_hook_memo(env->db, hook_id, h) != RC_OK || !h->is_active) {
        res->outcome = CORE_JOB_DEAD;
        snprintf(res->error, sizeof(res->error), "the webhook is gone or inactive");
        hook_free(h);
        return false;
    }
    memcpy(h->id, hook_id.ptr, hook_id.len);
    call->body = xstrndup(body.ptr, body.len);
    long long t = (long long)(chrono_real_ms() / 1000);
    char prefix[32];
    int plen = snprintf(prefix, sizeof(prefix), "%lld.", t);
    struct secure_hmac mac;
    secure_hmac_init(&mac, str_from_cstr(h->secret));
    secure_hmac_update(&mac, prefix, (size_t)plen);
    secure_hmac_update(&mac, call->body, body.len);
    unsigned char sum[SECURE_HMAC_SHA256_BYTES];
    secure_hmac_final(&mac, sum);
    secure_zero(&mac, sizeof(mac));
    char *sig = call->lines[0];
    size_t cap = sizeof(call->lines[0]);
    int n = snprintf(sig, cap, "X-Tarmac-Signature: t=%lld,v1=", t);
    _Static_assert(sizeof(call->lines[0]) > 64 + 2 * SECURE_HMAC_SHA256_BYTES, "room for the hex");
    str_hex_encode(sum, sizeof(sum), sig + n);
    sig[n + 2 * sizeof(sum)] = '\0';
    (void)cap;
    snprintf(call->lines[1], sizeof(call->lines[1]), "X-Tarmac-Event-Id: %.*s", (int)event_id.len,
             event_id.ptr);
    snprintf(call->lines[2], sizeof(call->lines[2]), "X-Tarmac-Attempt: %d", job->attempts);
    struct net_http_out_req *req = &call->req;
    *req = (struct net_http_out_req){.method = "POST",
                                     .url = h->url,
                                     .body = {call->body, body.len},
                                     .timeout_ms = env->http_timeout_ms,
                                     .allow_private_network = env->allow_private_network};
    req->headers[req->header_count++] = "Content-Type: application/json";
    for (int i = 0; i < 3; i++)
        req->headers[req->header_count++] = call->lines[i];
    core_job_http_headers(h->headers, req->headers, call->owned, &req->header_count,
                          NET_HTTP_OUT_MAX_HEADERS);
    call->state = h;
    return true;
}

void core_webhook_complete(const struct core_job_env *env, const struct core_job *job,
                           struct core_job_call *call, struct core_job_result *res)
{
    (void)job; /* the hook's id came with the call (prepare) */
    core_job_http_outcome(&call->resp, res);
    struct hook *h = call->state;
    if (call->resp.fail == NET_HTTP_OUT_OK && call->resp.status == 410) {
        (void)store_writer_run(env->writer, disable_hook, h->id);
        snprintf(res->error, sizeof(res->error), "HTTP 410: the webhook was disabled");
        res->outcome = CORE_JOB_DEAD;
    }
    hook_free(call->state);
    call->state = NULL;
}
