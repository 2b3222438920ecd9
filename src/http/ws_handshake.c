/* ws_handshake.c -- see ws_handshake.h. */
#include "http/ws_handshake.h"

#include <string.h>

#include "base/b64.h"
#include "base/sha1.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_MAX 24 /* base64 of 16 bytes, padded */

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

void http_ws_accept_key(struct str key, char out[29])
{
    char joined[WS_KEY_MAX + sizeof(WS_GUID)];
    size_t n = key.len < WS_KEY_MAX ? key.len : WS_KEY_MAX;
    memcpy(joined, key.ptr, n);
    memcpy(joined + n, WS_GUID, sizeof(WS_GUID) - 1);
    uint8_t digest[20];
    sha1_digest(joined, n + sizeof(WS_GUID) - 1, digest);
    size_t len = b64_encode(B64_STD_PAD, digest, sizeof(digest), out);
    out[len] = '\0';
}

static enum rc refuse(struct http_ws_handshake *h, int status, const char *message)
{
    h->status = status;
    h->message = message;
    return RC_INVALID;
}

enum rc http_ws_check(const struct http_req *req, struct http_ws_handshake *h)
{
    memset(h, 0, sizeof(*h));
    struct str upgrade = http_req_header(req, "upgrade");
    struct str connection = http_req_header(req, "connection");
    struct str version = http_req_header(req, "sec-websocket-version");
    struct str key = http_req_header(req, "sec-websocket-key");
    /* RFC 6455 §4.1: a GET of HTTP/1.1 or later (a HEAD cannot become a
     * connection, and HTTP/1.0 has no Upgrade). */
    if (req->method != HTTP_METHOD_GET || req->version_minor < 1)
        return refuse(h, 400, "Expected a WebSocket upgrade request.");
    if (!upgrade.ptr || !header_has_token(upgrade, "websocket") || !connection.ptr ||
        !header_has_token(connection, "upgrade")) {
        return refuse(h, 400, "Expected a WebSocket upgrade request.");
    }
    if (!version.ptr || !str_eq(str_trim_ows(version), STR_LIT("13")))
        return refuse(h, 426, "Unsupported WebSocket version: use 13.");
    uint8_t nonce[32];
    size_t nonce_len = 0;
    if (key.ptr)
        key = str_trim_ows(key);
    if (!key.ptr || key.len > WS_KEY_MAX ||
        b64_decode(B64_STD_PAD, key, nonce, sizeof(nonce), &nonce_len) != RC_OK ||
        nonce_len != 16) {
        return refuse(h, 400, "Invalid Sec-WebSocket-Key.");
    }
    http_ws_accept_key(key, h->accept);
    return RC_OK;
}
