/* query.h -- percent-decoding and query-string parsing (layer: http).
 *
 * Pure functions over slices. Query parameters keep their order; a key may
 * repeat. Decoded text lives in the arena given. */
#ifndef TARMAC_HTTP_QUERY_H
#define TARMAC_HTTP_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/rc.h"
#include "base/str.h"

#define HTTP_QUERY_MAX_PARAMS 64

struct http_query_param {
    struct str key;   /* decoded */
    struct str value; /* decoded; empty when the pair had no '=' */
};

/* Parses "a=1&b=2" into params allocated in a. Empty pairs ("a=1&&b") are
 * skipped. RC_INVALID for a malformed escape, RC_TOO_LARGE past
 * HTTP_QUERY_MAX_PARAMS pairs. *out and its strings are valid until a resets. */
enum rc http_query_parse(struct str qs, struct arena *a, struct http_query_param **out,
                         size_t *count);

#endif
