/* realtime_ws.c -- GET /api/realtime/ws: realtime over a WebSocket (beyond the
 * PocketBase contract; docs/realtime.md describes the protocol).
 *
 * RFC 6455 handshake here, framing by wslay. Messages are JSON text frames:
 *   server -> client  {"event":"PB_CONNECT","clientId":"..."}
 *                     {"event":"<subscription>","clientId":"...","data":{action,record}}
 *                     {"event":"PB_SUBSCRIBE","status":204}   (or status 4xx, message, data)
 *   client -> server  {"subscriptions":[...], "authorization":"<token>"}
 * A subscribe message follows the rules of POST /api/realtime (spec §7.2):
 * the list replaces the previous one, the first authenticated message sets
 * the identity, another identity later is refused with 403. Clients may also
 * subscribe through POST /api/realtime with the clientId. */
#include <string.h>
#include <wslay/wslay.h>

#include "api/errors.h"
#include "api/handlers.h"
#include "api/realtime.h"
#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "base/sha1.h"
#include "net/worker.h"

#define MAX_MESSAGE (256u * 1024u) /* a 1000-topic subscribe list fits */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct ws_conn {
    struct api_rt_conn base;
    wslay_event_context_ptr ws;
    const char *in; /* the bytes on_data is handing to wslay */
    size_t in_len;
};

/* -------------------------------------------------------------------------
 * wslay callbacks
 * ------------------------------------------------------------------------- */

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    struct ws_conn *wc = user;
    if (wc->in_len == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < wc->in_len ? len : wc->in_len;
    memcpy(buf, wc->in, n);
    wc->in += n;
    wc->in_len -= n;
    return (ssize_t)n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)flags;
    struct ws_conn *wc = user;
    api_rt_conn_send(&wc->base, data, len);
    if (wc->base.is_closing) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void queue_text(struct ws_conn *wc, const char *p, size_t len)
{
    struct wslay_event_msg msg = {
        .opcode = WSLAY_TEXT_FRAME, .msg = (const uint8_t *)p, .msg_length = len};
    if (wslay_event_queue_msg(wc->ws, &msg) == 0)
        (void)wslay_event_send(wc->ws);
}

/* Closes the stream once wslay has nothing left to say or hear. */
static void maybe_finish(struct ws_conn *wc)
{
    if (!wslay_event_want_read(wc->ws) && !wslay_event_want_write(wc->ws) && !wc->base.is_closing) {
        wc->base.is_closing = true;
        http_stream_close(wc->base.stream);
    }
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
    if (jsonw_finish(&w) == RC_OK)
        queue_text(wc, b.data, b.len);
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
    if (token && token[0])
        core_auth_load(&aw->core, schema, str_from_cstr(token), chrono_real_ms() / 1000, &auth);
    struct core_problem p;
    core_problem_init(&p);
    enum rc rc = core_realtime_subscribe_client(aw->core.app, wc->base.client, &auth,
                                                json_object_get(msg, "subscriptions"), &p);
    switch (rc) {
    case RC_OK: reply_status(wc, 204, NULL, NULL); break;
    case RC_FORBIDDEN:
        reply_status(wc, 403, "The current and the previous request authorization don't match.",
                     NULL);
        break;
    default: reply_status(wc, 400, "Something went wrong while processing your request.", p.data);
    }
    core_problem_cleanup(&p);
    core_auth_cleanup(&auth);
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
    (void)ctx;
    struct ws_conn *wc = user;
    if (arg->opcode != WSLAY_TEXT_FRAME)
        return; /* pings are answered by wslay; binary frames mean nothing here */
    json_t *msg = json_loadb((const char *)arg->msg, arg->msg_length, 0, NULL);
    if (!json_is_object(msg))
        reply_status(wc, 400, "Invalid message: expected a JSON object.", NULL);
    else
        on_subscribe(wc, msg);
    json_decref(msg);
}

static const struct wslay_event_callbacks ws_callbacks = {
    .recv_callback = ws_recv,
    .send_callback = ws_send,
    .on_msg_recv_callback = ws_on_msg,
};

/* -------------------------------------------------------------------------
 * Stream callbacks
 * ------------------------------------------------------------------------- */

static void ws_deliver(void *ctx, struct str topic, struct str data)
{
    struct ws_conn *wc = ctx;
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
    if (jsonw_finish(&w) == RC_OK) {
        queue_text(wc, b.data, b.len);
        wc->base.last_message_ms = wc->base.last_write_ms;
    }
    buf_cleanup(&b);
}

static size_t ws_on_data(void *ctx, const char *data, size_t len)
{
    struct ws_conn *wc = ctx;
    wc->in = data;
    wc->in_len = len;
    if (wslay_event_recv(wc->ws) != 0 || wslay_event_send(wc->ws) != 0) {
        wc->base.is_closing = true;
        http_stream_abort(wc->base.stream);
        return len;
    }
    maybe_finish(wc);
    wc->in_len = 0;
    return len; /* wslay keeps partial frames itself */
}

static void ws_on_start(void *ctx)
{
    struct ws_conn *wc = ctx;
    char msg[128];
    int n = snprintf(msg, sizeof(msg), "{\"event\":\"PB_CONNECT\",\"clientId\":\"%s\"}",
                     wc->base.client->id);
    queue_text(wc, msg, (size_t)n);
}

static void ws_on_close(void *ctx)
{
    struct ws_conn *wc = ctx;
    api_rt_conn_detach(&wc->base);
    wslay_event_context_free(wc->ws);
    xfree(wc);
}

static void ws_ping(struct api_rt_conn *rc)
{
    struct ws_conn *wc = (struct ws_conn *)rc;
    struct wslay_event_msg msg = {.opcode = WSLAY_PING, .msg = NULL, .msg_length = 0};
    if (wslay_event_queue_msg(wc->ws, &msg) == 0)
        (void)wslay_event_send(wc->ws);
}

static void ws_close(struct api_rt_conn *rc)
{
    struct ws_conn *wc = (struct ws_conn *)rc;
    /* 1001 "going away": the client reconnects as after an SSE close. */
    (void)wslay_event_queue_close(wc->ws, 1001, NULL, 0);
    (void)wslay_event_send(wc->ws);
    http_stream_close(rc->stream);
}

static const struct http_stream_ops ws_ops = {
    .on_data = ws_on_data,
    .on_start = ws_on_start,
    .on_close = ws_on_close,
};

/* -------------------------------------------------------------------------
 * Handshake (RFC 6455 §4.2)
 * ------------------------------------------------------------------------- */

/* True when the comma-separated header value lists token (any case). */
static bool header_has_token(struct str value, const char *token)
{
    size_t i = 0;
    while (i < value.len) {
        size_t start = i;
        while (i < value.len && value.ptr[i] != ',')
            i++;
        struct str item = str_trim_ows((struct str){value.ptr + start, i - start});
        if (str_eq_cstr_nocase(item, token))
            return true;
        i++;
    }
    return false;
}

enum rc api_realtime_ws(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct str upgrade = http_req_header(req, "upgrade");
    struct str connection = http_req_header(req, "connection");
    struct str version = http_req_header(req, "sec-websocket-version");
    struct str key = http_req_header(req, "sec-websocket-key");
    if (!upgrade.ptr || !header_has_token(upgrade, "websocket") || !connection.ptr ||
        !header_has_token(connection, "upgrade")) {
        api_error_write(req, 400, "Expected a WebSocket upgrade request.");
        return RC_OK;
    }
    if (!version.ptr || !str_eq(str_trim_ows(version), STR_LIT("13"))) {
        api_error_write(req, 426, "Unsupported WebSocket version: use 13.");
        http_resp_add_header(req, "Sec-WebSocket-Version", STR_LIT("13"));
        return RC_OK;
    }
    uint8_t nonce[32];
    size_t nonce_len = 0;
    key = key.ptr ? str_trim_ows(key) : key;
    if (!key.ptr || b64_decode(B64_STD_PAD, key, nonce, sizeof(nonce), &nonce_len) != RC_OK ||
        nonce_len != 16) {
        api_error_write(req, 400, "Invalid Sec-WebSocket-Key.");
        return RC_OK;
    }
    char joined[64];
    memcpy(joined, key.ptr, key.len);
    memcpy(joined + key.len, WS_GUID, sizeof(WS_GUID) - 1);
    uint8_t digest[20];
    sha1_digest(joined, key.len + sizeof(WS_GUID) - 1, digest);
    char accept[32];
    size_t accept_len = b64_encode(B64_STD_PAD, digest, sizeof(digest), accept);

    struct api_worker *aw = api_worker_of(req);
    struct ws_conn *wc = xcalloc(1, sizeof(*wc));
    if (wslay_event_context_server_init(&wc->ws, &ws_callbacks, wc) != 0) {
        xfree(wc);
        return RC_NOMEM;
    }
    wslay_event_config_set_max_recv_msg_length(wc->ws, MAX_MESSAGE);
    wc->base.ping = ws_ping;
    wc->base.close = ws_close;
    struct http_stream *s = http_req_stream(req, &ws_ops, wc);
    api_rt_conn_attach(&wc->base, aw, s);
    wc->base.client = core_realtime_connect(&aw->core, req->remote_addr, ws_deliver, wc);
    http_resp_start(req, 101, NULL);
    http_resp_add_header(req, "Upgrade", STR_LIT("websocket"));
    http_resp_add_header(req, "Connection", STR_LIT("Upgrade"));
    http_resp_add_header(req, "Sec-WebSocket-Accept", (struct str){accept, accept_len});
    return RC_OK;
}
