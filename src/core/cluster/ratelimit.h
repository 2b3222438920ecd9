/* ratelimit.h -- rate-limit counters shared by every instance, in Redis
 * (layer: core, folder cluster).
 *
 * A request's matching rules are counted in one round trip: one EVAL of a
 * Lua script that, for each key, INCRs the counter of the fixed window (by
 * Redis's clock, so instances with skewed clocks share windows) and sets it
 * to expire after the window, and returns each count with the milliseconds
 * left in its window. Atomic per key; no request waits longer than
 * CORE_CLUSTER_TIMEOUT_MS: past it (or with Redis down) the caller decides
 * with its own per-instance counters (core/auth/ratelimit.h). */
#ifndef TARMAC_CORE_CLUSTER_RATELIMIT_H
#define TARMAC_CORE_CLUSTER_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/str.h"
#include "core/cluster/cluster.h"

/* One counter to bump: key (borrowed until the callback) in windows of
 * window_s seconds; count and ms_left are the answer. */
struct core_cluster_hit {
    struct str key;
    uint32_t window_s;
    long long count;
    long long ms_left;
};

/* ok: every hit's count and ms_left are set; else Redis did not answer in
 * time (or refused), and the caller falls back. */
typedef void core_cluster_hits_fn(void *ctx, bool ok);

/* Counts one hit on each of hits[0..n) (n <= CORE_CLUSTER_MAX_HITS), on the
 * calling worker's connection; cb(ctx, ok) runs later on its loop. hits
 * must live until then. RC_UNAVAILABLE (cb not called) off a worker or
 * while its connection is down; RC_INVALID for n out of range. */
#define CORE_CLUSTER_MAX_HITS 32
enum rc core_cluster_ratelimit_hit(struct core_cluster *c, struct core_cluster_hit *hits, size_t n,
                                   core_cluster_hits_fn *cb, void *ctx);

#endif
