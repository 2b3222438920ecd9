/* ws.h -- WebSocket (RFC 6455) over an http_stream (layer: http).
 *
 * This module owns the protocol, not what the messages mean: after the
 * handshake check of ws_handshake.h (§4.2.1) it answers with 101 and
 * Sec-WebSocket-Accept (§4.2.2) and hands the connection to wslay for
 * framing. wslay enforces
 * the framing rules (client frames masked, control frames short and whole,
 * valid close codes, UTF-8 in text messages) and answers pings; this module
 * caps message size and reports each complete text message to its owner.
 *
 * Lifetime: http_ws_accept() returns a struct http_ws owned by this module;
 * ops->on_close tells its owner that the connection is gone, after which the
 * pointer is dead (it is freed right after on_close returns). All calls on
 * the worker's thread. */
#ifndef TARMAC_HTTP_WS_H
#define TARMAC_HTTP_WS_H

#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/str.h"
#include "http/req.h"
#include "http/server.h"
#include "http/ws_handshake.h"

struct http_ws;
struct http_ws_ops {
    /* The 101 is written: the owner may send now. NULL: nothing to do. */
    void (*on_open)(void *ctx);
    /* One complete text message (binary messages are dropped). */
    void (*on_text)(void *ctx, const char *msg, size_t len);
    /* The connection is gone; the struct http_ws is freed after this. */
    void (*on_close)(void *ctx);
};

/* Takes over req's connection after a successful http_ws_check(): sets the
 * 101 response with h->accept (written when the handler returns RC_OK) and
 * starts framing. Messages longer than max_message bytes close the
 * connection with 1009. ops must outlive the connection; ctx is the owner's. */
struct http_ws *http_ws_accept(struct http_req *req, const struct http_ws_handshake *h,
                               const struct http_ws_ops *ops, void *ctx, size_t max_message);

/* Queues one text message (p must be valid UTF-8) and starts sending. */
void http_ws_send_text(struct http_ws *ws, const char *p, size_t len);
/* Queues a ping; wslay matches no pong to it, a dead peer shows as a
 * write error. */
void http_ws_ping(struct http_ws *ws);
/* Sends a close frame with code, then closes the connection. */
void http_ws_close(struct http_ws *ws, uint16_t code);
/* Closes at once, dropping queued output (a reader too slow to keep). */
void http_ws_abort(struct http_ws *ws);
/* Bytes queued for the peer but not yet taken by the socket. */
size_t http_ws_pending(const struct http_ws *ws);
/* The stream underneath (its worker, its peer's address). */
struct http_stream *http_ws_stream(struct http_ws *ws);

#endif
