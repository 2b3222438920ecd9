/* batch.c -- POST /api/batch (spec §9.1): record creates, updates, upserts
 * and deletes in one transaction.
 *
 * Each item runs through the same code as its plain route (records.c) as a
 * sub-request of this one (api_call_new_sub): the requester, rules, input
 * checks, password hashing and file uploads are the REST API's. Items are
 * prepared one after another (a preparation may wait for the offload pool);
 * a prepared item parks its write job instead of submitting it. When every
 * item is prepared, the jobs go to the writer as one batch that commits or
 * rolls back as a whole, and each item's answer is built after the commit. */
#include <string.h>

#include "api/call.h"
#include "api/ratelimit.h"
#include "api/errors.h"
#include "api/handlers.h"
#include "api/records.h"
#include "base/alloc.h"
#include "base/chrono.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "core/files/files.h"
#include "core/record/record_write.h"
#include "http/query.h"
#include "http/server.h"

#define MAX_URL 2000

struct batch_item {
    struct api_sub sub;
    struct api_call *call;
    struct batch *batch;
    size_t index;
};

struct batch {
    struct api_call *c;
    struct batch_item *items;
    size_t count;
    size_t next;          /* the item being prepared */
    bool in_loop;         /* inside run_next: callbacks only leave marks */
    bool is_deferred;     /* the outer request waits */
    bool is_done;         /* answered: later callbacks are ignored */
    uint64_t deadline_ns; /* 0: no timeout */
    struct core_write_job **jobs;
    struct core_write_batch wb;
    /* "<collectionId>/<id>" -> true when an earlier item creates that
     * record, false when one deletes it: what an upsert must see, and the
     * worker's reads cannot (the batch is not committed). */
    json_t *known;
};

static void release(void *ctx)
{
    struct batch *b = ctx;
    for (size_t i = 0; i < b->count; i++) {
        buf_cleanup(&b->items[i].sub.body);
        json_decref(b->items[i].sub.headers);
    }
    xfree(b->items);
    xfree(b->jobs);
    json_decref(b->known);
}

/* -------------------------------------------------------------------------
 * Answers
 * ------------------------------------------------------------------------- */

static void finish(struct batch *b)
{
    b->is_done = true;
    if (b->is_deferred)
        http_req_resume(b->c->req);
}

/* 400 "Batch transaction failed." with item i's answer inside. */
static void answer_failed(struct batch *b, size_t i)
{
    struct batch_item *it = &b->items[i];
    struct http_req *req = b->c->req;
    http_resp_start(req, 400, "application/json");
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "data");
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "requests");
    jsonw_object_begin(&w);
    char key[24];
    snprintf(key, sizeof(key), "%zu", i);
    jsonw_key_cstr(&w, key);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "code");
    jsonw_string_cstr(&w, "batch_request_failed");
    jsonw_key_cstr(&w, "message");
    jsonw_string_cstr(&w, "Batch request failed.");
    jsonw_key_cstr(&w, "response");
    if (it->sub.body.len) {
        jsonw_raw(&w, buf_str(&it->sub.body));
    } else {
        struct buf tmp;
        buf_init(&tmp, 4096);
        api_error_render(&tmp, it->sub.status ? it->sub.status : 400, NULL, NULL);
        jsonw_raw(&w, buf_str(&tmp));
        buf_cleanup(&tmp);
    }
    jsonw_object_end(&w);
    jsonw_object_end(&w);
    jsonw_object_end(&w);
    jsonw_key_cstr(&w, "message");
    jsonw_string_cstr(&w, "Batch transaction failed.");
    jsonw_key_cstr(&w, "status");
    jsonw_int(&w, 400);
    jsonw_object_end(&w);
    if (jsonw_finish(&w) != RC_OK)
        api_error_write(req, 500, NULL);
}

/* 200 [{status, body}, ...]; 400 when answering cost more than the batch's
 * budget (its writes are committed: the answer alone could not be made). */
static void answer_ok(struct batch *b)
{
    struct http_req *req = b->c->req;
    if (api_call_cost_rc(b->c, RC_OK)) {
        api_call_fail(b->c, RC_OVER_BUDGET);
        return;
    }
    http_resp_start(req, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    jsonw_array_begin(&w);
    for (size_t i = 0; i < b->count; i++) {
        struct api_sub *s = &b->items[i].sub;
        jsonw_object_begin(&w);
        jsonw_key_cstr(&w, "status");
        jsonw_int(&w, s->status);
        jsonw_key_cstr(&w, "body");
        if (s->body.len)
            jsonw_raw(&w, buf_str(&s->body));
        else
            jsonw_null(&w);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    if (jsonw_finish(&w) != RC_OK)
        api_error_write(req, 500, NULL);
}

/* 400 "Batch transaction failed." with no details: the timeout (spec §9.1). */
static void answer_timed_out(struct batch *b)
{
    api_error_write(b->c->req, 400, "Batch transaction failed.");
}

/* Item i failed (or, with timed_out, the time ran out before it) before
 * anything was written: the prepared items give back what they hold
 * (uploaded files), then the batch fails. */
static void fail_at(struct batch *b, size_t i, bool timed_out)
{
    b->is_done = true; /* the releases below call back: ignore them */
    for (size_t k = 0; k < i; k++) {
        struct core_write_job *job = b->items[k].sub.ready;
        if (job) {
            job->rc = RC_CONFLICT;
            job->done(job);
        }
    }
    if (timed_out)
        answer_timed_out(b);
    else
        answer_failed(b, i);
    b->is_done = false;
    finish(b);
}

static bool is_late(const struct batch *b)
{
    return b->deadline_ns && chrono_mono_ns() > b->deadline_ns;
}

/* -------------------------------------------------------------------------
 * The transaction
 * ------------------------------------------------------------------------- */

static void batch_done(struct core_write_batch *wb)
{
    struct batch *b = wb->ctx;
    api_call_enter(b->c); /* the items' answers may expand: one budget for the batch */
    b->is_done = true;
    for (size_t i = 0; i < b->count; i++)
        b->jobs[i]->done(b->jobs[i]); /* builds each item's answer */
    if (wb->is_timed_out)
        answer_timed_out(b);
    else if (wb->rc)
        answer_failed(b, wb->failed);
    else
        answer_ok(b);
    b->is_done = false;
    finish(b);
}

static void submit_all(struct batch *b)
{
    b->jobs = xcalloc(b->count, sizeof(*b->jobs));
    for (size_t i = 0; i < b->count; i++)
        b->jobs[i] = b->items[i].sub.ready;
    b->wb.jobs = b->jobs;
    b->wb.count = b->count;
    b->wb.done = batch_done;
    b->wb.ctx = b;
    b->wb.deadline_ns = b->deadline_ns;
    if (!b->is_deferred) {
        b->is_deferred = true;
        api_call_defer(b->c);
    }
    core_record_submit_batch(&b->c->aw->core, &b->wb);
}

/* -------------------------------------------------------------------------
 * Preparing the items
 * ------------------------------------------------------------------------- */

/* Splits "/api/collections/{c}/records[/{id}]" (percent-decoded, in the
 * arena). False for any other path. */
static bool parse_records_path(struct arena *a, struct str path, struct str *coll, struct str *id)
{
    static const char prefix[] = "/api/collections/";
    if (!str_has_prefix(path, STR_LIT(prefix)))
        return false;
    struct str rest = {path.ptr + sizeof(prefix) - 1, path.len - (sizeof(prefix) - 1)};
    struct str seg[3];
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= rest.len; i++) {
        if (i == rest.len || rest.ptr[i] == '/') {
            if (n == 3)
                return false;
            seg[n++] = (struct str){rest.ptr + start, i - start};
            start = i + 1;
        }
    }
    if (n < 2 || !str_eq(seg[1], STR_LIT("records")) || seg[0].len == 0)
        return false;
    if (n == 3 && seg[2].len == 0)
        return false;
    for (size_t k = 0; k < n; k += 2) {
        char *out = arena_alloc(a, seg[k].len + 1);
        long len = str_percent_decode(seg[k], out, false);
        if (len < 0)
            return false;
        seg[k] = (struct str){out, (size_t)len};
    }
    *coll = seg[0];
    *id = n == 3 ? seg[2] : (struct str){"", 0};
    return true;
}

/* The uploads of item i: parts named requests.<i>.<field> or
 * requests[<i>].<field>, renamed to <field>. */
static void item_uploads(struct api_call *outer, struct api_call *sub, size_t i)
{
    char dotted[40], bracketed[40];
    int dn = snprintf(dotted, sizeof(dotted), "requests.%zu.", i);
    int bn = snprintf(bracketed, sizeof(bracketed), "requests[%zu].", i);
    for (size_t k = 0; k < outer->upload_count; k++) {
        struct str key = outer->uploads[k].key;
        size_t skip = str_has_prefix(key, (struct str){dotted, (size_t)dn})      ? (size_t)dn
                      : str_has_prefix(key, (struct str){bracketed, (size_t)bn}) ? (size_t)bn
                                                                                 : 0;
        if (!skip)
            continue;
        if (!sub->uploads)
            sub->uploads =
                arena_alloc(outer->req->arena, outer->upload_count * sizeof(*sub->uploads));
        struct core_upload u = outer->uploads[k];
        u.key = (struct str){key.ptr + skip, key.len - skip};
        sub->uploads[sub->upload_count++] = u;
    }
}

/* Headers as rules see them; an item's Authorization is ignored (the
 * batch's requester counts). */
static json_t *item_headers(json_t *headers)
{
    json_t *out = core_request_strings(headers, true);
    json_object_del(out, "authorization");
    return out;
}

/* The key of b->known for record id of col. */
static void known_key(char out[512], const struct core_collection *col, struct str id)
{
    snprintf(out, 512, "%s/%.*s", col->id, (int)id.len, id.ptr ? id.ptr : "");
}

/* An item's url without its query. */
static struct str url_path(const char *url)
{
    const char *q = strchr(url, '?');
    return (struct str){url, q ? (size_t)(q - url) : strlen(url)};
}

/* Starts item i: routes it and runs its write up to the parked job. */
static void start_item(struct batch *b, struct batch_item *it, json_t *spec)
{
    struct api_call *c = b->c;
    struct arena *a = c->req->arena;
    const char *method = json_string_value(json_object_get(spec, "method"));
    const char *url = json_string_value(json_object_get(spec, "url"));
    json_t *body = json_object_get(spec, "body");
    it->sub.headers = item_headers(json_object_get(spec, "headers"));
    struct str path = url_path(url);
    if (url[path.len] == '?') {
        struct http_query_param *params;
        size_t n;
        if (http_query_parse(str_from_cstr(url + path.len + 1), a, &params, &n) == RC_OK) {
            it->sub.query = params;
            it->sub.query_count = n;
        }
    }
    it->call = api_call_new_sub(c, &it->sub, json_is_object(body) ? body : NULL);
    if (!it->call->body)
        it->call->body = json_object();
    it->call->core.filter_request.body = it->call->body;
    struct api_call *sc = it->call;
    core_files_strip(sc->body); /* a client may not name uploads itself */
    item_uploads(c, sc, it->index);

    struct str coll, id;
    bool is_records = parse_records_path(a, path, &coll, &id);
    enum core_write_kind kind;
    bool is_upsert = false;
    if (is_records && strcmp(method, "POST") == 0 && !id.len) {
        kind = CORE_WRITE_CREATE;
    } else if (is_records && strcmp(method, "PUT") == 0 && !id.len) {
        is_upsert = true;
        kind = CORE_WRITE_CREATE;
    } else if (is_records && strcmp(method, "PATCH") == 0 && id.len) {
        kind = CORE_WRITE_UPDATE;
    } else if (is_records && strcmp(method, "DELETE") == 0 && id.len) {
        kind = CORE_WRITE_DELETE;
    } else {
        /* Only record writes may be batched: the whole batch fails. */
        api_call_fail(sc, RC_INVALID);
        return;
    }
    const struct core_collection *col = core_schema_find(sc->core.schema, coll);
    if (!col) {
        core_problem_message(&sc->problem, "Missing or invalid collection context.");
        api_call_fail(sc, RC_NOT_FOUND);
        return;
    }
    /* The record a create (body.id) or a delete (the URL's id) names. */
    const char *given = json_string_value(json_object_get(sc->body, "id"));
    char key[512];
    known_key(key, col, kind == CORE_WRITE_DELETE ? id : str_from_cstr(given ? given : ""));
    if (is_upsert) {
        /* spec §9.1: PUT updates when body.id names a record, else creates;
         * a record an earlier item creates or deletes counts as the batch
         * left it. */
        json_t *seen = json_object_get(b->known, key);
        bool exists = false;
        if (given && given[0] && seen)
            exists = json_is_true(seen);
        else if (given && given[0])
            exists = core_record_find(c->aw->core.db, col, str_from_cstr(given)) == RC_OK;
        if (exists) {
            kind = CORE_WRITE_UPDATE;
            size_t n = strlen(given);
            char *copy = arena_alloc(a, n + 1);
            memcpy(copy, given, n + 1);
            id = (struct str){copy, n};
            json_object_del(sc->body, "id"); /* frees given */
        }
    }
    if (kind == CORE_WRITE_CREATE && given && given[0])
        json_object_set_new(b->known, key, json_true());
    else if (kind == CORE_WRITE_DELETE)
        json_object_set_new(b->known, key, json_false());
    (void)api_records_write(sc, col, kind, id);
}

static void run_next(struct batch *b);

static void on_ready(struct api_call *c)
{
    struct batch_item *it = c->sub->ctx;
    struct batch *b = it->batch;
    if (b->in_loop || b->is_done)
        return; /* run_next sees it */
    b->next++;
    run_next(b);
}

static void on_finished(struct api_call *c)
{
    struct batch_item *it = c->sub->ctx;
    struct batch *b = it->batch;
    if (b->in_loop || b->is_done)
        return;
    fail_at(b, it->index, false); /* answered after waiting: it failed */
}

static void run_next(struct batch *b)
{
    json_t *requests = json_object_get(b->c->body, "requests");
    b->in_loop = true;
    while (b->next < b->count) {
        if (is_late(b)) {
            b->in_loop = false;
            fail_at(b, b->next, true);
            return;
        }
        struct batch_item *it = &b->items[b->next];
        start_item(b, it, json_array_get(requests, b->next));
        if (it->sub.ready) {
            b->next++;
            continue;
        }
        if (it->sub.is_deferred && !it->sub.is_finished) {
            b->in_loop = false; /* on_ready or on_finished continues */
            if (!b->is_deferred) {
                b->is_deferred = true;
                api_call_defer(b->c);
            }
            return;
        }
        b->in_loop = false;
        fail_at(b, b->next, false);
        return;
    }
    b->in_loop = false;
    submit_all(b);
}

/* -------------------------------------------------------------------------
 * The handler
 * ------------------------------------------------------------------------- */

/* Checks the request list (spec §9.1); field errors into c->problem. */
static bool validate(struct api_call *c, json_t *requests, uint64_t max_requests)
{
    struct core_problem *p = &c->problem;
    if (!json_is_array(requests) || json_array_size(requests) == 0) {
        core_problem_field(p, "requests", "validation_required", "Cannot be blank.", NULL);
        return false;
    }
    if (json_array_size(requests) > max_requests) {
        char msg[96];
        snprintf(msg, sizeof(msg), "The length must be no more than %llu.",
                 (unsigned long long)max_requests);
        core_problem_field(p, "requests", "validation_length_too_long", msg, NULL);
        return false;
    }
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    size_t i;
    json_t *r;
    json_array_foreach(requests, i, r)
    {
        char path[64];
        if (!json_is_object(r)) {
            snprintf(path, sizeof(path), "requests.%zu", i);
            core_problem_field(p, path, "validation_invalid_value", "Must be an object.", NULL);
            continue;
        }
        const char *m = json_string_value(json_object_get(r, "method"));
        bool ok = false;
        for (size_t k = 0; m && k < 5 && !ok; k++)
            ok = strcmp(m, methods[k]) == 0;
        snprintf(path, sizeof(path), "requests.%zu.method", i);
        if (!m || !m[0])
            core_problem_field(p, path, "validation_required", "Cannot be blank.", NULL);
        else if (!ok)
            core_problem_field(p, path, "validation_in_invalid", "Must be a valid value.", NULL);
        json_t *url = json_object_get(r, "url");
        snprintf(path, sizeof(path), "requests.%zu.url", i);
        if (!json_is_string(url) || json_string_length(url) == 0)
            core_problem_field(p, path, "validation_required", "Cannot be blank.", NULL);
        else if (json_string_length(url) > MAX_URL)
            core_problem_field(p, path, "validation_length_too_long",
                               "The length must be no more than 2000.", NULL);
        json_t *h = json_object_get(r, "headers");
        snprintf(path, sizeof(path), "requests.%zu.headers", i);
        if (h && !json_is_object(h) && !json_is_null(h))
            core_problem_field(p, path, "validation_invalid_value", "Must be an object.", NULL);
        json_t *body = json_object_get(r, "body");
        snprintf(path, sizeof(path), "requests.%zu.body", i);
        if (body && !json_is_object(body) && !json_is_null(body))
            core_problem_field(p, path, "validation_invalid_value", "Must be an object.", NULL);
    }
    return !core_problem_has_fields(p);
}

enum rc api_batch(struct http_req *req, void *ctx)
{
    const struct api_limits *limits = ctx;
    struct api_call *c = api_call_new(req);
    /* The limits of now (the settings API changes them at run time). */
    const struct core_settings *settings = core_app_settings(c->aw->core.app);
    if (!settings->batch.is_enabled) {
        api_error_write(req, 403, "Batch requests are not allowed.");
        return RC_OK;
    }
    if (settings->batch.max_body_size && req->body.len > settings->batch.max_body_size) {
        api_error_write(req, 413, NULL);
        return RC_OK;
    }
    if (api_call_body_or_fail(c, "Failed to read the submitted batch data."))
        return RC_OK;
    json_t *requests = json_object_get(c->body, "requests");
    if (!validate(c, requests, settings->batch.max_requests)) {
        core_problem_message(&c->problem, "Invalid batch request data.");
        return api_call_fail(c, RC_INVALID);
    }
    /* Each item counts against the path rules as the request it stands for
     * would: a batch is no way around a limit. Over one, nothing runs. */
    for (size_t i = 0; i < json_array_size(requests); i++) {
        json_t *r = json_array_get(requests, i);
        struct str path = url_path(json_string_value(json_object_get(r, "url")));
        if (!api_ratelimit_admit_sub(req, limits, json_string_value(json_object_get(r, "method")),
                                     path))
            return RC_OK; /* 429 written */
    }
    struct batch *b = arena_alloc(req->arena, sizeof(*b));
    memset(b, 0, sizeof(*b));
    b->c = c;
    b->count = json_array_size(requests);
    if (settings->batch.timeout_ms)
        b->deadline_ns = chrono_mono_ns() + settings->batch.timeout_ms * 1000000u;
    b->items = xcalloc(b->count, sizeof(*b->items));
    b->known = json_object();
    for (size_t i = 0; i < b->count; i++) {
        struct batch_item *it = &b->items[i];
        it->batch = b;
        it->index = i;
        buf_init(&it->sub.body, (size_t)1 << 30);
        it->sub.on_ready = on_ready;
        it->sub.on_finished = on_finished;
        it->sub.ctx = it;
    }
    arena_defer(req->arena, release, b);
    run_next(b);
    return RC_OK;
}
