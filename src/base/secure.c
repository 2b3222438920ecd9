/* secure.c -- see secure.h. */
#include "base/secure.h"

#include <stdint.h>
#include <string.h>

/* libsodium does not document a NULL key as allowed, even with a zero length,
 * so an empty key (ptr possibly NULL) points here instead. */
static const unsigned char EMPTY_KEY[1];

enum rc secure_init(void)
{
    /* 0: initialised now, 1: already initialised, -1: failure. */
    return sodium_init() < 0 ? RC_INTERNAL : RC_OK;
}

/* Small draws (a record id's 15 characters, a uniform integer) come from a
 * per-thread pool of kernel CSPRNG output refilled 256 bytes at a time: one
 * getrandom per many ids instead of one per character (perf showed those
 * syscalls at ~5% of a create). Each byte is used once and zeroed as it is
 * taken, so the pool never holds what was already handed out. */
#define POOL_BYTES 256
static _Thread_local unsigned char pool[POOL_BYTES];
static _Thread_local size_t pool_at = POOL_BYTES;

static void pool_take(unsigned char *dst, size_t len)
{
    while (len) {
        if (pool_at == POOL_BYTES) {
            randombytes_buf(pool, sizeof(pool));
            pool_at = 0;
        }
        size_t n = POOL_BYTES - pool_at < len ? POOL_BYTES - pool_at : len;
        memcpy(dst, pool + pool_at, n);
        sodium_memzero(pool + pool_at, n);
        pool_at += n;
        dst += n;
        len -= n;
    }
}

void secure_random_bytes(void *dst, size_t len)
{
    if (len >= POOL_BYTES / 4)
        randombytes_buf(dst, len);
    else if (len)
        pool_take(dst, len);
}

uint32_t secure_random_uniform(uint32_t upper)
{
    if (upper < 2)
        return 0;
    /* Values below 2^32 mod upper would make a modulo favour the small
     * results: reject them (as randombytes_uniform does). */
    uint32_t min = (uint32_t)(0u - upper) % upper;
    uint32_t r;
    do
        pool_take((unsigned char *)&r, sizeof(r));
    while (r < min);
    return r % upper;
}

enum rc secure_random_string(struct str alphabet, char *dst, size_t len)
{
    if (alphabet.len == 0 || alphabet.len > 256)
        return RC_INVALID;
    /* Rejection sampling keeps it unbiased: only bytes below the largest
     * multiple of the alphabet size are used. */
    unsigned limit = 256u - (256u % (unsigned)alphabet.len);
    for (size_t i = 0; i < len;) {
        unsigned char b;
        pool_take(&b, 1);
        if (b < limit)
            dst[i++] = alphabet.ptr[b % alphabet.len];
    }
    return RC_OK;
}

void secure_hmac_init(struct secure_hmac *h, struct str key)
{
    const unsigned char *k = key.len ? (const unsigned char *)key.ptr : EMPTY_KEY;
    crypto_auth_hmacsha256_init(&h->_state, k, key.len);
}

void secure_hmac_update(struct secure_hmac *h, const void *p, size_t len)
{
    if (len)
        crypto_auth_hmacsha256_update(&h->_state, p, len);
}

void secure_hmac_final(struct secure_hmac *h, unsigned char out[SECURE_HMAC_SHA256_BYTES])
{
    crypto_auth_hmacsha256_final(&h->_state, out);
    sodium_memzero(&h->_state, sizeof(h->_state));
}

void secure_hmac_sha256(struct str key, const void *msg, size_t len,
                        unsigned char out[SECURE_HMAC_SHA256_BYTES])
{
    /* Not crypto_auth_hmacsha256(): that one takes a fixed 32-byte key, and
     * ours (record tokenKey + collection secret) have any length. */
    struct secure_hmac h;
    secure_hmac_init(&h, key);
    secure_hmac_update(&h, msg, len);
    secure_hmac_final(&h, out);
}

bool secure_equal(const void *a, const void *b, size_t len)
{
    if (len == 0)
        return true;
    return sodium_memcmp(a, b, len) == 0;
}

bool secure_str_equal(struct str a, struct str b)
{
    if (a.len != b.len)
        return false;
    return secure_equal(a.ptr, b.ptr, a.len);
}

void secure_zero(void *p, size_t len)
{
    if (len)
        sodium_memzero(p, len);
}

void secure_sha256(const void *p, size_t len, unsigned char out[32])
{
    crypto_hash_sha256(out, p, len);
}

void secure_hash_key_init(struct secure_hash_key *k)
{
    crypto_shorthash_keygen(k->_k);
}

uint64_t secure_hash64(const struct secure_hash_key *k, struct str s)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)s.ptr, s.len, k->_k);
    uint64_t v;
    memcpy(&v, h, sizeof(v));
    return v;
}
