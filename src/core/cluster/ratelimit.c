/* ratelimit.c -- see ratelimit.h. */
#include "core/cluster/ratelimit.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"

/* KEYS: the counters' names; ARGV: each one's window in ms. TIME inside a
 * script is allowed since Redis 5 (effects replication). The window's start
 * is part of the name, so a key never outlives its window by much. */
static const char script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local out = {}\n"
    "for i = 1, #KEYS do\n"
    "  local w = tonumber(ARGV[i])\n"
    "  local start = now - now % w\n"
    "  local k = KEYS[i] .. ':' .. start\n"
    "  local n = redis.call('INCR', k)\n"
    "  if n == 1 then redis.call('PEXPIRE', k, w + 1000) end\n"
    "  out[2 * i - 1] = n\n"
    "  out[2 * i] = start + w - now\n"
    "end\n"
    "return out\n";

struct call {
    struct core_cluster_hit *hits;
    size_t n;
    core_cluster_hits_fn *cb;
    void *ctx;
};

static void on_reply(void *ctx, const struct store_redis_reply *r)
{
    struct call *k = ctx;
    bool ok = r && store_redis_reply_type(r) == STORE_REDIS_ARRAY &&
              store_redis_reply_count(r) == 2 * k->n;
    for (size_t i = 0; ok && i < k->n; i++) {
        const struct store_redis_reply *count = store_redis_reply_at(r, 2 * i);
        const struct store_redis_reply *left = store_redis_reply_at(r, 2 * i + 1);
        ok = store_redis_reply_type(count) == STORE_REDIS_INTEGER &&
             store_redis_reply_type(left) == STORE_REDIS_INTEGER;
        if (ok) {
            k->hits[i].count = store_redis_reply_integer(count);
            k->hits[i].ms_left = store_redis_reply_integer(left);
        }
    }
    if (r && store_redis_reply_type(r) == STORE_REDIS_ERROR) {
        struct str e = store_redis_reply_str(r);
        log_warn("msg=\"redis refused the rate-limit script\" error=\"%.*s\"", (int)e.len, e.ptr);
    }
    k->cb(k->ctx, ok);
    xfree(k);
}

enum rc core_cluster_ratelimit_hit(struct core_cluster *c, struct core_cluster_hit *hits, size_t n,
                                   core_cluster_hits_fn *cb, void *ctx)
{
    if (n == 0 || n > CORE_CLUSTER_MAX_HITS)
        return RC_INVALID;
    if (!core_cluster_can_command(c))
        return RC_UNAVAILABLE;
    /* EVAL script numkeys key... window... */
    const char *argv[3 + 2 * CORE_CLUSTER_MAX_HITS];
    size_t lens[3 + 2 * CORE_CLUSTER_MAX_HITS];
    char names[CORE_CLUSTER_MAX_HITS][400];
    char windows[CORE_CLUSTER_MAX_HITS][24];
    char numkeys[8];
    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = script;
    lens[1] = sizeof(script) - 1;
    lens[2] = (size_t)snprintf(numkeys, sizeof(numkeys), "%zu", n);
    argv[2] = numkeys;
    for (size_t i = 0; i < n; i++) {
        int kl = snprintf(names[i], sizeof(names[i]), "tarmac:rl:%.*s",
                          (int)(hits[i].key.len < 380 ? hits[i].key.len : 380), hits[i].key.ptr);
        argv[3 + i] = names[i];
        lens[3 + i] = (size_t)kl;
        int wl = snprintf(windows[i], sizeof(windows[i]), "%llu",
                          (unsigned long long)hits[i].window_s * 1000);
        argv[3 + n + i] = windows[i];
        lens[3 + n + i] = (size_t)wl;
    }
    struct call *k = xcalloc(1, sizeof(*k));
    k->hits = hits;
    k->n = n;
    k->cb = cb;
    k->ctx = ctx;
    enum rc rc = core_cluster_command(c, on_reply, k, (int)(3 + 2 * n), argv, lens);
    if (rc)
        xfree(k);
    return rc;
}
