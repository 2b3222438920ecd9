/* ratelimit.h -- rate limits applied to requests (layer: api).
 *
 * Process-wide: one struct api_limits, built by the CLI from the flags and
 * read-only afterwards except for the counter store (thread-safe). Before
 * routing (so unrouted paths count too), api_ratelimit_admit() applies the
 * path-prefix rules and, on the auth endpoints, the per-IP rule, to the path
 * as the router and the handlers read it: percent-decoded segment by segment,
 * and a collection named by id or in another case replaced by its name; a
 * rule's own path is read the same way. The auth handlers apply the
 * per-identity rule themselves. Over the limit: 429 in the contract's shape
 * with Retry-After. With --redis the counts are every instance's: admission
 * defers the request until Redis answers (http/server.h), a handler's check
 * waits in its task; either waits at most CORE_CLUSTER_TIMEOUT_MS, then
 * counts in this process instead. */
#ifndef TARMAC_API_RATELIMIT_H
#define TARMAC_API_RATELIMIT_H

#include <stdbool.h>

#include "base/str.h"

#include "core/auth/ratelimit.h"

struct http_req;
struct api_call;

struct core_cluster;

struct api_limits {
    struct core_ratelimit_config cfg;
    struct core_ratelimit_store store; /* this process's counters */
    /* --redis: the counters every instance shares (core/cluster/ratelimit.h);
     * the store above then counts only while Redis does not answer. NULL:
     * one instance. */
    struct core_cluster *cluster;
};

/* http_admit_fn: ctx is the struct api_limits. */
bool api_ratelimit_admit(struct http_req *req, void *ctx);
/* The same rules for a sub-request of req (a batch item: its method and URL
 * path), counted for req's client; false when over a limit, with the 429
 * written to req. limits may be NULL (no limits). */
bool api_ratelimit_admit_sub(struct http_req *req, const struct api_limits *limits,
                             const char *method, struct str path);
/* Counts one attempt for identity on an auth collection; on RC_RATE_LIMITED
 * the 429 is written. limits may be NULL (no limits). */
enum rc api_ratelimit_identity(struct api_call *c, const struct api_limits *limits,
                               const char *collection_id, const char *identity);

#endif
