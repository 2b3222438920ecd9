/* token_cache.c -- see token_cache.h. Direct-mapped: a new token replaces
 * whatever shared its slot. */
#include "core/credential/token_cache.h"

#include <sodium.h>
#include <string.h>

#include "base/alloc.h"
#include "base/secure.h"

#define MAX_TOKEN 1024

struct entry {
    uint64_t hash;
    char *token; /* NULL: empty slot */
    size_t token_len;
    unsigned char key_digest[32];
    char collection_id[CORE_TOKEN_CACHE_MAX_ID + 1];
    char id[CORE_TOKEN_CACHE_MAX_ID + 1];
    int64_t exp;
    bool is_refreshable;
};

struct core_token_cache {
    struct secure_hash_key hash_key;
    unsigned char digest_key[crypto_generichash_KEYBYTES];
    struct entry slots[CORE_TOKEN_CACHE_SLOTS];
};

static void key_digest(const struct core_token_cache *tc, struct str key, unsigned char out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)key.ptr, key.len, tc->digest_key,
                       sizeof(tc->digest_key));
}

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
    sodium_memzero(e, sizeof(*e));
}

struct core_token_cache *core_token_cache_new(void)
{
    struct core_token_cache *tc = xcalloc(1, sizeof(*tc));
    secure_hash_key_init(&tc->hash_key);
    randombytes_buf(tc->digest_key, sizeof(tc->digest_key));
    return tc;
}

void core_token_cache_free(struct core_token_cache *tc)
{
    if (!tc)
        return;
    for (size_t i = 0; i < CORE_TOKEN_CACHE_SLOTS; i++)
        entry_clear(&tc->slots[i]);
    sodium_memzero(&tc->hash_key, sizeof(tc->hash_key));
    sodium_memzero(tc->digest_key, sizeof(tc->digest_key));
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
    memcpy(out->_collection_id, e->collection_id, sizeof(out->_collection_id));
    memcpy(out->_id, e->id, sizeof(out->_id));
    memcpy(out->_key_digest, e->key_digest, sizeof(out->_key_digest));
    out->collection_id = str_from_cstr(out->_collection_id);
    out->id = str_from_cstr(out->_id);
    out->exp = e->exp;
    out->is_refreshable = e->is_refreshable;
    out->_cache = tc;
    return true;
}

bool core_token_cache_key_matches(const struct core_token_memo *m, struct str key)
{
    if (!m->_cache)
        return false;
    unsigned char d[32];
    key_digest(m->_cache, key, d);
    return sodium_memcmp(d, m->_key_digest, sizeof(d)) == 0;
}

void core_token_cache_put(struct core_token_cache *tc, struct str token, struct str key,
                          const struct core_token_claims *claims)
{
    if (!tc || token.len == 0 || token.len > MAX_TOKEN ||
        claims->collection_id.len > CORE_TOKEN_CACHE_MAX_ID ||
        claims->id.len > CORE_TOKEN_CACHE_MAX_ID)
        return;
    uint64_t h = secure_hash64(&tc->hash_key, token);
    struct entry *e = &tc->slots[h & (CORE_TOKEN_CACHE_SLOTS - 1)];
    entry_clear(e);
    e->hash = h;
    e->token = xstrndup(token.ptr, token.len);
    e->token_len = token.len;
    key_digest(tc, key, e->key_digest);
    memcpy(e->collection_id, claims->collection_id.ptr, claims->collection_id.len);
    memcpy(e->id, claims->id.ptr, claims->id.len);
    e->exp = claims->exp;
    e->is_refreshable = claims->is_refreshable;
}
