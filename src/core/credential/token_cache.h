/* token_cache.h -- the auth tokens a worker verified recently (layer: core).
 *
 * Every authenticated request presents the same token again and again; its
 * signature check (base64, HMAC-SHA256, a JSON parse, twice counting the
 * peek) was ~10% of a create's worker time. The cache remembers, per token,
 * the claims and the exact signing key it verified with. A later request
 * with the same token bytes still loads the record and rebuilds its signing
 * key (tokenKey + the collection's secret): when that key equals the
 * remembered one, the HMAC over the same bytes with the same key would give
 * the same answer, so the check is skipped; under a changed tokenKey or
 * secret (a password change, a revocation) the same bytes could not verify
 * either, so the token is refused. Expiry is checked against the clock on
 * every hit.
 *
 * Slots are found by a keyed hash (SipHash, a key drawn at start), and
 * tokens and keys are compared in constant time, so timing tells a client
 * nothing about the tokens others sent. One cache per worker thread: not
 * thread-safe. */
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

/* What a hit returns; borrowed from the cache until its next put. */
struct core_token_memo {
    struct str collection_id;
    struct str id;
    int64_t exp;
    bool is_refreshable;
    const void *_entry;
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
/* Remembers that token verified with key and gave claims (copied). Tokens or
 * keys too long for a slot (over 1 KiB) are not kept. */
void core_token_cache_put(struct core_token_cache *tc, struct str token, struct str key,
                          const struct core_token_claims *claims);

#endif
