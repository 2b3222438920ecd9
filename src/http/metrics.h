/* metrics.h -- per-worker HTTP counters, summed at scrape time (layer: http).
 *
 * Each worker's http_server owns one shard and alone writes it (base/metrics.h:
 * relaxed load + store, no lock on the request path). Shards are registered in
 * a process-wide list when a worker starts and stay until
 * http_metrics_free_all() after every worker has ended, so a scrape on one
 * worker (or the main thread's --metrics-addr listener) can read a shard
 * whose worker is already gone. Labels are route patterns from the router
 * (route 0: requests no route took: 404, 405, 400, preflights, rate-limited),
 * never raw URLs, so cardinality is bounded by the route table. */
#ifndef TARMAC_HTTP_METRICS_H
#define TARMAC_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/metrics.h"

struct http_router;

struct http_metrics_route {
    uint64_t by_class[5]; /* responses by status class: 1xx .. 5xx */
    struct metrics_hist latency;
};

struct http_metrics_shard {
    uint64_t bytes_in;  /* request heads and bodies */
    uint64_t bytes_out; /* response heads and bodies, stream bytes */
    uint64_t conns_opened;
    uint64_t conns_closed;
    uint64_t streams_opened; /* SSE and WebSocket */
    uint64_t streams_closed;
    size_t route_count; /* routes[0..route_count] */
    struct http_metrics_route routes[];
};

/* Returns a new shard sized for route_count routes, registered for scrapes;
 * it lives until http_metrics_free_all(). Any thread. */
struct http_metrics_shard *http_metrics_shard_new(size_t route_count);
/* Frees every shard; call after the workers have ended. */
void http_metrics_free_all(void);

/* Records one response (owner thread only). */
void http_metrics_response(struct http_metrics_shard *m, unsigned route_id, int status, uint64_t us,
                           uint64_t bytes_in, uint64_t bytes_out);

/* Appends the HTTP families (tarmac_http_*) summed over every shard, in
 * exposition format 0.0.4. Any thread. */
void http_metrics_write(struct buf *out, const struct http_router *router);

#endif
