/* hmac_sha1.c -- see hmac_sha1.h. */
#include "base/hmac_sha1.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <limits.h>

bool hmac_sha1_digest(struct str key, const void *msg, size_t len,
                      unsigned char out[HMAC_SHA1_BYTES])
{
    unsigned int n = 0;
    if (key.len > INT_MAX)
        return false;
    return HMAC(EVP_sha1(), key.ptr ? key.ptr : "", (int)key.len, msg, len, out, &n) &&
           n == HMAC_SHA1_BYTES;
}
