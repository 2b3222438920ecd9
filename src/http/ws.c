/* ws.c -- the wslay glue of a WebSocket connection (see ws.h; the
 * handshake check is ws_handshake.c).
 *
 * wslay is driven without its own I/O: on_data hands it the bytes the
 * stream read (recv callback), and its send callback queues frames on the
 * stream, which always takes them whole (its output queue grows; the owner
 * watches http_ws_pending() for a reader that falls behind). */
#include "http/ws.h"

#include <string.h>
#include <wslay/wslay.h>

#include "base/alloc.h"

struct http_ws {
    wslay_event_context_ptr ctx;
    struct http_stream *stream;
    const struct http_ws_ops *ops;
    void *owner;
    const char *in; /* the bytes on_data is handing to wslay */
    size_t in_len;
    bool is_closing; /* no more writes: the stream is closing or aborted */
};

/* Stops writing and closes the stream once what is queued is out. */
static void finish(struct http_ws *ws)
{
    if (ws->is_closing)
        return;
    ws->is_closing = true;
    http_stream_close(ws->stream);
}

/* -------------------------------------------------------------------------
 * wslay callbacks
 * ------------------------------------------------------------------------- */

static ssize_t on_wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                             void *user)
{
    (void)flags;
    struct http_ws *ws = user;
    if (ws->in_len == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < ws->in_len ? len : ws->in_len;
    memcpy(buf, ws->in, n);
    ws->in += n;
    ws->in_len -= n;
    return (ssize_t)n;
}

static ssize_t on_wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                             int flags, void *user)
{
    (void)flags;
    struct http_ws *ws = user;
    if (!ws->is_closing && http_stream_write(ws->stream, data, len) != RC_OK)
        http_ws_abort(ws);
    if (ws->is_closing) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void on_wslay_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                         void *user)
{
    (void)ctx;
    struct http_ws *ws = user;
    if (arg->opcode != WSLAY_TEXT_FRAME || ws->is_closing)
        return; /* pings are answered by wslay; binary frames mean nothing here */
    ws->ops->on_text(ws->owner, (const char *)arg->msg, arg->msg_length);
}

static const struct wslay_event_callbacks wslay_callbacks = {
    .recv_callback = on_wslay_recv,
    .send_callback = on_wslay_send,
    .on_msg_recv_callback = on_wslay_msg,
};

/* -------------------------------------------------------------------------
 * Stream callbacks
 * ------------------------------------------------------------------------- */

static size_t on_stream_data(void *ctx, const char *data, size_t len)
{
    struct http_ws *ws = ctx;
    if (ws->is_closing)
        return len;
    ws->in = data;
    ws->in_len = len;
    if (wslay_event_recv(ws->ctx) != 0) {
        /* A frame wslay refuses (a control frame over 125 bytes, a length
         * past 2^63, ...) leaves its context failed: write the close frame
         * with 1002 ourselves (unmasked, as a server's; wslay's send
         * callback takes whole frames, so none is half written), then close
         * once it is out (RFC 6455 §7.1.7). */
        static const char close_1002[] = {(char)0x88, 0x02, 0x03, (char)0xea};
        ws->in_len = 0;
        if (!wslay_event_get_close_sent(ws->ctx) && !ws->is_closing)
            (void)http_stream_write(ws->stream, close_1002, sizeof(close_1002));
        finish(ws);
        return len;
    }
    if (wslay_event_send(ws->ctx) != 0) {
        http_ws_abort(ws);
        return len;
    }
    ws->in_len = 0;
    /* Both sides have sent their close frames: the connection is done. */
    if (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx))
        finish(ws);
    return len; /* wslay keeps partial frames itself */
}

static void on_stream_start(void *ctx)
{
    struct http_ws *ws = ctx;
    if (ws->ops->on_open)
        ws->ops->on_open(ws->owner);
}

static void on_stream_close(void *ctx)
{
    struct http_ws *ws = ctx;
    ws->ops->on_close(ws->owner);
    wslay_event_context_free(ws->ctx);
    xfree(ws);
}

static const struct http_stream_ops stream_ops = {
    .on_data = on_stream_data,
    .on_start = on_stream_start,
    .on_close = on_stream_close,
};

/* -------------------------------------------------------------------------
 * Owner's side
 * ------------------------------------------------------------------------- */

struct http_ws *http_ws_accept(struct http_req *req, const struct http_ws_handshake *h,
                               const struct http_ws_ops *ops, void *ctx, size_t max_message)
{
    struct http_ws *ws = xcalloc(1, sizeof(*ws));
    if (wslay_event_context_server_init(&ws->ctx, &wslay_callbacks, ws) != 0)
        abort(); /* wslay fails only to allocate; as xmalloc does, give up */
    wslay_event_config_set_max_recv_msg_length(ws->ctx, max_message);
    ws->ops = ops;
    ws->owner = ctx;
    ws->stream = http_req_stream(req, &stream_ops, ws);
    http_resp_start(req, 101, NULL);
    http_resp_add_header(req, "Upgrade", STR_LIT("websocket"));
    http_resp_add_header(req, "Connection", STR_LIT("Upgrade"));
    http_resp_add_header(req, "Sec-WebSocket-Accept", str_from_cstr(h->accept));
    return ws;
}

static void queue(struct http_ws *ws, const struct wslay_event_msg *msg)
{
    if (ws->is_closing)
        return;
    if (wslay_event_queue_msg(ws->ctx, msg) == 0)
        (void)wslay_event_send(ws->ctx);
}

void http_ws_send_text(struct http_ws *ws, const char *p, size_t len)
{
    struct wslay_event_msg msg = {
        .opcode = WSLAY_TEXT_FRAME, .msg = (const uint8_t *)p, .msg_length = len};
    queue(ws, &msg);
}

void http_ws_ping(struct http_ws *ws)
{
    struct wslay_event_msg msg = {.opcode = WSLAY_PING, .msg = NULL, .msg_length = 0};
    queue(ws, &msg);
}

void http_ws_close(struct http_ws *ws, uint16_t code)
{
    if (ws->is_closing)
        return;
    if (wslay_event_queue_close(ws->ctx, code, NULL, 0) == 0)
        (void)wslay_event_send(ws->ctx); /* a failed send aborts: finish() sees it */
    finish(ws);
}

void http_ws_abort(struct http_ws *ws)
{
    if (ws->is_closing)
        return;
    ws->is_closing = true;
    http_stream_abort(ws->stream);
}

size_t http_ws_pending(const struct http_ws *ws)
{
    return http_stream_pending(ws->stream);
}

struct http_stream *http_ws_stream(struct http_ws *ws)
{
    return ws->stream;
}
