/* secure.c -- see secure.h. */
#include "base/secure.h"

#include <stdint.h>

/* libsodium does not document a NULL key as allowed, even with a zero length,
 * so an empty key (ptr possibly NULL) points here instead. */
static const unsigned char EMPTY_KEY[1];

enum rc secure_init(void)
{
    /* 0: initialised now, 1: already initialised, -1: failure. */
    return sodium_init() < 0 ? RC_INTERNAL : RC_OK;
}

void secure_random_bytes(void *dst, size_t len)
{
    if (len)
        randombytes_buf(dst, len);
}

uint32_t secure_random_uniform(uint32_t upper)
{
    return upper < 2 ? 0 : randombytes_uniform(upper);
}

enum rc secure_random_string(struct str alphabet, char *dst, size_t len)
{
    if (alphabet.len == 0 || alphabet.len > 256)
        return RC_INVALID;
    /* One getrandom per 64 bytes instead of one per character (perf showed
     * the syscalls of a 15-character id). Rejection sampling keeps it
     * unbiased: only bytes below the largest multiple of the alphabet size
     * are used. */
    unsigned limit = 256u - (256u % (unsigned)alphabet.len);
    unsigned char pool[64];
    size_t have = 0, at = 0;
    for (size_t i = 0; i < len;) {
        if (at == have) {
            randombytes_buf(pool, sizeof(pool));
            have = sizeof(pool);
            at = 0;
        }
        unsigned b = pool[at++];
        if (b < limit)
            dst[i++] = alphabet.ptr[b % alphabet.len];
    }
    sodium_memzero(pool, sizeof(pool));
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
