/* parse.h -- HTTP/1.1 request head parser (layer: http).
 *
 * A pure function over (ptr, len), as picohttpparser: it reads one request head
 * (request line + header section), checks it against RFC 9112/9110 framing
 * rules and derives what the connection needs (body length, keep-alive,
 * 100-continue). It never allocates; the slices it returns point into the input
 * and die with it. Strictness is deliberate: anything two HTTP implementations
 * could read differently (the root of request smuggling) is refused. */
#ifndef TARMAC_HTTP_PARSE_H
#define TARMAC_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

#define HTTP_MAX_HEADERS 100

enum http_method {
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_PATCH,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_OPTIONS,
    HTTP_METHOD_OTHER, /* a valid token we do not route (TRACE, CONNECT, ...) */
    HTTP_METHOD_COUNT
};

struct http_header {
    struct str name;
    struct str value; /* without leading/trailing whitespace */
};

struct http_limits {
    size_t max_target;       /* bytes of the request-target; over -> 414 */
    size_t max_header_bytes; /* bytes of the whole head; over -> 431 */
};

/* What a complete head says. */
struct http_parsed {
    struct str method;
    enum http_method method_id;
    struct str target; /* as sent: origin-form "/p?q", absolute-form or "*" */
    struct str path;   /* the path part of target, still percent-encoded */
    struct str query;  /* after '?', without it; empty when absent */
    int version_minor; /* 0 or 1 (HTTP/1.x) */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t header_count;
    struct str host;
    bool has_content_length;
    uint64_t content_length;
    bool is_chunked;
    bool is_keep_alive;    /* after Connection and version defaults */
    bool expects_continue; /* Expect: 100-continue */
    size_t head_len;       /* bytes of input the head used, incl. the final CRLF */
};

enum http_parse_result {
    HTTP_PARSE_DONE,              /* *out is filled */
    HTTP_PARSE_PARTIAL,           /* need more bytes; nothing wrong so far */
    HTTP_PARSE_BAD_REQUEST,       /* 400 */
    HTTP_PARSE_URI_TOO_LONG,      /* 414 */
    HTTP_PARSE_HEADERS_TOO_LARGE, /* 431 */
    HTTP_PARSE_EXPECTATION,       /* 417: an Expect other than 100-continue */
    HTTP_PARSE_NOT_IMPLEMENTED,   /* 501: a transfer coding we do not know */
    HTTP_PARSE_BAD_VERSION,       /* 505 */
};

/* Parses the head at buf[0..len). On HTTP_PARSE_DONE fills *out (slices into
 * buf). On an error result sets *why to a static, human sentence. Bytes after
 * the head (a body, a pipelined request) are not looked at. */
enum http_parse_result http_parse_request(const char *buf, size_t len,
                                          const struct http_limits *limits, struct http_parsed *out,
                                          const char **why);

/* Returns the offset just past the blank line ending a head in buf[0..len), or
 * 0 when there is none yet. *scanned remembers how far the search got so that
 * a head arriving a byte at a time costs linear, not quadratic, time; start it
 * at 0 for a new head. Finds "\n\n" too, so that a bare-LF head reaches the
 * parser (which refuses it) instead of waiting for a timeout. */
size_t http_find_head_end(const char *buf, size_t len, size_t *scanned);

/* The status code for an error result (400, 414, ...); 0 for DONE/PARTIAL. */
int http_parse_status(enum http_parse_result r);

/* Returns the value of the first header named name (case-insensitive), or a
 * slice with ptr NULL when absent. */
struct str http_header_find(const struct http_header *headers, size_t count, const char *name);

/* The canonical name of a method ("GET"); "OTHER" for HTTP_METHOD_OTHER. */
const char *http_method_name(enum http_method m);
/* The method whose canonical name is name ("GET"); false for any other. */
bool http_method_of_name(const char *name, enum http_method *out);

#endif
