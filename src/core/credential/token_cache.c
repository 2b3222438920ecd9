/* token_cache.c -- see token_cache.h. Direct-mapped: a new token replaces
 * whatever shared its slot. */
#include "core/credential/token_cache.h"

#include <sodium.h>
#include <string.h>

#include "base/alloc.h"
#include "base/secure.h"

#define MAX_TOKEN 1024
#define MAX_KEY 1024

struct entry {
    uint64_t hash;
    char *token; /* NULL: empty slot */
    size_t token_len;
    char *key;
    size_t key_len;
    char *collection_id;
    char *id;
    int64_t exp;
    bool is_refreshable;
};

struct core_token_cache {
    struct secure_hash_key hash_key;
    struct entry slots[CORE_TOKEN_CACHE_SLOTS];
};

static void wipe(char *p, size_t len)
{
    if (p) {
        sodium_memzero(p, len);
        xfree(p);
    }
}

static void entry_clear(struct entry *e)
{
    wipe(e->token, e->token_len);
    wipe(e->key, e->key_len);
    xfree(e->collection_id);
    xfree(e->id);
    memset(e, 0, sizeof(*e));
}

struct core_token_cache *core_token_cache_new(void)
{
    struct core_token_cache *tc = xcalloc(1, sizeof(*tc));
    secure_hash_key_init(&tc->hash_key);
    return tc;
}

void core_token_cache_free(struct core_token_cache *tc)
{
    if (!tc)
        return;
    for (size_t i = 0; i < CORE_TOKEN_CACHE_SLOTS; i++)
        entry_clear(&tc->slots[i]);
    sodium_memzero(&tc->hash_key, sizeof(tc->hash_key));
    xfree(tc);
}

/* Constant time in the length of a (the stored side's length is not secret:
 * a token's length is public). */
static bool same_bytes(const char *a, size_t a_len, struct str b)
{
    return a_len == b.len && (b.len == 0 || sodium_memcmp(a, b.ptr, b.len) == 0);
}

bool core_token_cache_get(struct core_token_cache *tc, struct str token, int64_t now,
                          struct core_token_memo *out)
{
    if (!tc || token.len == 0 || token.len > MAX_TOKEN)
        return false;
    uint64_t h = secure_hash64(&tc->hash_key, token);
    struct entry *e = &tc->slots[h & (CORE_TOKEN_CACHE_SLOTS - 1)];
    if (!e->token || e->hash != h || !same_bytes(e->token, e->token_len, token))
        return false;
    if (e->exp <= now) {
        entry_clear(e);
        return false;
    }
    out->collection_id = str_from_cstr(e->collection_id);
    out->id = str_from_cstr(e->id);
    out->exp = e->exp;
    out->is_refreshable = e->is_refreshable;
    out->_entry = e;
    return true;
}

bool core_token_cache_key_matches(const struct core_token_memo *m, struct str key)
{
    const struct entry *e = m->_entry;
    return e && e->key && same_bytes(e->key, e->key_len, key);
}

void core_token_cache_put(struct core_token_cache *tc, struct str token, struct str key,
                          const struct core_token_claims *claims)
{
    if (!tc || token.len == 0 || token.len > MAX_TOKEN || key.len > MAX_KEY)
        return;
    uint64_t h = secure_hash64(&tc->hash_key, token);
    struct entry *e = &tc->slots[h & (CORE_TOKEN_CACHE_SLOTS - 1)];
    entry_clear(e);
    e->hash = h;
    e->token = xstrndup(token.ptr, token.len);
    e->token_len = token.len;
    e->key = xstrndup(key.ptr ? key.ptr : "", key.len);
    e->key_len = key.len;
    e->collection_id = xstrndup(claims->collection_id.ptr, claims->collection_id.len);
    e->id = xstrndup(claims->id.ptr, claims->id.len);
    e->exp = claims->exp;
    e->is_refreshable = claims->is_refreshable;
}
