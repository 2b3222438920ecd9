/* ratelimit.c -- see ratelimit.h. The in-memory store is an open hash of
 * fixed-size buckets under one mutex; it is touched only by rate-limited
 * routes, whose own work (an argon2id hash) dwarfs the lock. */
#include "core/auth/ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/secure.h"

#define BUCKETS 4096
#define MAX_KEY 160

struct entry {
    char key[MAX_KEY];
    size_t key_len;
    int64_t window_start_ms; /* 0 = free */
    uint32_t window_s;
    uint32_t count;
};

struct memory_store {
    uv_mutex_t lock;
    /* Slots are found by a keyed hash (SipHash, a key drawn at start): keys
     * are client-chosen (an address, an identity), and with a public hash a
     * client could pick keys that share a victim's slots and push its
     * counter out (a full probe evicts, erring towards admitting). */
    struct secure_hash_key hash_key;
    struct entry entries[BUCKETS];
};

static enum rc memory_hit(void *ctx, struct str key, uint32_t max, uint32_t window_s,
                          int64_t now_ms, uint32_t *retry_after_s)
{
    struct memory_store *m = ctx;
    if (key.len > MAX_KEY)
        key.len = MAX_KEY; /* keys are ours (IP or identity): cut, never overflow */
    int64_t window_ms = (int64_t)window_s * 1000;
    int64_t start = now_ms - now_ms % window_ms;
    uint64_t h = secure_hash64(&m->hash_key, key);
    enum rc rc = RC_OK;
    uv_mutex_lock(&m->lock);
    /* Linear probing over a few slots; an expired slot is reused. */
    struct entry *slot = NULL, *free_slot = NULL;
    for (size_t i = 0; i < 8; i++) {
        struct entry *e = &m->entries[(h + i) % BUCKETS];
        bool expired =
            e->window_start_ms == 0 || e->window_start_ms + (int64_t)e->window_s * 1000 <= now_ms;
        if (!expired && e->key_len == key.len && memcmp(e->key, key.ptr, key.len) == 0) {
            slot = e;
            break;
        }
        if (expired && !free_slot)
            free_slot = e;
    }
    if (!slot) {
        /* All probed slots busy: take the first (an older counter is lost,
         * which errs towards admitting). */
        slot = free_slot ? free_slot : &m->entries[h % BUCKETS];
        memcpy(slot->key, key.ptr, key.len);
        slot->key_len = key.len;
        slot->window_start_ms = start;
        slot->window_s = window_s;
        slot->count = 0;
    }
    if (slot->window_start_ms != start) {
        slot->window_start_ms = start;
        slot->count = 0;
    }
    if (++slot->count > max) {
        int64_t left_ms = start + window_ms - now_ms;
        *retry_after_s = (uint32_t)((left_ms + 999) / 1000);
        rc = RC_RATE_LIMITED;
    }
    uv_mutex_unlock(&m->lock);
    return rc;
}

static void memory_free(void *ctx)
{
    struct memory_store *m = ctx;
    uv_mutex_destroy(&m->lock);
    xfree(m);
}

struct core_ratelimit_store core_ratelimit_memory_store(void)
{
    struct memory_store *m = xcalloc(1, sizeof(*m));
    secure_hash_key_init(&m->hash_key);
    uv_mutex_init(&m->lock);
    return (struct core_ratelimit_store){.hit = memory_hit, .release = memory_free, .ctx = m};
}

void core_ratelimit_defaults(struct core_ratelimit_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->auth_ip.prefix, sizeof(cfg->auth_ip.prefix), "auth-ip");
    cfg->auth_ip.max = 1000;
    cfg->auth_ip.window_s = 10;
    snprintf(cfg->auth_identity.prefix, sizeof(cfg->auth_identity.prefix), "auth-identity");
    cfg->auth_identity.max = 20;
    cfg->auth_identity.window_s = 60;
}

/* "N/Ws" or "N/W" (seconds) or "N/Wm". */
static bool parse_limit(const char *s, uint32_t *max, uint32_t *window_s)
{
    char *end;
    unsigned long n = strtoul(s, &end, 10);
    if (end == s || *end != '/' || n > 1000000000ul)
        return false;
    const char *w = end + 1;
    unsigned long d = strtoul(w, &end, 10);
    if (end == w || d == 0 || d > 86400ul)
        return false;
    if (*end == 'm')
        d *= 60, end++;
    else if (*end == 's')
        end++;
    if (*end != '\0' || d > 86400ul)
        return false;
    *max = (uint32_t)n;
    *window_s = (uint32_t)d;
    return true;
}

enum rc core_ratelimit_parse(const char *text, struct core_ratelimit_config *cfg)
{
    char copy[1024];
    size_t n = strlen(text);
    if (n >= sizeof(copy))
        return RC_INVALID;
    memcpy(copy, text, n + 1);
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        char *eq = strrchr(item, '=');
        if (!eq || eq == item)
            return RC_INVALID;
        *eq = '\0';
        struct core_ratelimit_rule r = {0};
        if (strlen(item) >= sizeof(r.prefix) || !parse_limit(eq + 1, &r.max, &r.window_s))
            return RC_INVALID;
        memcpy(r.prefix, item, strlen(item) + 1);
        if (strcmp(item, "auth-ip") == 0) {
            cfg->auth_ip = r;
        } else if (strcmp(item, "auth-identity") == 0) {
            cfg->auth_identity = r;
        } else if (item[0] == '/') {
            if (cfg->rule_count == CORE_RATELIMIT_MAX_RULES)
                return RC_INVALID;
            cfg->rules[cfg->rule_count++] = r;
        } else {
            return RC_INVALID;
        }
    }
    return RC_OK;
}
