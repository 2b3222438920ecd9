/* call.c -- see call.h. */
#include "api/call.h"

#include <stdio.h>
#include <string.h>

#include "api/errors.h"
#include "base/alloc.h"
#include "base/chrono.h"
#include "base/jsonw.h"
#include "core/app.h"
#include "core/settings/settings.h"
#include "http/multipart.h"
#include "http/query.h"

static void release(void *ctx)
{
    struct api_call *c = ctx;
    core_cost_leave(&c->aw->core, &c->cost);
    core_auth_cleanup(&c->auth);
    core_problem_cleanup(&c->problem);
    json_decref(c->body);
    json_decref(c->query_json);
    json_decref(c->headers_json);
}

static void release_sub(void *ctx)
{
    struct api_call *c = ctx;
    core_problem_cleanup(&c->problem);
    json_decref(c->body);
    json_decref(c->query_json);
    json_decref(c->headers_json);
}

struct api_call *api_call_new_sub(struct api_call *outer, struct api_sub *sub, json_t *body)
{
    struct api_call *c = arena_alloc(outer->req->arena, sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->req = outer->req;
    c->aw = outer->aw;
    c->sub = sub;
    c->auth = outer->auth; /* borrowed: outer releases it */
    c->auth_rc = outer->auth_rc;
    core_problem_init(&c->problem);
    arena_defer(outer->req->arena, release_sub, c);
    c->core = outer->core;
    c->core.auth = &c->auth;
    c->core.is_manager = false;
    c->body = json_incref(body);
    c->core.filter_request.body = c->body;
    return c;
}

struct buf *api_call_start(struct api_call *c, int status, const char *content_type)
{
    if (c->sub) {
        c->sub->status = status;
        buf_reset(&c->sub->body);
        return &c->sub->body;
    }
    http_resp_start(c->req, status, content_type);
    return http_resp_body(c->req);
}

void api_call_defer(struct api_call *c)
{
    core_cost_leave(&c->aw->core, c->core.cost);
    if (c->sub)
        c->sub->is_deferred = true;
    else
        http_req_defer(c->req);
}

void api_call_resume(struct api_call *c)
{
    if (!c->sub) {
        http_req_resume(c->req);
        return;
    }
    c->sub->is_finished = true;
    if (c->sub->on_finished)
        c->sub->on_finished(c);
}

bool api_call_is_gone(struct api_call *c)
{
    return !c->sub && http_req_is_gone(c->req);
}

struct api_call *api_call_new(struct http_req *req)
{
    struct api_call *c = arena_alloc(req->arena, sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->req = req;
    c->aw = api_worker_of(req);
    core_problem_init(&c->problem);
    arena_defer(req->arena, release, c);
    if (!req->user)
        req->user = c; /* the request log reads its requester and problem */
    core_worker_begin_read(&c->aw->core);
    const struct core_schema *schema = core_app_schema(c->aw->core.app);
    struct str authz = http_req_header(req, "authorization");
    if (authz.ptr && authz.len)
        c->auth_rc = core_auth_load(&c->aw->core, schema, authz, chrono_real_ms() / 1000, &c->auth);
    if (c->auth.is_superuser &&
        !core_settings_superuser_ip_ok(core_app_settings(c->aw->core.app), req->remote_addr)) {
        /* superuserIPs (PocketBase's whitelist): refused, and a guest until then. */
        core_auth_cleanup(&c->auth);
        c->auth_rc = RC_FORBIDDEN;
    }
    c->core.cw = &c->aw->core;
    c->core.schema = schema;
    c->core.arena = req->arena;
    c->core.auth = &c->auth;
    c->core.filter_request.method = http_method_name(req->method);
    c->core.filter_request.context = "default";
    if (c->auth.collection) {
        c->core.filter_request.auth_collection = c->auth.collection;
        c->core.filter_request.auth = c->auth.record;
    }
    const struct core_limits *l = &c->aw->core.app->limits;
    core_cost_init(&c->cost, l, c->auth.is_superuser ? l->superuser_budget_ns : l->budget_ns);
    c->core.cost = &c->cost;
    core_cost_enter(&c->aw->core, &c->cost);
    return c;
}

void api_call_enter(struct api_call *c)
{
    core_cost_enter(&c->aw->core, c->core.cost);
}

bool api_call_reenter(struct api_call *c)
{
    api_call_enter(c);
    if (!api_call_is_gone(c))
        return true;
    api_call_resume(c);
    return false;
}

enum rc api_call_cost_rc(struct api_call *c, enum rc rc)
{
    return core_cost_check(c->core.cost) ? RC_OVER_BUDGET : rc;
}

/* @request.query: the first value of each key. */
static json_t *query_object(const struct http_query_param *params, size_t count)
{
    json_t *o = json_object();
    for (size_t i = 0; i < count; i++) {
        const struct http_query_param *qp = &params[i];
        char key[256];
        if (qp->key.len >= sizeof(key))
            continue;
        memcpy(key, qp->key.ptr, qp->key.len);
        key[qp->key.len] = '\0';
        if (!json_object_get(o, key))
            json_object_set_new(o, key, json_stringn(qp->value.ptr, qp->value.len));
    }
    return o;
}

/* @request.* of a batch sub-request: its own URL query and headers. */
static void sub_request_data(struct api_call *c)
{
    c->core.filter_request.context = "batch";
    if (!c->query_json)
        c->query_json = query_object(c->sub->query, c->sub->query_count);
    if (!c->headers_json)
        c->headers_json = c->sub->headers ? json_incref(c->sub->headers) : json_object();
    c->core.filter_request.query = c->query_json;
    c->core.filter_request.headers = c->headers_json;
    c->core.filter_request.body = c->body;
}

void api_call_request_data(struct api_call *c, const char *context)
{
    if (c->sub) {
        sub_request_data(c);
        return;
    }
    c->core.filter_request.context = context;
    if (!c->query_json) {
        const struct http_query_param *params;
        size_t count;
        /* A malformed query gives no parameters; the handlers that read
         * one answer 400 for it themselves. */
        (void)http_req_query_all(c->req, &params, &count);
        c->query_json = query_object(params, count);
    }
    if (!c->headers_json) {
        /* Keys in snake_case lower case: X-Token -> x_token (spec §3.4). */
        c->headers_json = json_object();
        for (size_t i = 0; i < c->req->header_count; i++) {
            const struct http_header *h = &c->req->headers[i];
            char key[256];
            if (h->name.len >= sizeof(key))
                continue;
            for (size_t k = 0; k < h->name.len; k++) {
                char ch = ascii_lower(h->name.ptr[k]);
                key[k] = ch == '-' ? '_' : ch;
            }
            key[h->name.len] = '\0';
            if (!json_object_get(c->headers_json, key))
                json_object_set_new(c->headers_json, key, json_stringn(h->value.ptr, h->value.len));
        }
    }
    c->core.filter_request.query = c->query_json;
    c->core.filter_request.headers = c->headers_json;
    c->core.filter_request.body = c->body;
}

enum rc api_call_fail(struct api_call *c, enum rc rc)
{
    int status = api_error_status(rc);
    const char *message = c->problem.message[0] ? c->problem.message : NULL;
    if (rc == RC_OVER_BUDGET && !message) {
        message = core_cost_message(c->core.cost);
        if (!message) /* an interrupted query we did not see coming */
            message = "The request is too expensive; simplify the filter or lower perPage.";
    }
    if (status >= 500)
        message = NULL;
    struct buf *out = api_call_start(c, status, "application/json");
    api_error_render(out, status, message, c->problem.data);
    return RC_OK; /* responded */
}

void api_call_take_problem(struct api_call *c, struct core_problem *from)
{
    core_problem_cleanup(&c->problem);
    c->problem = *from;
    core_problem_init(from);
}

/* True, the error written, when the requester could not be loaded
 * (auth_rc): the _or_fail helpers answer that rather than go on as a guest. */
static bool auth_failed(struct api_call *c)
{
    if (c->auth_rc)
        api_call_fail(c, c->auth_rc);
    return c->auth_rc != RC_OK;
}

enum rc api_call_collection_or_fail(struct api_call *c, const char *message,
                                    const struct core_collection **out)
{
    if (auth_failed(c))
        return c->auth_rc;
    struct str name = http_req_param(c->req, "collection");
    const struct core_collection *col = core_schema_find(c->core.schema, name);
    if (!col) {
        api_error_write(c->req, 404, message);
        return RC_NOT_FOUND;
    }
    *out = col;
    return RC_OK;
}

/* Form values: "" stays "", true/false become booleans, canonical decimal
 * numbers become numbers, the rest stays text (spec §1.6). */
static json_t *infer(struct str v)
{
    if (str_eq(v, STR_LIT("true")))
        return json_true();
    if (str_eq(v, STR_LIT("false")))
        return json_false();
    if (v.len && v.len < 32) {
        char tmp[32];
        memcpy(tmp, v.ptr, v.len);
        tmp[v.len] = '\0';
        json_t *n = json_loads(tmp, JSON_DECODE_ANY, NULL);
        if (json_is_number(n)) {
            char *back = json_dumps(n, JSON_ENCODE_ANY);
            bool canonical = back && strcmp(back, tmp) == 0;
            xfree(back);
            if (canonical)
                return n;
        }
        json_decref(n);
    }
    return json_stringn(v.ptr, v.len);
}

/* A form value that is not UTF-8 cannot become JSON text: a 400 naming the
 * field instead of dropping it. A part without a filename meant for a file
 * field (Flutter's MultipartFile.fromBytes without one) is PocketBase's
 * validation_invalid_file: a plain string is never a new file. */
static void refuse_binary_value(struct api_call *c, const char *key)
{
    struct str name = str_from_cstr(key);
    if (name.len &&
        (name.ptr[0] == '+' || name.ptr[name.len - 1] == '+' || name.ptr[name.len - 1] == '-'))
        name = name.ptr[0] == '+' ? (struct str){name.ptr + 1, name.len - 1}
                                  : (struct str){name.ptr, name.len - 1};
    const struct core_collection *col =
        c->core.schema ? core_schema_find(c->core.schema, http_req_param(c->req, "collection"))
                       : NULL;
    const struct core_field *f = col ? core_collection_field(col, name) : NULL;
    if (f && f->type == CORE_FIELD_FILE)
        core_problem_field(&c->problem, key, "validation_invalid_file",
                           "Invalid new file: a part without a filename is not an upload.", NULL);
    else
        core_problem_field(&c->problem, key, "validation_invalid_utf8", "Must be valid UTF-8 text.",
                           NULL);
}

/* Adds value under key; a repeated key becomes an array (spec §1.6). */
static void add_value(json_t *obj, const char *key, json_t *v)
{
    json_t *prev = json_object_get(obj, key);
    if (json_is_array(prev)) {
        json_array_append_new(prev, v);
    } else if (prev) {
        json_object_set_new(obj, key, json_pack("[O,o]", prev, v));
    } else {
        json_object_set_new(obj, key, v);
    }
}

/* multipart/form-data (spec §1.6): text parts become keys with inferred
 * types; every @jsonPayload part is a JSON object merged over them. Parts
 * with a non-empty filename are uploads, kept in c->uploads for the handler
 * (a part with filename="" is a text value, as Go's reader makes it). NULL
 * on a malformed body, or with *parse_rc RC_NOMEM when memory ran out. */
static json_t *decode_multipart(struct api_call *c, struct str content_type, enum rc *parse_rc)
{
    struct str boundary;
    if (http_multipart_boundary(content_type, &boundary) != RC_OK)
        return NULL;
    struct http_multipart_part *parts;
    size_t n;
    const char *why = NULL;
    *parse_rc = http_multipart_parse(c->req->body, boundary, c->req->arena, &parts, &n, &why);
    if (*parse_rc)
        return NULL;
    json_t *body = json_object();
    size_t files = 0;
    for (size_t i = 0; i < n; i++)
        files += parts[i].has_filename && parts[i].filename.len ? 1 : 0;
    if (files) {
        c->uploads = arena_alloc(c->req->arena, files * sizeof(*c->uploads));
        c->upload_count = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const struct http_multipart_part *p = &parts[i];
        char key[256];
        if (p->name.len == 0 || p->name.len >= sizeof(key))
            continue;
        memcpy(key, p->name.ptr, p->name.len);
        key[p->name.len] = '\0';
        if (strcmp(key, "@jsonPayload") == 0)
            continue;
        if (p->has_filename && p->filename.len) {
            c->uploads[c->upload_count++] =
                (struct core_upload){.key = p->name, .filename = p->filename, .data = p->data};
            continue;
        }
        json_t *v = infer(p->data);
        if (v)
            add_value(body, key, v);
        else
            refuse_binary_value(c, key);
    }
    for (size_t i = 0; i < n; i++) {
        const struct http_multipart_part *p = &parts[i];
        if (!str_eq(p->name, STR_LIT("@jsonPayload")))
            continue;
        json_t *payload = json_loadb(p->data.ptr, p->data.len, 0, NULL);
        if (!json_is_object(payload)) {
            json_decref(payload);
            json_decref(body);
            return NULL;
        }
        json_object_update(body, payload);
        json_decref(payload);
    }
    return body;
}

enum rc api_call_body_or_fail(struct api_call *c, const char *message)
{
    if (auth_failed(c))
        return c->auth_rc;
    struct str body = c->req->body;
    struct str type = http_req_header(c->req, "content-type");
    struct str media = type;
    if (type.ptr) {
        const char *semi = memchr(type.ptr, ';', type.len);
        if (semi)
            media.len = (size_t)(semi - type.ptr);
        media = str_trim_ows(media);
    }
    enum rc parse_rc = RC_OK;
    if (body.len == 0) {
        c->body = json_object();
    } else if (!type.ptr || str_eq_cstr_nocase(media, "application/json")) {
        json_error_t err;
        c->body = json_loadb(body.ptr, body.len, 0, &err);
        if (!json_is_object(c->body)) {
            json_decref(c->body);
            c->body = NULL;
        }
    } else if (str_eq_cstr_nocase(media, "application/x-www-form-urlencoded")) {
        struct http_query_param *params;
        size_t n;
        parse_rc = http_query_parse(body, c->req->arena, &params, &n);
        if (parse_rc == RC_OK) {
            c->body = json_object();
            for (size_t i = 0; i < n; i++) {
                char key[256];
                if (params[i].key.len >= sizeof(key))
                    continue;
                memcpy(key, params[i].key.ptr, params[i].key.len);
                key[params[i].key.len] = '\0';
                json_t *v = infer(params[i].value);
                if (v)
                    add_value(c->body, key, v);
                else
                    refuse_binary_value(c, key);
            }
        }
    } else if (str_eq_cstr_nocase(media, "multipart/form-data")) {
        c->body = decode_multipart(c, type, &parse_rc);
    } else {
        api_error_write(c->req, 400, "Unsupported Content-Type.");
        return RC_INVALID;
    }
    if (!c->body && parse_rc == RC_NOMEM) {
        /* A body we could not take apart for want of memory is no client error. */
        api_call_fail(c, RC_NOMEM);
        return RC_NOMEM;
    }
    if (!c->body) {
        api_error_write(c->req, 400, message);
        return RC_INVALID;
    }
    if (core_problem_has_fields(&c->problem)) {
        core_problem_message(&c->problem, message);
        api_call_fail(c, RC_INVALID);
        return RC_INVALID;
    }
    core_files_strip(c->body);
    c->core.filter_request.body = c->body;
    return RC_OK;
}

struct str api_call_query(struct api_call *c, const char *key)
{
    if (c->sub) {
        for (size_t i = 0; i < c->sub->query_count; i++)
            if (str_eq(c->sub->query[i].key, str_from_cstr(key)))
                return c->sub->query[i].value;
        return (struct str){"", 0};
    }
    struct str v;
    if (http_req_query(c->req, key, &v) != RC_OK)
        return (struct str){"", 0};
    return v;
}

void api_call_output_opts(struct api_call *c, struct core_output_opts *o)
{
    o->expand = api_call_query(c, "expand");
    o->fields = api_call_query(c, "fields");
}

enum rc api_call_json(struct api_call *c, int status, struct buf *body)
{
    http_resp_start(c->req, status, "application/json");
    return buf_append(http_resp_body(c->req), body->data, body->len);
}

enum rc api_call_require_auth_or_fail(struct api_call *c, bool want_superuser)
{
    if (auth_failed(c))
        return c->auth_rc;
    if (!c->auth.collection) {
        api_error_write(c->req, 401, "The request requires valid record authorization token.");
        return RC_UNAUTHORIZED;
    }
    if (want_superuser && !c->auth.is_superuser) {
        api_error_write(c->req, 403,
                        "The authorized record is not allowed to perform this action.");
        return RC_FORBIDDEN;
    }
    return RC_OK;
}

bool api_call_only_query(struct api_call *c, const char *const *names, size_t n, const char *why)
{
    const struct http_query_param *qp = NULL;
    size_t qn = 0;
    if (http_req_query_all(c->req, &qp, &qn) != RC_OK)
        return false;
    for (size_t i = 0; i < qn; i++) {
        bool is_known = false;
        for (size_t k = 0; k < n; k++)
            is_known = is_known || str_eq(qp[i].key, str_from_cstr(names[k]));
        if (!is_known) {
            char path[80];
            snprintf(path, sizeof(path), "%.*s", (int)(qp[i].key.len < 64 ? qp[i].key.len : 64),
                     qp[i].key.ptr);
            core_problem_field(&c->problem, path, "validation_unknown_parameter", why, NULL);
            core_problem_message(&c->problem, "Unknown query parameter.");
            return false;
        }
    }
    return true;
}
