/* cors.h -- Cross-Origin Resource Sharing (layer: http).
 *
 * The contract (PocketBase's behaviour): every response carries Vary: Origin;
 * a request with an allowed Origin gets Access-Control-Allow-Origin ("*" when
 * any origin is allowed, otherwise the origin echoed); any OPTIONS request is a
 * preflight answered 204 with the allowed methods and the requested headers
 * echoed. Credentials are never allowed. Read-only after start-up. */
#ifndef TARMAC_HTTP_CORS_H
#define TARMAC_HTTP_CORS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"
#include "base/str.h"

struct http_req;

struct http_cors {
    bool is_any;    /* "*": every origin */
    char **origins; /* exact origins ("https://app.example.com") when !is_any */
    size_t origin_count;
};

/* Parses a comma-separated list ("*" or origins) into c. RC_INVALID for an
 * empty list or an origin that is not scheme://host[:port]. */
enum rc http_cors_parse(struct http_cors *c, const char *list);
/* Frees what http_cors_parse allocated. */
void http_cors_cleanup(struct http_cors *c);
/* Adds the CORS headers for req's Origin to its response. */
void http_cors_add_headers(const struct http_cors *c, struct http_req *req);
/* Answers the preflight req (an OPTIONS request). */
void http_cors_preflight(const struct http_cors *c, struct http_req *req);

#endif
