/* router.h -- method + path pattern -> handler (layer: http).
 *
 * Patterns are literal segments and {name} parameters:
 * "/api/collections/{collection}/records/{id}". Matching walks a tree of
 * segments, literal children before the parameter child, so the cost is the
 * path's length, not the number of routes. Each path segment is percent-decoded
 * on its own, so "%2F" inside a parameter never splits it. HEAD is served by
 * the GET handler when no HEAD route exists. The router is built once before
 * the workers start and is read-only afterwards, so workers share it freely. */
#ifndef TARMAC_HTTP_ROUTER_H
#define TARMAC_HTTP_ROUTER_H

#include <stddef.h>

#include "base/arena.h"
#include "base/rc.h"
#include "base/str.h"
#include "http/parse.h"

#define HTTP_MAX_PARAMS 8

struct http_req;
/* A route handler: runs on the worker's loop; must respond (or defer) before
 * returning RC_OK; an error return without a response is rendered by the caller. */
typedef enum rc http_handler_fn(struct http_req *req, void *ctx);

struct http_route_param {
    struct str name;
    struct str value; /* percent-decoded, in the request arena */
};

struct http_route_match {
    http_handler_fn *handler;
    void *ctx;
    struct http_route_param params[HTTP_MAX_PARAMS];
    size_t param_count;
    unsigned allowed;  /* bit per enum http_method: methods the path has (for 405's Allow) */
    unsigned route_id; /* 1..http_router_route_count(); 0 when nothing matched */
};

enum http_route_result {
    HTTP_ROUTE_FOUND,
    HTTP_ROUTE_NOT_FOUND,
    HTTP_ROUTE_METHOD_NOT_ALLOWED,
    HTTP_ROUTE_BAD_PATH, /* a malformed %-escape or an encoded NUL: 400 */
};

struct http_router;

/* Returns a new empty router; free it with http_router_free(). */
struct http_router *http_router_new(void);
void http_router_free(struct http_router *r);
/* Adds a route. The pattern must start with '/'; a {param} takes a whole
 * segment. Registering the same method and pattern twice, or more than
 * HTTP_MAX_PARAMS parameters, is a programming error and aborts. */
void http_router_add(struct http_router *r, enum http_method method, const char *pattern,
                     http_handler_fn *fn, void *ctx);
/* Matches method and raw (still %-encoded) path. Parameter values are decoded
 * into a. Safe to call from many threads at once. */
enum http_route_result http_router_match(const struct http_router *r, enum http_method method,
                                         struct str path, struct arena *a,
                                         struct http_route_match *m);
/* Serves req with r's route for it (its parameters copied into req), the
 * handler's result in *rc; false when r (may be NULL) has none, for a
 * caller that falls through to other routes. */
bool http_router_serve(const struct http_router *r, struct http_req *req, enum rc *rc);
/* Routes registered, numbered 1..count in the order added. */
size_t http_router_route_count(const struct http_router *r);
/* The pattern and method of route id (valid while r lives); NULL for an
 * unknown id. A HEAD served by GET counts as the GET route. */
const char *http_router_route_pattern(const struct http_router *r, unsigned id,
                                      enum http_method *method);
/* Writes the Allow header value for a bit set of methods ("GET, HEAD, POST")
 * into out (room for 64 bytes); returns its length. */
size_t http_router_format_allow(unsigned allowed, char *out);

#endif
