/* fuzz_ws_handshake.c -- libFuzzer target for the WebSocket opening
 * handshake check (http/ws_handshake.h) behind the request head parser: the
 * bytes are a request head; when it parses, its headers go to
 * http_ws_check(). Checks invariants, not just "no crash": an accepted
 * handshake has a 28-character padded base64 Sec-WebSocket-Accept, and a
 * refused one names its status (400 or 426) and a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parse.h"
#include "http/ws_handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_limits limits = {.max_target = 256, .max_header_bytes = 4096};
    static struct http_parsed p;
    const char *why = NULL;
    if (http_parse_request((const char *)data, size, &limits, &p, &why) != HTTP_PARSE_DONE)
        return 0;
    struct http_req req;
    memset(&req, 0, sizeof(req));
    req.method = p.method_id;
    req.version_minor = p.version_minor;
    req.headers = p.headers;
    req.header_count = p.header_count;
    struct http_ws_handshake hs;
    if (http_ws_check(&req, &hs) == RC_OK) {
        if (strlen(hs.accept) != 28 || hs.accept[27] != '=')
            abort();
        for (int i = 0; i < 27; i++) {
            if (!is_b64(hs.accept[i]))
                abort();
        }
        if (req.method != HTTP_METHOD_GET || req.version_minor < 1)
            abort();
    } else if ((hs.status != 400 && hs.status != 426) || !hs.message) {
        abort();
    }
    return 0;
}
