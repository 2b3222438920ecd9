/* ext.c -- the custom routes of C extensions (include/tarmac.h,
 * docs/extensions.md): the server's fallback matches them before the
 * scripts' routes, and struct tarmac_request is what their handlers get.
 *
 * The routes are fixed once the extensions started, so one router, built
 * before the workers start and read-only afterwards, serves every worker.
 * A matched request is deferred before its handler runs (as a script route
 * is, api/hooks.c): the handler answers now or later, from a write's
 * callback, with tarmac_respond*. The request and its arena stay until the
 * answer is sent, and the answer waits for the writes the handler started
 * (their saves live in that arena). */
#include <stdint.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/handlers.h"
#include "base/alloc.h"
#include "base/log.h"
#include "core/ext/ext.h"
#include "http/router.h"

#define MAX_HEADERS 16

struct tarmac_request {
    struct api_call *c;
    struct core_ext_scope scope;
    struct core_request su; /* the requester as a superuser */
    struct tarmac_ctx ctx, su_ctx;
    const char *method, *path, *body;
    /* the answer, sent when the scope is idle */
    bool is_answered;
    int status;
    bool is_error;
    struct str text;    /* the body, or the error's message (arena; ptr NULL: none) */
    json_t *error_data; /* an error's field errors (owned until sent) */
    struct str header_names[MAX_HEADERS], header_values[MAX_HEADERS];
    size_t header_count;
};

static struct http_router *router; /* NULL: no extension routes */
static const struct core_auth superuser = {.is_superuser = true};

static void send_answer(void *owner)
{
    struct tarmac_request *tr = owner;
    struct api_call *c = tr->c;
    api_call_enter(c);
    if (!api_call_is_gone(c)) {
        if (tr->is_error) {
            struct buf *out = api_call_start(c, tr->status, "application/json");
            api_error_render(out, tr->status, tr->text.ptr, tr->error_data);
        } else {
            struct buf *out =
                api_call_start(c, tr->status, tr->text.ptr ? "application/json" : NULL);
            for (size_t i = 0; i < tr->header_count; i++)
                http_resp_add_header(c->req, tr->header_names[i].ptr, tr->header_values[i]);
            if (tr->text.ptr && buf_append(out, tr->text.ptr, tr->text.len))
                api_call_fail(c, RC_TOO_LARGE);
        }
    }
    json_decref(tr->error_data);
    tr->error_data = NULL;
    api_call_resume(c); /* may free the arena tr lives in */
}

/* A route of an extension matched (ctx: its index). */
static enum rc ext_route(struct http_req *req, void *ctx)
{
    struct api_call *c = api_call_new(req);
    if (c->auth_rc)
        return api_call_fail(c, c->auth_rc);
    if (req->body.len &&
        api_call_body_or_fail(c, "Failed to load the submitted data due to invalid formatting."))
        return RC_OK;
    api_call_request_data(c, "default"); /* the rules of its records calls read it */
    struct tarmac_request *tr = arena_alloc(req->arena, sizeof(*tr));
    memset(tr, 0, sizeof(*tr));
    tr->c = c;
    core_ext_scope_init(&tr->scope, send_answer, tr);
    tr->su = c->core;
    tr->su.auth = &superuser;
    tr->ctx = (struct tarmac_ctx){.scope = &tr->scope, .r = &c->core};
    tr->su_ctx = (struct tarmac_ctx){.scope = &tr->scope, .r = &tr->su};
    tr->method = http_method_name(req->method);
    tr->path = arena_strdup(req->arena, req->path).ptr;
    api_call_defer(c);
    core_ext_route_call((size_t)(uintptr_t)ctx, tr);
    return RC_OK;
}

void api_ext_start(void)
{
    size_t n = core_ext_routes();
    if (!n || router)
        return;
    router = http_router_new();
    for (size_t i = 0; i < n; i++) {
        const char *method, *pattern;
        enum http_method m;
        core_ext_route(i, &method, &pattern);
        if (http_method_of_name(method, &m))
            http_router_add(router, m, pattern, ext_route, (void *)(uintptr_t)i);
    }
}

void api_ext_stop(void)
{
    http_router_free(router);
    router = NULL;
}

enum rc api_ext_fallback(struct http_req *req, void *ctx)
{
    enum rc rc;
    return http_router_serve(router, req, &rc) ? rc : api_hooks_fallback(req, ctx);
}

/* -------------------------------------------------------------------------
 * The request handle (include/tarmac.h)
 * ------------------------------------------------------------------------- */

const char *tarmac_request_method(const struct tarmac_request *req)
{
    return req->method;
}

const char *tarmac_request_path(const struct tarmac_request *req)
{
    return req->path;
}

/* s as a C string in the request's arena; NULL for an absent value. */
static const char *cstr(struct tarmac_request *req, struct str s)
{
    return s.ptr ? arena_strdup(req->c->req->arena, s).ptr : NULL;
}

const char *tarmac_request_param(struct tarmac_request *req, const char *name)
{
    return name ? cstr(req, http_req_param(req->c->req, name)) : NULL;
}

const char *tarmac_request_query(struct tarmac_request *req, const char *name)
{
    struct str v;
    if (!name || http_req_query(req->c->req, name, &v) != RC_OK)
        return NULL;
    return cstr(req, v);
}

const char *tarmac_request_header(struct tarmac_request *req, const char *name)
{
    return name ? cstr(req, http_req_header(req->c->req, name)) : NULL;
}

const char *tarmac_request_body(struct tarmac_request *req)
{
    if (!req->body && req->c->body && json_object_size(req->c->body)) {
        char *text = json_dumps(req->c->body, JSON_COMPACT);
        if (text) {
            req->body = cstr(req, str_from_cstr(text));
            xfree(text);
        }
    }
    return req->body;
}

const char *tarmac_request_auth_id(const struct tarmac_request *req)
{
    return req->c->auth.id;
}

const char *tarmac_request_auth_collection(const struct tarmac_request *req)
{
    return req->c->auth.collection ? req->c->auth.collection->name : NULL;
}

bool tarmac_request_is_superuser(const struct tarmac_request *req)
{
    return req->c->auth.is_superuser;
}

struct tarmac_ctx *tarmac_request_ctx(struct tarmac_request *req, bool as_superuser)
{
    return as_superuser ? &req->su_ctx : &req->ctx;
}

static bool is_header_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!(*s == '-' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static bool is_header_value(const char *s)
{
    if (strlen(s) > 4096)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

int tarmac_response_header(struct tarmac_request *req, const char *name, const char *value)
{
    if (req->is_answered || !name || !value || !is_header_name(name) || !is_header_value(value) ||
        req->header_count == MAX_HEADERS)
        return TARMAC_INVALID;
    struct arena *a = req->c->req->arena;
    req->header_names[req->header_count] = arena_strdup(a, str_from_cstr(name));
    req->header_values[req->header_count] = arena_strdup(a, str_from_cstr(value));
    req->header_count++;
    return TARMAC_OK;
}

/* The answer is set: sent now, or when the route's writes answered. */
static void answered(struct tarmac_request *req)
{
    req->is_answered = true;
    core_ext_scope_close(&req->scope);
}

void tarmac_respond(struct tarmac_request *req, int status, const char *json)
{
    if (req->is_answered) {
        log_error("msg=\"an extension's route answered twice: the second answer is dropped\" "
                  "path=%s",
                  req->path);
        return;
    }
    json_t *check = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
    bool has_body = json && status != 204 && status != 304;
    if (status < 200 || status > 599 || (json && !check) || (json && !has_body)) {
        log_error("msg=\"an extension's route answered wrongly: 500\" path=%s status=%d "
                  "error=\"%s\"",
                  req->path, status,
                  status < 200 || status > 599 ? "a status is 200..599"
                  : json && !check             ? "the body is not JSON"
                                               : "a 204 or 304 answer has no body");
        req->is_error = true;
        req->status = 500;
    } else {
        req->status = status;
        if (has_body)
            req->text = arena_strdup(req->c->req->arena, str_from_cstr(json));
    }
    json_decref(check);
    answered(req);
}

void tarmac_respond_error(struct tarmac_request *req, int code, const char *message,
                          const char *errors_json)
{
    if (req->is_answered) {
        log_error("msg=\"an extension's route answered twice: the second answer is dropped\" "
                  "path=%s",
                  req->path);
        return;
    }
    req->is_error = true;
    req->status = code >= 400 && code <= 599 ? code : 500;
    if (message)
        req->text = arena_strdup(req->c->req->arena, str_from_cstr(message));
    json_t *data = errors_json ? json_loads(errors_json, 0, NULL) : NULL;
    if (json_is_object(data))
        req->error_data = data;
    else
        json_decref(data);
    answered(req);
}
