/* fuzz_jws.c -- libFuzzer target for base/jws.h: the bytes are a compact
 * JWS (an id_token a client posts to auth-with-id-token, or one a token
 * endpoint answers). It is parsed, verified against a fixed set (RFC 7515
 * A.2's RSA key, A.3's EC key, RFC 8037's Ed25519 key, each with its kid)
 * and its claims checked. Beyond "no crash": a parsed token has object
 * header and payload, a supported alg and a signing input that is a prefix
 * of the bytes ending before the last '.'; a token whose alg is not one
 * verified never verifies; a verified token was parsed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jws.h"
#include "base/secure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char set_json[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a2\",\"e\":\"AQAB\",\"n\":"
    "\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4"
    "fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_Y"
    "pRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEM"
    "a2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2et"
    "hFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a3\",\"x\":"
    "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_"
    "tue659LNpXW6pCyStikYjKIW"
    "I5a0\"},{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\",\"x\":\"11qYAYKxCrfVS_"
    "7TyWQHOg7hcvPa"
    "piMlrwIaaPcHURo\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jwk_set *keys;
    if (!keys) {
        if (secure_init() || jwk_set_parse(STR_LIT(set_json), &keys) || jwk_set_count(keys) != 3)
            abort();
    }
    struct str in = {(const char *)data, size};
    struct jws_token t;
    enum jws_result r = jws_parse(in, &t);
    if (r == JWS_OK) {
        if (!json_is_object(t.header) || !json_is_object(t.payload) ||
            t.alg == JWK_ALG_UNSUPPORTED || t.sig_len == 0 || t.sig_len > sizeof(t.sig))
            abort();
        const char *last = memrchr(data, '.', size);
        if (!last || t.signing_input.ptr != in.ptr ||
            t.signing_input.len != (size_t)(last - (const char *)data))
            abort();
    }
    enum jws_result v = jws_verify(&t, keys);
    if (v == JWS_OK && (r != JWS_OK || t.alg == JWK_ALG_UNSUPPORTED))
        abort();
    if (r == JWS_OK) {
        const char *iss[] = {"joe"};
        const char *aud[] = {"client"};
        struct jws_expect e = {.issuers = iss,
                               .issuer_count = 1,
                               .audiences = aud,
                               .audience_count = 1,
                               .now_s = 1300819000,
                               .leeway_s = 60};
        (void)jws_check_claims(t.payload, &e);
    }
    (void)jws_result_message(r);
    jws_token_cleanup(&t);
    return 0;
}
