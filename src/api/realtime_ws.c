/* realtime_ws.c -- GET /api/realtime/ws: realtime over a WebSocket (beyond the
 * PocketBase contract; docs/realtime.md describes the protocol).
 *
 * http/ws does the handshake and the framing; this file is the protocol on
 * top. Messages are JSON text frames:
 *   server -> client  {"event":"PB_CONNECT","clientId":"..."}
 *                     {"event":"<subscription>","clientId":"...","data":{action,record}}
 *                     {"event":"PB_SUBSCRIBE","status":204}   (or status 4xx, message, data)
 *   client -> server  {"subscriptions":[...], "authorization":"<token>"}
 * A subscribe message follows the rules of POST /api/realtime (spec §7.2):
 * the list replaces the previous one, the first authenticated message sets
 * the identity, another identity later is refused with 403. Clients may also
 * subscribe through POST /api/realtime with the clientId. */
#include <stdio.h>
#include <string.h>

#include "api/metrics.h"
#include "api/errors.h"
#include "api/handlers.h"
#include "api/realtime.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "base/jsonw.h"
#include "http/ws.h"
#include "net/worker.h"

#define MAX_MESSAGE (256u * 1024u) /* a 1000-topic subscribe list fits */
#define WS_CLOSE_GOING_AWAY 1001   /* RFC 6455 §7.4.1: the client reconnects */
#define WS_CLOSE_SERVER_ERROR 1011 /* RFC 6455 §7.4.1: an unexpected condition */

struct ws_conn {
    struct api_rt_conn base;
    struct http_ws *ws;
};

static void send_text(struct ws_conn *wc, const char *p, size_t len)
{
    http_ws_send_text(wc->ws, p, len);
    api_rt_conn_wrote(&wc->base);
}

/* Sends the message w built into b. One that could not be built (no memory)
 * closes the connection with 1011: a client waiting for an answer, or missing
 * an event, would not know; closed, its SDK reconnects and resubscribes. */
static bool send_built(struct ws_conn *wc, struct jsonw *w, struct buf *b)
{
    if (jsonw_finish(w) == RC_OK) {
        send_text(wc, b->data, b->len);
        return true;
    }
    wc->base.is_closing = true;
    http_ws_close(wc->ws, WS_CLOSE_SERVER_ERROR);
    return false;
}

static void reply_status(struct ws_conn *wc, int status, const char *message, json_t *data)
{
    struct buf b;
    buf_init(&b, 1u << 20);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "event");
    jsonw_string_cstr(&w, "PB_SUBSCRIBE");
    jsonw_key_cstr(&w, "status");
    jsonw_int(&w, status);
    if (message) {
        jsonw_key_cstr(&w, "message");
        jsonw_string_cstr(&w, message);
        char *d = data ? json_dumps(data, JSON_COMPACT) : NULL;
        jsonw_key_cstr(&w, "data");
        jsonw_raw(&w, str_from_cstr(d ? d : "{}"));
        xfree(d);
    }
    jsonw_object_end(&w);
    (void)send_built(wc, &w, &b);
    buf_cleanup(&b);
}

/* A subscribe message: the same checks and answers as POST /api/realtime. */
static void on_subscribe(struct ws_conn *wc, json_t *msg)
{
    struct api_worker *aw = wc->base.aw;
    const struct core_schema *schema = core_app_schema(aw->core.app);
    struct core_auth auth = {0};
    const char *token = json_string_value(json_object_get(msg, "authorization"));
    core_worker_begin_read(&aw->core);
    enum rc rc = RC_OK;
    if (token && token[0])
        rc =
            core_auth_load(&aw->core, schema, str_from_cstr(token), chrono_real_ms() / 1000, &auth);
    struct core_problem p;
    core_problem_init(&p);
    if (!rc)
        rc = core_realtime_subscribe_client(&aw->core, wc->base.client, &auth,
                                            json_object_get(msg, "subscriptions"), &p);
    switch (rc) {
    case RC_OK: reply_status(wc, 204, NULL, NULL); break;
    case RC_FORBIDDEN:
        reply_status(wc, 403, "The current and the previous request authorization don't match.",
                     NULL);
        break;
    case RC_RATE_LIMITED: reply_status(wc, 400, API_RT_TOO_MANY_FROM_IP, NULL); break;
    default: {
        /* A fault of the server's (the requester's record could not be read,
         * no memory) is its 5xx with no detail, as POST /api/realtime answers
         * it; anything else is the client's 400. */
        int status = api_error_status(rc) >= 500 ? api_error_status(rc) : 400;
        reply_status(wc, status, api_error_message(status), status < 500 ? p.data : NULL);
    }
    }
    core_problem_cleanup(&p);
    core_auth_cleanup(&auth);
}

static void ws_on_text(void *ctx, const char *text, size_t len)
{
    struct ws_conn *wc = ctx;
    json_t *msg = json_loadb(text, len, 0, NULL);
    if (!json_is_object(msg))
        reply_status(wc, 400, "Invalid message: expected a JSON object.", NULL);
    else
        on_subscribe(wc, msg);
    json_decref(msg);
}

/* -------------------------------------------------------------------------
 * Connection callbacks
 * ------------------------------------------------------------------------- */

/* One event for the client (core's deliver callback); a reader too far
 * behind is dropped, as on SSE. */
static void ws_deliver(void *ctx, struct str topic, struct str data)
{
    struct ws_conn *wc = ctx;
    if (!api_rt_conn_keeps_up(&wc->base))
        return;
    struct buf b;
    buf_init(&b, (size_t)1 << 30);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "event");
    jsonw_string(&w, topic);
    jsonw_key_cstr(&w, "clientId");
    jsonw_string_cstr(&w, wc->base.client->id);
    jsonw_key_cstr(&w, "data");
    jsonw_raw(&w, data);
    jsonw_object_end(&w);
    if (send_built(wc, &w, &b)) {
        wc->base.last_message_ms = wc->base.last_write_ms;
        api_metrics_realtime_sent();
    }
    buf_cleanup(&b);
}

static void ws_on_open(void *ctx)
{
    struct ws_conn *wc = ctx;
    char msg[CORE_RT_MAX_CLIENT_ID + 64];
    int n = snprintf(msg, sizeof(msg), "{\"event\":\"PB_CONNECT\",\"clientId\":\"%s\"}",
                     wc->base.client->id);
    send_text(wc, msg, (size_t)n);
}

static void ws_on_close(void *ctx)
{
    struct ws_conn *wc = ctx;
    api_rt_conn_detach(&wc->base);
    xfree(wc);
}

static void ws_ping(struct api_rt_conn *rc)
{
    struct ws_conn *wc = (struct ws_conn *)rc;
    http_ws_ping(wc->ws);
    api_rt_conn_wrote(rc);
}

static void ws_close(struct api_rt_conn *rc)
{
    http_ws_close(((struct ws_conn *)rc)->ws, WS_CLOSE_GOING_AWAY);
}

static void ws_abort(struct api_rt_conn *rc)
{
    http_ws_abort(((struct ws_conn *)rc)->ws);
}

static const struct http_ws_ops ws_ops = {
    .on_open = ws_on_open,
    .on_text = ws_on_text,
    .on_close = ws_on_close,
};

/* -------------------------------------------------------------------------
 * The upgrade
 * ------------------------------------------------------------------------- */

enum rc api_realtime_ws(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct http_ws_handshake h;
    if (http_ws_check(req, &h) != RC_OK) {
        api_error_write(req, h.status, h.message);
        if (h.status == 426)
            http_resp_add_header(req, "Sec-WebSocket-Version", STR_LIT("13"));
        return RC_OK;
    }
    struct api_worker *aw = api_worker_of(req);
    struct ws_conn *wc = xcalloc(1, sizeof(*wc));
    wc->base.ping = ws_ping;
    wc->base.close = ws_close;
    wc->base.abort = ws_abort;
    wc->ws = http_ws_accept(req, &h, &ws_ops, wc, MAX_MESSAGE);
    api_rt_conn_attach(&wc->base, aw, http_ws_stream(wc->ws));
    wc->base.client = core_realtime_connect(&aw->core, req->remote_addr, ws_deliver, wc);
    return RC_OK;
}
