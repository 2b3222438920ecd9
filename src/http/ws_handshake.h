/* ws_handshake.h -- the WebSocket opening handshake, RFC 6455 §4.2 (layer: http).
 *
 * Pure over a parsed request: what makes it an upgrade, and the
 * Sec-WebSocket-Accept answer. Kept apart from the framing glue (ws.h) so
 * the fuzz target and unit tests reach it without a connection. */
#ifndef TARMAC_HTTP_WS_HANDSHAKE_H
#define TARMAC_HTTP_WS_HANDSHAKE_H

#include "base/rc.h"
#include "base/str.h"
#include "http/req.h"

/* The outcome of checking an opening handshake. On failure, status (400 or
 * 426) and message say what to answer; a 426 must also carry the header
 * "Sec-WebSocket-Version: 13" (§4.4). */
struct http_ws_handshake {
    int status;
    const char *message;
    char accept[32]; /* Sec-WebSocket-Accept, NUL-terminated (28 characters) */
};

/* Checks that req asks for a WebSocket: GET with Upgrade: websocket,
 * Connection: upgrade, Sec-WebSocket-Version: 13 and a key that is the
 * base64 of 16 bytes. Returns RC_OK with h->accept set, or RC_INVALID with
 * h->status and h->message. Borrows req. */
enum rc http_ws_check(const struct http_req *req, struct http_ws_handshake *h);

/* Computes Sec-WebSocket-Accept for a key (base64(SHA-1(key + GUID)),
 * §4.2.2) into out (29 bytes with the NUL). key must be at most 24 bytes. */
void http_ws_accept_key(struct str key, char out[29]);

#endif
