/* hooks.c -- the custom routes of scripts (tarmac.route, docs/hooks.md).
 *
 * The server asks api_hooks_fallback for a request no built-in route takes.
 * Each worker matches it against a router of its scripts' routes, rebuilt
 * when the scripts were reloaded; the script gets the request as a table
 * and its answer (status, body, headers) goes back as the response. A script
 * that waits (a records write) leaves the request deferred until it ends. */
#include <stdint.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/handlers.h"
#include "base/alloc.h"
#include "base/log.h"
#include "core/hooks/hooks.h"
#include "http/router.h"

static void answer(struct api_call *c, struct core_hooks_reply *reply);

/* The script's answer: at once, or after it waited (the request is deferred
 * either way; a resume before the handler returned is allowed). */
static void route_done(void *ctx, struct core_hooks_reply *reply)
{
    struct api_call *c = ctx;
    api_call_enter(c);
    if (!api_call_is_gone(c))
        answer(c, reply);
    api_call_resume(c);
}

static void answer(struct api_call *c, struct core_hooks_reply *reply)
{
    if (reply->is_error) {
        struct buf *out = api_call_start(c, reply->status, "application/json");
        api_error_render(out, reply->status,
                         reply->problem.message[0] ? reply->problem.message : NULL,
                         reply->problem.data);
        return;
    }
    bool has_type = false;
    const char *name;
    json_t *v;
    json_object_foreach(reply->headers, name, v)
    {
        if (!strcasecmp(name, "Content-Type"))
            has_type = true;
    }
    const char *type = has_type         ? NULL
                       : reply->is_json ? "application/json"
                       : reply->text    ? "text/plain; charset=utf-8"
                                        : NULL;
    struct buf *out = api_call_start(c, reply->status, type);
    /* The response keeps pointers: the names and values go to the request's
     * arena (the reply is freed when this returns). */
    json_object_foreach(reply->headers, name, v)
    {
        struct str n = arena_strdup(c->req->arena, str_from_cstr(name));
        struct str val =
            arena_strdup(c->req->arena, (struct str){json_string_value(v), json_string_length(v)});
        http_resp_add_header(c->req, n.ptr, val);
    }
    enum rc rc = RC_OK;
    if (reply->text)
        rc = buf_append(out, reply->text, reply->text_len);
    if (rc)
        api_call_fail(c, rc);
}

/* The @request data of rules, for the script's first records call. */
static void prepare(void *ctx)
{
    api_call_request_data(ctx, "default");
}

/* A script route matched: route index i of the worker's router's scripts. */
static enum rc script_route(struct http_req *req, void *ctx)
{
    size_t i = (size_t)(uintptr_t)ctx;
    /* Taken before anything waits: on PostgreSQL the sign-in's read below
     * yields, and a reload by another request meanwhile frees the router
     * the parameter names point into and moves the generation on. */
    uint64_t generation = api_worker_of(req)->hooks_generation;
    struct core_hooks_pair *params =
        arena_alloc(req->arena, (req->param_count + 1) * sizeof(*params));
    for (size_t k = 0; k < req->param_count; k++)
        params[k] = (struct core_hooks_pair){arena_strdup(req->arena, req->params[k].name),
                                             req->params[k].value};
    struct api_call *c = api_call_new(req);
    if (c->auth_rc)
        return api_call_fail(c, c->auth_rc);
    if (req->body.len &&
        api_call_body_or_fail(c, "Failed to load the submitted data due to invalid formatting."))
        return RC_OK;
    /* The script sees the request's parts as they came; rules of its
     * records calls get them as @request data only when it makes one. */
    const struct http_query_param *qp = NULL;
    size_t qn = 0;
    if (http_req_query_all(req, &qp, &qn) != RC_OK)
        qn = 0;
    struct core_hooks_pair *query = arena_alloc(req->arena, (qn + 1) * sizeof(*query));
    for (size_t k = 0; k < qn; k++)
        query[k] = (struct core_hooks_pair){qp[k].key, qp[k].value};
    struct core_hooks_pair *headers =
        arena_alloc(req->arena, (req->header_count + 1) * sizeof(*headers));
    for (size_t k = 0; k < req->header_count; k++)
        headers[k] = (struct core_hooks_pair){req->headers[k].name, req->headers[k].value};
    struct core_hooks_request in = {
        .method = http_method_name(req->method),
        .path = req->path,
        .params = params,
        .param_count = req->param_count,
        .query = query,
        .query_count = qn,
        .headers = headers,
        .header_count = req->header_count,
        .body = c->body,
        .r = &c->core,
        .prepare = prepare,
        .prepare_ctx = c,
    };
    api_call_defer(c);
    if (core_hooks_route_call(i, generation, &in, route_done, c)) {
        /* the scripts were reloaded between the match and the call */
        api_call_fail(c, RC_BUSY);
        api_call_resume(c);
    }
    return RC_OK;
}

/* The worker's router of its scripts' current routes. */
static struct http_router *scripts_router(struct api_worker *aw)
{
    uint64_t generation;
    size_t n = core_hooks_routes(&generation);
    if (aw->hooks_router && aw->hooks_generation == generation)
        return aw->hooks_router;
    http_router_free(aw->hooks_router);
    aw->hooks_router = NULL;
    aw->hooks_generation = generation;
    if (!n)
        return NULL;
    aw->hooks_router = http_router_new();
    for (size_t i = 0; i < n; i++) {
        const char *method, *pattern;
        core_hooks_route(i, &method, &pattern);
        enum http_method m;
        if (http_method_of_name(method, &m))
            http_router_add(aw->hooks_router, m, pattern, script_route, (void *)(uintptr_t)i);
    }
    return aw->hooks_router;
}

enum rc api_hooks_fallback(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_worker *aw = api_worker_of(req);
    enum rc rc;
    return http_router_serve(scripts_router(aw), req, &rc) ? rc : RC_NOT_FOUND;
}

void api_hooks_worker_cleanup(struct api_worker *aw)
{
    http_router_free(aw->hooks_router);
    aw->hooks_router = NULL;
}
