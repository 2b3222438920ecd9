/* fuzz_jwks.c -- libFuzzer target for base/jwk.h: the bytes are a JWK Set
 * document (an identity provider's jwks_uri answer, which tarmac fetches and
 * parses off the loop). Every key kept is looked up for each algorithm and
 * asked to verify a fixed message with a signature cut from the input, so
 * the RSA, EC and Ed25519 paths run on whatever key material got through.
 * Beyond "no crash": at most JWK_SET_MAX_KEYS keys; a refused document
 * yields no set; a found key's kid is never NULL; references balance (ASan
 * reports a leak or a double free). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jwk.h"
#include "base/secure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool is_ready;
    if (!is_ready) {
        if (secure_init())
            abort();
        is_ready = true;
    }
    struct jwk_set *s = NULL;
    enum rc rc = jwk_set_parse((struct str){(const char *)data, size}, &s);
    if (rc != RC_OK) {
        if (s || (rc != RC_INVALID && rc != RC_TOO_LARGE))
            abort();
        return 0;
    }
    if (!s || jwk_set_count(s) > JWK_SET_MAX_KEYS)
        abort();
    struct jwk_set *again = jwk_set_ref(s);
    static const enum jwk_alg algs[] = {JWK_ALG_RS256, JWK_ALG_ES256, JWK_ALG_EDDSA,
                                        JWK_ALG_UNSUPPORTED};
    size_t sig_len = size < 1024 ? size : 1024;
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        const struct jwk *k = jwk_set_find(s, NULL, algs[i]);
        if (!k)
            continue;
        if (algs[i] == JWK_ALG_UNSUPPORTED || !jwk_kid(k))
            abort();
        (void)jwk_set_find(s, jwk_kid(k), algs[i]);
        (void)jwk_verify(k, algs[i], STR_LIT("fixed.message"), data, sig_len);
        (void)jwk_verify(k, algs[i], STR_LIT("fixed.message"), data, 64 < size ? 64 : size);
    }
    jwk_set_unref(again);
    jwk_set_unref(s);
    return 0;
}
