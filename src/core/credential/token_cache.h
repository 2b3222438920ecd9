/* token_cache.h -- the auth tokens a worker verified recently (layer: core).
 *
 * Every authenticated request presents the same token again and again; its
 * signature check (base64, HMAC-SHA256, a JSON parse, twice counting the
 * peek) was ~10% of a create's worker time. The cache remembers, per token,
 * the claims and a keyed digest (BLAKE2b) of the exact signing key it
 * verified with (the key itself is not kept). A later request
 * with the same token bytes still loads the record and rebuilds its signing
 * key (tokenKey + the collection's secret): when that key equals the
 * remembered one, the HMAC over the same bytes with the same key would give
 * the same answer, so the check is skipped; under a changed tokenKey or
 * secret (a password change, a revocation) the same bytes could not verify
 * either, so the token is refused. Expiry is checked against the clock on
 * every hit.
 *
 * Slots are found by a keyed hash (SipHash, a key drawn at start), and
 * tokens and key digests are compared in constant time, so timing tells a
 * client nothing about the tokens others sent. One cache per worker thread:
 * not thread-safe. A hit is copied out: on PostgreSQL a request waits for
 * the record's load as a task, and other requests may change the cache
 * meanwhile (core/task.h). */
#ifndef TARMAC_CORE_CREDENTIAL_TOKEN_CACHE_H
#define TARMAC_CORE_CREDENTIAL_TOKEN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"
#include "core/credential/token.h"

/* Slots per worker: each holds one token, its key and claims (~0.5 KiB). */
#define CORE_TOKEN_CACHE_SLOTS 512

struct core_token_cache;

/* Ids longer than this are not cached (a record id is 15 characters). */
#define CORE_TOKEN_CACHE_MAX_ID 63

/* What a hit returns: a copy, which the cache's later changes leave alone.
 * collection_id and id point into the memo itself (do not copy the struct). */
struct core_token_memo {
    struct str collection_id;
    struct str id;
    int64_t exp;
    bool is_refreshable;
    char _collection_id[CORE_TOKEN_CACHE_MAX_ID + 1];
    char _id[CORE_TOKEN_CACHE_MAX_ID + 1];
    unsigned char _key_digest[32];
    const struct core_token_cache *_cache; /* whose digest key made _key_digest */
};

/* An empty cache of CORE_TOKEN_CACHE_SLOTS slots. */
struct core_token_cache *core_token_cache_new(void);
/* Frees tc (wiping what it holds); accepts NULL. */
void core_token_cache_free(struct core_token_cache *tc);
/* True with *out when token was put earlier and expires after now. */
bool core_token_cache_get(struct core_token_cache *tc, struct str token, int64_t now,
                          struct core_token_memo *out);
/* True when key is, byte for byte, the key the memo's token verified with. */
bool core_token_cache_key_matches(const struct core_token_memo *m, struct str key);
/* Remembers that token verified with key and gave claims (copied; of key
 * only its digest). Tokens over 1 KiB and ids over CORE_TOKEN_CACHE_MAX_ID
 * are not kept. */
void core_token_cache_put(struct core_token_cache *tc, struct str token, struct str key,
                          const struct core_token_claims *claims);

#endif
