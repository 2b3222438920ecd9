/* ratelimit.h -- request rate limits (layer: core).
 *
 * Fixed-window counters: a key (an IP and a rule, an identity) may be hit at
 * most `max` times per `window_s` seconds; past that the caller answers 429
 * with Retry-After. The counting goes through a store interface so that a
 * Redis-backed store can replace the in-memory one when several instances
 * share the limits; today the in-memory store holds the counters of this
 * process (one mutex, entries expire with their window). Thread-safe. */
#ifndef TARMAC_CORE_RATELIMIT_H
#define TARMAC_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/str.h"

/* A counter store. hit() counts one request for key in the window of
 * window_s seconds containing now_ms; RC_RATE_LIMITED (with the seconds until
 * the window ends in *retry_after_s) when the count passes max. */
struct core_ratelimit_store {
    enum rc (*hit)(void *ctx, struct str key, uint32_t max, uint32_t window_s, int64_t now_ms,
                   uint32_t *retry_after_s);
    void (*release)(void *ctx);
    void *ctx;
};

/* A new in-memory store; release it with store->release(store->ctx). */
struct core_ratelimit_store core_ratelimit_memory_store(void);

/* One rule: a request whose path starts with `prefix` (or, for the labels
 * "auth-ip" and "auth-identity", an auth endpoint) may come max times per
 * window_s seconds per client IP (or per identity). A rule from the
 * settings API may instead want the whole path (is_exact: PocketBase's
 * label without a trailing '/') and one method ("POST /api/..."). */
struct core_ratelimit_rule {
    char prefix[128];
    uint32_t max;
    uint32_t window_s;
    char method[8]; /* "": any */
    bool is_exact;
};

#define CORE_RATELIMIT_MAX_RULES 16

struct core_ratelimit_config {
    struct core_ratelimit_rule auth_ip;       /* every auth endpoint, per client IP */
    struct core_ratelimit_rule auth_identity; /* auth-with-password and co., per identity */
    struct core_ratelimit_rule rules[CORE_RATELIMIT_MAX_RULES]; /* path prefixes, per IP */
    size_t rule_count;
};

/* Fills cfg with the defaults: auth endpoints 1000 per 10 s per IP (above
 * what a core can hash, so it bounds brute force without throttling a busy
 * proxy), 20 per 60 s per identity (an attacker guessing one account gets
 * 20 tries a minute); no path rules. */
void core_ratelimit_defaults(struct core_ratelimit_config *cfg);
/* Parses a comma-separated list "auth-ip=1000/10s,auth-identity=20/60s,
 * /api/=300/10s" into cfg (over the defaults); a max of 0 turns a rule off.
 * RC_INVALID for malformed text. */
enum rc core_ratelimit_parse(const char *text, struct core_ratelimit_config *cfg);

#endif
