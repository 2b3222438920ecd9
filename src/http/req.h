/* req.h -- one HTTP request and the response being built for it (layer: http).
 *
 * A request lives on its connection's worker thread, from its parsed head to
 * the end of its response; everything it points to is in req->arena (copied
 * out of the read buffer), so it stays valid while a handler works. The
 * response is built with resp.h and written by server.c after the handler. */
#ifndef TARMAC_HTTP_REQ_H
#define TARMAC_HTTP_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"
#include "http/parse.h"
#include "http/query.h"
#include "http/router.h"

#define HTTP_RESP_MAX_HEADERS 16

struct http_resp {
    int status;                                        /* 0 until a response is set */
    struct str content_type;                           /* empty: no Content-Type */
    struct http_header headers[HTTP_RESP_MAX_HEADERS]; /* extra headers, values in the arena */
    size_t header_count;
    struct buf *body; /* borrowed from the connection, reused across requests */
    bool is_close;    /* send Connection: close and close after it */
};

struct http_req {
    struct arena *arena; /* borrowed from the connection; reset after the response */
    enum http_method method;
    struct str method_name;
    struct str target;       /* raw request-target */
    struct str path;         /* raw path, still %-encoded */
    struct str query_string; /* raw, after '?' */
    int version_minor;
    struct http_header *headers; /* in the arena */
    size_t header_count;
    struct str body; /* decoded body (chunked already undone); empty when none */
    struct http_route_param params[HTTP_MAX_PARAMS];
    size_t param_count;
    struct http_query_param *query; /* parsed on first use (http_req_query_all) */
    size_t query_count;
    bool is_query_parsed;
    enum rc query_rc;        /* the parse's outcome, kept so a bad query is parsed once */
    char request_id[65];     /* X-Request-Id, NUL-terminated */
    const char *remote_addr; /* the client's IP ("" when unknown): the TCP peer's, or the one
                              * its forwarding header names when the peer is a trusted proxy */
    const char *peer_addr;   /* the TCP peer's IP, whoever it is ("" when unknown) */
    uint64_t start_ns;       /* monotonic time the head was complete */
    unsigned route_id;       /* the router's id of the matched route; 0 before or without */
    void *user;              /* the handler layer's state of this request (in the arena); NULL */
    struct http_resp resp;
};

/* Value of the first header named name (case-insensitive); ptr NULL when absent. */
struct str http_req_header(const struct http_req *req, const char *name);
/* Value of the route parameter name; ptr NULL when the route has none. */
struct str http_req_param(const struct http_req *req, const char *name);
/* Finds the first query parameter key (decoded). RC_NOT_FOUND when absent,
 * RC_INVALID for a malformed query string, RC_TOO_LARGE for too many pairs. */
enum rc http_req_query(struct http_req *req, const char *key, struct str *value);
/* Every query parameter (decoded, in order, repeats kept); parsed once per
 * request. RC_INVALID / RC_TOO_LARGE as http_req_query, *count 0 then. */
enum rc http_req_query_all(struct http_req *req, const struct http_query_param **params,
                           size_t *count);

/* Sets the status and content type of the response; the body goes into
 * http_resp_body(). content_type may be NULL (no body type). */
void http_resp_start(struct http_req *req, int status, const char *content_type);
/* Adds a response header; the value is copied into the arena. Extra headers
 * past HTTP_RESP_MAX_HEADERS are dropped with a warning: a programming error. */
void http_resp_add_header(struct http_req *req, const char *name, struct str value);
/* The response body buffer, to append to (it is empty when the request starts). */
struct buf *http_resp_body(struct http_req *req);
/* Asks for the connection to close after this response. */
void http_resp_close_after(struct http_req *req);
/* True once http_resp_start() was called. */
bool http_resp_is_started(const struct http_req *req);
/* The reason phrase for a status ("Not Found"); "" for unknown codes. */
const char *http_status_text(int status);

#endif
