/* realtime.c -- /api/realtime: the SSE stream and the subscriptions POST
 * (spec §7). core/realtime keeps the clients and fans events out; this file
 * turns a connection into a client and frames what core delivers. The
 * WebSocket variant (realtime_ws.c) shares the connection bookkeeping here. */
#include "api/realtime.h"

#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/handlers.h"
#include "base/alloc.h"
#include "base/log.h"
#include "net/worker.h"

/* A reader this far behind is dropped rather than buffered for (its SDK
 * reconnects; PocketBase keeps no backlog either). */
#define MAX_BACKLOG (4u << 20)

static struct api_realtime_config config = {
    .idle_ms = 5 * 60 * 1000,
    .max_age_ms = 30 * 60 * 1000,
    .ping_ms = 25 * 1000,
};

void api_realtime_configure(const struct api_realtime_config *c)
{
    config = *c;
}

const struct api_realtime_config *api_realtime_config(void)
{
    return &config;
}

/* -------------------------------------------------------------------------
 * Connections (SSE and WebSocket)
 * ------------------------------------------------------------------------- */

void api_rt_conn_attach(struct api_rt_conn *rc, struct api_worker *aw, struct http_stream *s)
{
    rc->aw = aw;
    rc->stream = s;
    rc->connected_ms = uv_now(&http_stream_worker(s)->loop);
    rc->last_message_ms = rc->connected_ms;
    rc->last_write_ms = rc->connected_ms;
    list_push_back(&aw->rt_conns, &rc->link);
}

void api_rt_conn_detach(struct api_rt_conn *rc)
{
    if (rc->client)
        core_realtime_disconnect(rc->client);
    rc->client = NULL;
    list_remove(&rc->link);
}

/* Writes bytes; drops the reader when it has fallen too far behind. */
void api_rt_conn_send(struct api_rt_conn *rc, const void *p, size_t len)
{
    if (rc->is_closing)
        return;
    if (http_stream_pending(rc->stream) > MAX_BACKLOG) {
        log_warn("msg=\"realtime reader too slow, dropped\" client=%s",
                 rc->client ? rc->client->id : "-");
        rc->is_closing = true;
        http_stream_abort(rc->stream);
        return;
    }
    if (http_stream_write(rc->stream, p, len) != RC_OK) {
        rc->is_closing = true;
        http_stream_abort(rc->stream);
        return;
    }
    rc->last_write_ms = uv_now(&http_stream_worker(rc->stream)->loop);
}

void api_realtime_tick(struct api_worker *aw, uint64_t now_ms)
{
    if (now_ms - aw->rt_last_sweep_ms < 1000 && aw->rt_last_sweep_ms)
        return;
    aw->rt_last_sweep_ms = now_ms;
    for (struct list_node *n = aw->rt_conns.next; n != &aw->rt_conns;) {
        struct api_rt_conn *rc = list_entry(n, struct api_rt_conn, link);
        n = n->next; /* closing below never frees rc before on_close */
        if (rc->is_closing)
            continue;
        if (now_ms - rc->last_message_ms >= config.idle_ms ||
            now_ms - rc->connected_ms >= config.max_age_ms) {
            /* spec §7.1: SDKs reconnect and resubscribe. */
            rc->is_closing = true;
            rc->close(rc);
        } else if (now_ms - rc->last_write_ms >= config.ping_ms) {
            rc->ping(rc);
        }
    }
}

/* -------------------------------------------------------------------------
 * Server-sent events
 * ------------------------------------------------------------------------- */

struct sse_conn {
    struct api_rt_conn base;
};

/* id:<client>\nevent:<topic>\ndata:<one line>\n\n (spec §7.1). */
static void sse_deliver(void *ctx, struct str topic, struct str data)
{
    struct sse_conn *sc = ctx;
    struct api_rt_conn *rc = &sc->base;
    struct buf msg;
    buf_init(&msg, (size_t)1 << 30);
    enum rc r = buf_append_cstr(&msg, "id:");
    if (!r)
        r = buf_append_cstr(&msg, rc->client->id);
    if (!r)
        r = buf_append_cstr(&msg, "\nevent:");
    if (!r)
        r = buf_append_str(&msg, topic);
    if (!r)
        r = buf_append_cstr(&msg, "\ndata:");
    if (!r)
        r = buf_append_str(&msg, data);
    if (!r)
        r = buf_append_cstr(&msg, "\n\n");
    if (!r) {
        api_rt_conn_send(rc, msg.data, msg.len);
        rc->last_message_ms = rc->last_write_ms;
    }
    buf_cleanup(&msg);
}

static void sse_ping(struct api_rt_conn *rc)
{
    /* A comment line: EventSource parsers skip it; it keeps proxies from
     * timing the stream out and finds dead peers. */
    api_rt_conn_send(rc, ":ping\n\n", 7);
}

static void sse_close(struct api_rt_conn *rc)
{
    http_stream_close(rc->stream);
}

static void sse_on_close(void *ctx)
{
    struct sse_conn *sc = ctx;
    api_rt_conn_detach(&sc->base);
    xfree(sc);
}

static const struct http_stream_ops sse_ops = {
    .on_data = NULL,
    .on_close = sse_on_close,
};

enum rc api_realtime_connect(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_worker *aw = api_worker_of(req);
    struct sse_conn *sc = xcalloc(1, sizeof(*sc));
    sc->base.ping = sse_ping;
    sc->base.close = sse_close;
    struct http_stream *s = http_req_stream(req, &sse_ops, sc);
    api_rt_conn_attach(&sc->base, aw, s);
    sc->base.client = core_realtime_connect(&aw->core, req->remote_addr, sse_deliver, sc);
    http_resp_start(req, 200, "text/event-stream");
    http_resp_add_header(req, "Cache-Control", STR_LIT("no-store"));
    http_resp_add_header(req, "X-Accel-Buffering", STR_LIT("no"));
    /* The first event goes out with the head. */
    const char *id = sc->base.client->id;
    struct buf *b = http_resp_body(req);
    enum rc rc = buf_append_cstr(b, "id:");
    if (!rc)
        rc = buf_append_cstr(b, id);
    if (!rc)
        rc = buf_append_cstr(b, "\nevent:PB_CONNECT\ndata:{\"clientId\":\"");
    if (!rc)
        rc = buf_append_cstr(b, id);
    if (!rc)
        rc = buf_append_cstr(b, "\"}\n\n");
    return rc;
}

/* -------------------------------------------------------------------------
 * POST /api/realtime
 * ------------------------------------------------------------------------- */

/* Maps a subscribe outcome to the contract's answers (spec §7.2). */
enum rc api_realtime_answer(struct api_call *c, enum rc rc)
{
    switch (rc) {
    case RC_OK: http_resp_start(c->req, 204, NULL); return RC_OK;
    case RC_INVALID: return api_call_fail(c, RC_INVALID);
    case RC_NOT_FOUND:
        core_problem_message(&c->problem, "Missing or invalid client id.");
        return api_call_fail(c, RC_NOT_FOUND);
    case RC_CONFLICT:
        core_problem_message(&c->problem, "Invalid realtime client.");
        return api_call_fail(c, RC_INVALID);
    case RC_FORBIDDEN:
        core_problem_message(&c->problem,
                             "The current and the previous request authorization don't match.");
        return api_call_fail(c, RC_FORBIDDEN);
    default: return api_call_fail(c, rc);
    }
}

enum rc api_realtime_subscribe(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_body_or_fail(c, "Something went wrong while processing your request."))
        return RC_OK;
    json_t *id = json_object_get(c->body, "clientId");
    if (!json_is_string(id) || json_string_length(id) == 0) {
        core_problem_field(&c->problem, "clientId", "validation_required", "Cannot be blank.",
                           NULL);
    } else if (json_string_length(id) > CORE_RT_MAX_CLIENT_ID) {
        core_problem_field(&c->problem, "clientId", "validation_length_too_long",
                           "The length must be no more than 255.", NULL);
    }
    if (core_problem_has_fields(&c->problem))
        return api_call_fail(c, RC_INVALID);
    enum rc rc =
        core_realtime_subscribe(c->aw->core.app, json_string_value(id), req->remote_addr, &c->auth,
                                json_object_get(c->body, "subscriptions"), &c->problem);
    return api_realtime_answer(c, rc);
}
