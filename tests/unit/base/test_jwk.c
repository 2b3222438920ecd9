/* test_jwk.c -- unit tests of base/jwk.h: the known-answer examples of RFC
 * 7515 A.2 (RS256), A.3 (ES256) and RFC 8037 A.4 (EdDSA) verify with their
 * published JWKs and fail once a byte changes; keys the module must not use
 * are left out of a set (RSA under 2048 bits, symmetric "oct" keys, other
 * curves, short coordinates, a point off the curve, encryption keys, keys
 * for other algorithms); kid and alg pick the key; bad documents are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/jwk.h"
#include "base/secure.h"
#include "jose_keys.h"

/* RFC 7515 Appendix A.2 and A.3 (the same payload), RFC 8037 Appendix A.4. */
#define A2_N                                                                                       \
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4" \
    "d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5re" \
    "xMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxX" \
    "FvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
#define A2_INPUT                                                                                   \
    "eyJhbGciOiJSUzI1NiJ9."                                                                        \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv"                     \
    "bS9pc19yb290Ijp0cnVlfQ"
#define A2_SIG                                                                                     \
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5" \
    "jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb" \
    "1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QO" \
    "YEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_INPUT                                                                                   \
    "eyJhbGciOiJFUzI1NiJ9."                                                                        \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv"                     \
    "bS9pc19yb290Ijp0cnVlfQ"
#define A3_SIG                                                                                     \
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define ED_INPUT "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define ED_SIG                                                                                     \
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"

static struct jwk_set *parse(const char *json)
{
    struct jwk_set *s = NULL;
    assert_int_equal(jwk_set_parse(str_from_cstr(json), &s), RC_OK);
    assert_non_null(s);
    return s;
}

static size_t decode(const char *b64, unsigned char *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(b64_decode(B64_URL, str_from_cstr(b64), out, cap, &n), RC_OK);
    return n;
}

/* Whether the only key of s (found by kid, or alone) verifies sig_b64 over input. */
static bool verifies(const struct jwk_set *s, const char *kid, enum jwk_alg alg, const char *input,
                     const char *sig_b64)
{
    unsigned char sig[1024];
    size_t n = decode(sig_b64, sig, sizeof(sig));
    return jwk_verify(jwk_set_find(s, kid, alg), alg, str_from_cstr(input), sig, n);
}

static void test_alg_names(void **state)
{
    (void)state;
    assert_int_equal(jwk_alg_of(STR_LIT("RS256")), JWK_ALG_RS256);
    assert_int_equal(jwk_alg_of(STR_LIT("ES256")), JWK_ALG_ES256);
    assert_int_equal(jwk_alg_of(STR_LIT("EdDSA")), JWK_ALG_EDDSA);
    const char *refused[] = {"none",  "None",  "HS256", "rs256", "RS512",
                             "PS256", "ES384", "",      "RS2"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert_int_equal(jwk_alg_of(str_from_cstr(refused[i])), JWK_ALG_UNSUPPORTED);
    assert_string_equal(jwk_alg_name(JWK_ALG_ES256), "ES256");
    assert_string_equal(jwk_alg_name(JWK_ALG_UNSUPPORTED), "");
}

static void test_rfc_examples_verify(void **state)
{
    (void)state;
    struct jwk_set *s = parse("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a2\",\"n\":\"" A2_N
                              "\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a3\","
                              "\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"},{\"kty\":\"OKP\",\"crv\":"
                              "\"Ed25519\",\"kid\":\"ed\",\"x\":\"" ED_X "\"}]}");
    assert_int_equal(jwk_set_count(s), 3);
    assert_true(verifies(s, "a2", JWK_ALG_RS256, A2_INPUT, A2_SIG));
    assert_true(verifies(s, "a3", JWK_ALG_ES256, A3_INPUT, A3_SIG));
    assert_true(verifies(s, "ed", JWK_ALG_EDDSA, ED_INPUT, ED_SIG));
    assert_string_equal(jwk_kid(jwk_set_find(s, "a3", JWK_ALG_ES256)), "a3");
    /* without a kid: the only key of the set fit for the algorithm */
    assert_true(verifies(s, NULL, JWK_ALG_RS256, A2_INPUT, A2_SIG));
    /* one changed byte of the message or of the signature fails */
    assert_false(verifies(s, "a2", JWK_ALG_RS256, A2_INPUT "x", A2_SIG));
    assert_false(verifies(s, "a3", JWK_ALG_ES256, A2_INPUT, A3_SIG)); /* A.2's header */
    assert_false(verifies(s, "ed", JWK_ALG_EDDSA, ED_INPUT "x", ED_SIG));
    unsigned char sig[512];
    size_t n = decode(A2_SIG, sig, sizeof(sig));
    const struct jwk *rsa = jwk_set_find(s, "a2", JWK_ALG_RS256);
    for (size_t i = 0; i < n; i += 37) {
        sig[i] ^= 1;
        assert_false(jwk_verify(rsa, JWK_ALG_RS256, STR_LIT(A2_INPUT), sig, n));
        sig[i] ^= 1;
    }
    assert_true(jwk_verify(rsa, JWK_ALG_RS256, STR_LIT(A2_INPUT), sig, n));
    assert_false(jwk_verify(rsa, JWK_ALG_RS256, STR_LIT(A2_INPUT), sig, n - 1)); /* truncated */
    /* a key is used only for its own algorithm: never the RSA key for ES256 */
    assert_false(jwk_verify(rsa, JWK_ALG_ES256, STR_LIT(A2_INPUT), sig, n));
    assert_null(jwk_set_find(s, "a2", JWK_ALG_ES256));
    assert_null(jwk_set_find(s, "a3", JWK_ALG_RS256));
    assert_null(jwk_set_find(s, "nosuch", JWK_ALG_RS256));
    assert_null(jwk_set_find(s, "a2", JWK_ALG_UNSUPPORTED));
    assert_false(jwk_verify(NULL, JWK_ALG_RS256, STR_LIT(A2_INPUT), sig, n));
    /* ES256 is R || S: the DER form of the same signature is refused */
    unsigned char es[64];
    decode(A3_SIG, es, sizeof(es));
    ECDSA_SIG *e = ECDSA_SIG_new();
    ECDSA_SIG_set0(e, BN_bin2bn(es, 32, NULL), BN_bin2bn(es + 32, 32, NULL));
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(e, &der);
    ECDSA_SIG_free(e);
    assert_false(jwk_verify(jwk_set_find(s, "a3", JWK_ALG_ES256), JWK_ALG_ES256, STR_LIT(A3_INPUT),
                            der, (size_t)der_len));
    OPENSSL_free(der);
    jwk_set_unref(s);
}

static void test_kid_and_alg_pick_the_key(void **state)
{
    (void)state;
    /* two EC keys: without a kid the signer is unknown */
    EVP_PKEY *k1 = jose_ec_key("P-256"), *k2 = jose_ec_key("P-256");
    char *j1 = jose_jwk(k1, "one", NULL), *j2 = jose_jwk(k2, "two", ",\"alg\":\"ES256\"");
    char doc[4096];
    snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s]}", j1, j2);
    struct jwk_set *s = parse(doc);
    assert_int_equal(jwk_set_count(s), 2);
    assert_null(jwk_set_find(s, NULL, JWK_ALG_ES256));
    assert_string_equal(jwk_kid(jwk_set_find(s, "two", JWK_ALG_ES256)), "two");
    char *token = jose_sign(k2, "ES256", "{\"alg\":\"ES256\"}", "{}", NULL, 0);
    char *dot = strrchr(token, '.');
    *dot = '\0';
    assert_true(verifies(s, "two", JWK_ALG_ES256, token, dot + 1));
    assert_false(verifies(s, "one", JWK_ALG_ES256, token, dot + 1)); /* the other key */
    jwk_set_unref(s);
    /* a key whose own alg is another never serves: RS256 named on an EC key */
    snprintf(doc, sizeof(doc), "{\"keys\":[%.*s,\"alg\":\"RS256\"}]}", (int)strlen(j1) - 1, j1);
    s = parse(doc);
    assert_int_equal(jwk_set_count(s), 1);
    assert_null(jwk_set_find(s, "one", JWK_ALG_ES256));
    jwk_set_unref(s);
    /* a key without a kid is never found by one */
    char *bare = jose_jwk(k1, NULL, NULL);
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", bare);
    s = parse(doc);
    assert_null(jwk_set_find(s, "one", JWK_ALG_ES256));
    assert_non_null(jwk_set_find(s, NULL, JWK_ALG_ES256));
    /* references: the set lives until the last one goes */
    assert_ptr_equal(jwk_set_ref(s), s);
    jwk_set_unref(s);
    assert_int_equal(jwk_set_count(s), 1);
    jwk_set_unref(s);
    jwk_set_unref(NULL);
    xfree(bare);
    xfree(token);
    xfree(j1);
    xfree(j2);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
}

/* Each of these keys is left out, so a set of it alone is empty. */
static void test_unusable_keys_are_left_out(void **state)
{
    (void)state;
    EVP_PKEY *small = jose_rsa_key(1024), *p384 = jose_ec_key("P-384");
    EVP_PKEY *p256 = jose_ec_key("P-256");
    char *j_small = jose_jwk(small, "small", NULL), *j_384 = jose_jwk(p384, "p384", NULL);
    char *j_256 = jose_jwk(p256, NULL, NULL);
    /* the same P-256 point with y changed: off the curve */
    char *off = xstrdup(j_256);
    char *y = strstr(off, "\"y\":\"") + 5;
    y[3] = y[3] == 'A' ? 'B' : 'A';
    const char *rsa = "{\"kty\":\"RSA\",\"n\":\"" A2_N "\",\"e\":\"AQAB\"";
    char cases[20][4096];
    size_t n = 0;
    snprintf(cases[n++], 4096, "%s", j_small);                        /* 1024 bits */
    snprintf(cases[n++], 4096, "%s", j_384);                          /* another curve */
    snprintf(cases[n++], 4096, "%s", off);                            /* off the curve */
    snprintf(cases[n++], 4096, "%s,\"use\":\"enc\"}", rsa);           /* for encryption */
    snprintf(cases[n++], 4096, "%s,\"key_ops\":[\"encrypt\"]}", rsa); /* not for verify */
    snprintf(cases[n++], 4096, "%s,\"alg\":\"RS512\"}", rsa);         /* another algorithm */
    snprintf(cases[n++], 4096, "%s,\"alg\":7}", rsa);                 /* alg not a string */
    snprintf(cases[n++], 4096, "%s,\"kid\":[1]}", rsa);               /* kid not a string */
    snprintf(cases[n++], 4096, "{\"kty\":\"RSA\",\"n\":\"" A2_N "\",\"e\":\"AQA\"}"); /* e even */
    snprintf(cases[n++], 4096, "{\"kty\":\"RSA\",\"n\":\"" A2_N "\",\"e\":\"AAE\"}"); /* e = 1 */
    snprintf(cases[n++], 4096,
             "{\"kty\":\"RSA\",\"n\":\"" A2_N "\",\"e\":\"AQABAQAB\"}"); /* e long */
    snprintf(cases[n++], 4096, "{\"kty\":\"RSA\",\"n\":\"" A2_N "\"}");  /* no e */
    snprintf(cases[n++], 4096, "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}");  /* a shared secret */
    snprintf(cases[n++], 4096,
             "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"AQAB\"}"); /* short y */
    snprintf(cases[n++], 4096, "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" ED_X "\"}");
    snprintf(cases[n++], 4096, "{\"kty\":\"RSA\",\"n\":\"+/==\",\"e\":\"AQAB\"}"); /* base64 */
    snprintf(cases[n++], 4096, "\"not an object\"");
    for (size_t i = 0; i < n; i++) {
        char doc[4200];
        snprintf(doc, sizeof(doc), "{\"keys\":[%.4095s]}", cases[i]);
        struct jwk_set *s = parse(doc);
        if (jwk_set_count(s) != 0)
            fail_msg("case %zu was kept: %s", i, cases[i]);
        jwk_set_unref(s);
    }
    /* a usable key beside them is kept; "use":"sig" and "key_ops":["verify"] are fine */
    char doc[8192];
    snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s,\"use\":\"sig\",\"key_ops\":[\"verify\"]}]}",
             cases[0], rsa);
    struct jwk_set *s = parse(doc);
    assert_int_equal(jwk_set_count(s), 1);
    jwk_set_unref(s);
    xfree(off);
    xfree(j_small);
    xfree(j_384);
    xfree(j_256);
    EVP_PKEY_free(small);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(p256);
}

static void test_lenient_spellings(void **state)
{
    (void)state;
    /* a leading zero octet on n and '=' padding are tolerated */
    unsigned char n[300];
    size_t len = decode(A2_N, n + 1, sizeof(n) - 1);
    n[0] = 0;
    struct buf b;
    buf_init(&b, 4096);
    buf_append_cstr(&b, "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"");
    jose_b64(&b, n, len + 1);
    buf_append_cstr(&b, "\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X
                        "=\",\"y\":\"" A3_Y "=\"}]}");
    buf_append(&b, "", 1);
    struct jwk_set *s = parse(b.data);
    assert_int_equal(jwk_set_count(s), 2);
    assert_true(verifies(s, NULL, JWK_ALG_RS256, A2_INPUT, A2_SIG));
    assert_true(verifies(s, NULL, JWK_ALG_ES256, A3_INPUT, A3_SIG));
    jwk_set_unref(s);
    buf_cleanup(&b);
}

static void test_bad_documents(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "{",
                         "[]",
                         "{\"keys\":{}}",
                         "{\"keys\":\"x\"}",
                         "{}",
                         "null",
                         "{\"keys\":[],\"keys\":[]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct jwk_set *s = NULL;
        assert_int_equal(jwk_set_parse(str_from_cstr(bad[i]), &s), RC_INVALID);
        assert_null(s);
    }
    struct jwk_set *s = parse("{\"keys\":[]}");
    assert_int_equal(jwk_set_count(s), 0);
    assert_null(jwk_set_find(s, NULL, JWK_ALG_RS256));
    jwk_set_unref(s);
    /* over the size cap, and more keys than are read */
    struct buf b;
    buf_init(&b, 1 << 20);
    buf_append_cstr(&b, "{\"keys\":[");
    for (int i = 0; i < JWK_SET_MAX_KEYS + 10; i++) {
        char key[256];
        snprintf(key, sizeof(key),
                 "%s{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k%d\",\"x\":\"" A3_X
                 "\",\"y\":\"" A3_Y "\"}",
                 i ? "," : "", i);
        buf_append_cstr(&b, key);
    }
    buf_append_cstr(&b, "]}");
    buf_append(&b, "", 1);
    s = parse(b.data);
    assert_int_equal(jwk_set_count(s), JWK_SET_MAX_KEYS);
    assert_null(jwk_set_find(s, "k70", JWK_ALG_ES256));
    assert_non_null(jwk_set_find(s, "k63", JWK_ALG_ES256));
    jwk_set_unref(s);
    buf_reset(&b);
    buf_append_cstr(&b, "{\"keys\":[],\"pad\":\"");
    while (b.len < JWK_SET_MAX_BYTES)
        buf_append_cstr(&b, "xxxxxxxxxxxxxxxx");
    buf_append_cstr(&b, "\"}");
    s = NULL;
    assert_int_equal(jwk_set_parse(buf_str(&b), &s), RC_TOO_LARGE);
    assert_null(s);
    buf_cleanup(&b);
}

int main(void)
{
    if (secure_init()) {
        fputs("secure_init failed\n", stderr);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_rfc_examples_verify),
        cmocka_unit_test(test_kid_and_alg_pick_the_key),
        cmocka_unit_test(test_unusable_keys_are_left_out),
        cmocka_unit_test(test_lenient_spellings),
        cmocka_unit_test(test_bad_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
