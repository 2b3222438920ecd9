/* realtime.c -- /api/realtime: the SSE stream and the subscriptions POST
 * (spec §7). core/realtime keeps the clients and fans events out; this file
 * turns a connection into a client and frames what core delivers. The
 * WebSocket variant (realtime_ws.c) shares the connection bookkeeping here. */
#include "api/metrics.h"
#include "api/realtime.h"

#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/handlers.h"
#include "base/alloc.h"
#include "base/log.h"
#include "http/sse.h"
#include "net/worker.h"

/* A reader this far behind is dropped rather than buffered for (its SDK
 * reconnects; PocketBase keeps no backlog either). */
#define MAX_BACKLOG (4u << 20)

static struct api_realtime_config config = {
    .idle_ms = 5 * 60 * 1000,
    .max_age_ms = 0,
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

bool api_rt_conn_keeps_up(struct api_rt_conn *rc)
{
    if (rc->is_closing)
        return false;
    if (http_stream_pending(rc->stream) <= MAX_BACKLOG)
        return true;
    log_warn("msg=\"realtime reader too slow, dropped\" client=%s",
             rc->client ? rc->client->id : "-");
    rc->is_closing = true;
    rc->abort(rc);
    return false;
}

void api_rt_conn_wrote(struct api_rt_conn *rc)
{
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
            (config.max_age_ms && now_ms - rc->connected_ms >= config.max_age_ms)) {
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

/* Writes bytes to an SSE stream; drops the reader when it has fallen too far behind. */
static void sse_send(struct api_rt_conn *rc, const void *p, size_t len)
{
    if (!api_rt_conn_keeps_up(rc))
        return;
    if (http_stream_write(rc->stream, p, len) != RC_OK) {
        rc->is_closing = true;
        rc->abort(rc);
        return;
    }
    api_rt_conn_wrote(rc);
}

/* One message per event (spec §7.1); the client id rides in every id: line. */
static void sse_deliver(void *ctx, struct str topic, struct str data)
{
    struct sse_conn *sc = ctx;
    struct api_rt_conn *rc = &sc->base;
    struct buf msg;
    buf_init(&msg, (size_t)1 << 30);
    enum rc r = http_sse_format(&msg, str_from_cstr(rc->client->id), topic, data);
    if (r == RC_OK) {
        sse_send(rc, msg.data, msg.len);
        rc->last_message_ms = rc->last_write_ms;
        api_metrics_realtime_sent();
    } else if (r == RC_NOMEM) {
        /* An event that cannot be sent would be missed unseen: closed, the
         * SDK reconnects and resubscribes. */
        log_warn("msg=\"realtime event not built (no memory), connection closed\" client=%s",
                 rc->client->id);
        rc->is_closing = true;
        rc->close(rc);
    } else {
        /* A subscription string with a line break would forge lines. */
        log_debug("msg=\"realtime event not framable, skipped\" client=%s", rc->client->id);
    }
    buf_cleanup(&msg);
}

static void sse_ping(struct api_rt_conn *rc)
{
    sse_send(rc, HTTP_SSE_PING, sizeof(HTTP_SSE_PING) - 1);
}

static void sse_close(struct api_rt_conn *rc)
{
    http_stream_close(rc->stream);
}

static void sse_abort(struct api_rt_conn *rc)
{
    http_stream_abort(rc->stream);
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
    if (req->method == HTTP_METHOD_HEAD) {
        http_sse_start(req); /* the head only: no stream, no client */
        return RC_OK;
    }
    struct api_worker *aw = api_worker_of(req);
    struct sse_conn *sc = xcalloc(1, sizeof(*sc));
    sc->base.ping = sse_ping;
    sc->base.close = sse_close;
    sc->base.abort = sse_abort;
    struct http_stream *s = http_req_stream(req, &sse_ops, sc);
    api_rt_conn_attach(&sc->base, aw, s);
    sc->base.client = core_realtime_connect(&aw->core, req->remote_addr, sse_deliver, sc);
    http_sse_start(req);
    /* The first event goes out with the head. */
    struct str id = str_from_cstr(sc->base.client->id);
    char data[CORE_RT_MAX_CLIENT_ID + 32];
    int n = snprintf(data, sizeof(data), "{\"clientId\":\"%s\"}", sc->base.client->id);
    return http_sse_format(http_resp_body(req), id, STR_LIT("PB_CONNECT"),
                           (struct str){data, (size_t)n});
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
    case RC_RATE_LIMITED:
        core_problem_message(&c->problem, API_RT_TOO_MANY_FROM_IP);
        return api_call_fail(c, RC_INVALID);
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
        core_realtime_subscribe(&c->aw->core, json_string_value(id), req->remote_addr, &c->auth,
                                json_object_get(c->body, "subscriptions"), &c->problem);
    return api_realtime_answer(c, rc);
}
