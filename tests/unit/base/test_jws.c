/* test_jws.c -- unit tests of base/jws.h: tokens signed with RSA and EC
 * keys made here verify against their JWK Set and fail when any part
 * changes; "none", HS256 (also one keyed with the RSA key's public bytes,
 * the classic confusion), unknown algorithms and crit are refused before any
 * key is looked at; malformed compact forms (two, four or five parts,
 * padding, non-objects, duplicate members) are refused; the registered
 * claims are checked with a leeway; ES256 signing from a PKCS #8 or SEC 1
 * PEM gives a token the public key verifies, with Apple's header. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>

#include "base/jws.h"
#include "base/secure.h"
#include "jose_keys.h"

static EVP_PKEY *rsa, *ec;
static struct jwk_set *keys;

static int setup(void **state)
{
    (void)state;
    rsa = jose_rsa_key(2048);
    ec = jose_ec_key("P-256");
    char *a = jose_jwk(rsa, "r1", ",\"use\":\"sig\""), *b = jose_jwk(ec, "e1", NULL);
    char doc[8192];
    snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s]}", a, b);
    xfree(a);
    xfree(b);
    return jwk_set_parse(str_from_cstr(doc), &keys) == RC_OK && jwk_set_count(keys) == 2 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    jwk_set_unref(keys);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    return 0;
}

/* Parses and verifies token against keys; returns the first failure. */
static enum jws_result check(const char *token)
{
    struct jws_token t;
    enum jws_result r = jws_parse(str_from_cstr(token), &t);
    if (r == JWS_OK)
        r = jws_verify(&t, keys);
    jws_token_cleanup(&t);
    return r;
}

static void test_signed_tokens_verify(void **state)
{
    (void)state;
    char *r = jose_sign(rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"JWT\"}",
                        "{\"sub\":\"u1\",\"n\":1}", NULL, 0);
    char *e =
        jose_sign(ec, "ES256", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", "{\"sub\":\"u2\"}", NULL, 0);
    assert_int_equal(check(r), JWS_OK);
    assert_int_equal(check(e), JWS_OK);
    struct jws_token t;
    assert_int_equal(jws_parse(str_from_cstr(r), &t), JWS_OK);
    assert_int_equal(t.alg, JWK_ALG_RS256);
    assert_string_equal(t.kid, "r1");
    assert_string_equal(json_string_value(json_object_get(t.payload, "sub")), "u1");
    assert_int_equal(t.signing_input.len, (size_t)(strrchr(r, '.') - r));
    jws_token_cleanup(&t);
    /* any changed character of header, payload or signature fails */
    for (size_t i = 0; i < strlen(r); i += 7) {
        if (r[i] == '.')
            continue;
        char was = r[i];
        r[i] = was == 'A' ? 'B' : 'A';
        enum jws_result got = check(r);
        assert_true(got != JWS_OK);
        r[i] = was;
    }
    assert_int_equal(check(r), JWS_OK);
    xfree(r);
    xfree(e);
}

static void test_keys_are_chosen_by_kid_and_alg(void **state)
{
    (void)state;
    /* an unknown kid; the EC key's kid on an RS256 token (alg confusion) */
    char *a = jose_sign(rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r2\"}", "{}", NULL, 0);
    char *b = jose_sign(rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"e1\"}", "{}", NULL, 0);
    /* signed by another key under a known kid */
    EVP_PKEY *other = jose_ec_key("P-256");
    char *c = jose_sign(other, "ES256", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", "{}", NULL, 0);
    /* no kid: the set's only RSA key */
    char *d = jose_sign(rsa, "RS256", "{\"alg\":\"RS256\"}", "{}", NULL, 0);
    assert_int_equal(check(a), JWS_UNKNOWN_KEY);
    assert_int_equal(check(b), JWS_UNKNOWN_KEY);
    assert_int_equal(check(c), JWS_BAD_SIGNATURE);
    assert_int_equal(check(d), JWS_OK);
    EVP_PKEY_free(other);
    xfree(a);
    xfree(b);
    xfree(c);
    xfree(d);
}

static void test_refused_algorithms(void **state)
{
    (void)state;
    /* HS256 keyed with what an attacker has: the RSA key's public JWK text */
    char *pub = jose_jwk(rsa, "r1", NULL);
    char *hs = jose_sign(NULL, "HS256", "{\"alg\":\"HS256\",\"kid\":\"r1\"}", "{\"sub\":\"x\"}",
                         pub, strlen(pub));
    char *none = jose_sign(NULL, "none", "{\"alg\":\"none\"}", "{\"sub\":\"x\"}", NULL, 0);
    char *none_sig = jose_sign(rsa, "RS256", "{\"alg\":\"none\",\"kid\":\"r1\"}", "{}", NULL, 0);
    char *upper = jose_sign(rsa, "RS256", "{\"alg\":\"rs256\",\"kid\":\"r1\"}", "{}", NULL, 0);
    char *ps = jose_sign(rsa, "RS256", "{\"alg\":\"PS256\",\"kid\":\"r1\"}", "{}", NULL, 0);
    char *no_alg = jose_sign(rsa, "RS256", "{\"kid\":\"r1\"}", "{}", NULL, 0);
    char *num_alg = jose_sign(rsa, "RS256", "{\"alg\":256,\"kid\":\"r1\"}", "{}", NULL, 0);
    char *crit = jose_sign(rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"]}",
                           "{}", NULL, 0);
    assert_int_equal(check(hs), JWS_ALG_REFUSED);
    assert_int_equal(check(none_sig), JWS_ALG_REFUSED);
    assert_int_equal(check(upper), JWS_ALG_REFUSED);
    assert_int_equal(check(ps), JWS_ALG_REFUSED);
    assert_int_equal(check(no_alg), JWS_ALG_REFUSED);
    assert_int_equal(check(num_alg), JWS_ALG_REFUSED);
    assert_int_equal(check(crit), JWS_ALG_REFUSED);
    assert_int_equal(check(none), JWS_ALG_REFUSED); /* its signature is empty */
    char with_sig[512];
    snprintf(with_sig, sizeof(with_sig), "%sAAAA", none);
    assert_int_equal(check(with_sig), JWS_ALG_REFUSED);
    /* jws_verify refuses an unsupported alg itself too */
    struct jws_token t;
    (void)jws_parse(str_from_cstr(hs), &t);
    assert_int_equal(jws_verify(&t, keys), JWS_ALG_REFUSED);
    jws_token_cleanup(&t);
    char *all[] = {pub, hs, none, none_sig, upper, ps, no_alg, num_alg, crit};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        xfree(all[i]);
}

static void test_malformed_tokens(void **state)
{
    (void)state;
    char *good = jose_sign(rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "{}", NULL, 0);
    char *dup_header = jose_sign(
        rsa, "RS256", "{\"alg\":\"RS256\",\"alg\":\"RS256\",\"kid\":\"r1\"}", "{}", NULL, 0);
    char *dup_claim = jose_sign(rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
                                "{\"aud\":\"a\",\"aud\":\"b\"}", NULL, 0);
    char *array_payload =
        jose_sign(rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "[1,2]", NULL, 0);
    char *text_payload =
        jose_sign(rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "hello", NULL, 0);
    char *array_header = jose_sign(rsa, "RS256", "[\"RS256\"]", "{}", NULL, 0);
    char *kid_number = jose_sign(rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":1}", "{}", NULL, 0);
    char cases[12][8192];
    size_t n = 0;
    const char *dot2 = strrchr(good, '.');
    snprintf(cases[n++], 8192, "%.*s", (int)(dot2 - good), good);        /* two parts */
    snprintf(cases[n++], 8192, "%s.", good);                             /* four parts */
    snprintf(cases[n++], 8192, "%s.x.y", good);                          /* five (JWE) */
    snprintf(cases[n++], 8192, "%s=", good);                             /* padding */
    snprintf(cases[n++], 8192, "%.*s", (int)(dot2 - good + 1), good);    /* no signature */
    snprintf(cases[n++], 8192, "%s", good + (strchr(good, '.') - good)); /* no header */
    snprintf(cases[n++], 8192, "%s", good);
    cases[n - 1][3] = '+'; /* the standard alphabet */
    snprintf(cases[n++], 8192, "..");
    snprintf(cases[n++], 8192, "%s", "");
    for (size_t i = 0; i < n; i++) {
        if (check(cases[i]) != JWS_MALFORMED)
            fail_msg("case %zu not refused: %s", i, cases[i]);
    }
    assert_int_equal(check(dup_header), JWS_MALFORMED);
    assert_int_equal(check(dup_claim), JWS_MALFORMED);
    assert_int_equal(check(array_payload), JWS_MALFORMED);
    assert_int_equal(check(text_payload), JWS_MALFORMED);
    assert_int_equal(check(array_header), JWS_MALFORMED);
    assert_int_equal(check(kid_number), JWS_MALFORMED);
    /* past the size cap */
    struct buf big;
    buf_init(&big, 1 << 20);
    buf_append_cstr(&big, "{\"alg\":\"RS256\",\"kid\":\"r1\",\"x\":\"");
    while (big.len < JWS_MAX_BYTES)
        buf_append_cstr(&big, "xxxxxxxxxxxxxxxx");
    buf_append_cstr(&big, "\"}");
    buf_append(&big, "", 1);
    char *huge = jose_sign(rsa, "RS256", big.data, "{}", NULL, 0);
    assert_int_equal(check(huge), JWS_MALFORMED);
    buf_cleanup(&big);
    char *all[] = {good,         dup_header,   dup_claim,  array_payload,
                   text_payload, array_header, kid_number, huge};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        xfree(all[i]);
}

static enum jws_result claims(const char *payload, const struct jws_expect *e)
{
    json_t *j = json_loads(payload, 0, NULL);
    assert_non_null(j);
    enum jws_result r = jws_check_claims(j, e);
    json_decref(j);
    return r;
}

static void test_claims(void **state)
{
    (void)state;
    const char *iss[] = {"https://idp.example", "idp.example"};
    const char *aud[] = {"web-client", "ios-client"};
    struct jws_expect e = {.issuers = iss,
                           .issuer_count = 2,
                           .audiences = aud,
                           .audience_count = 2,
                           .now_s = 1000000,
                           .leeway_s = 60};
    assert_int_equal(claims("{\"iss\":\"https://idp.example\",\"aud\":\"web-client\","
                            "\"exp\":1000100,\"iat\":1000000,\"sub\":\"s\"}",
                            &e),
                     JWS_OK);
    assert_int_equal(claims("{\"iss\":\"idp.example\",\"aud\":[\"x\",\"ios-client\"],"
                            "\"exp\":1000000.5,\"nbf\":1000050,\"sub\":\"s\"}",
                            &e),
                     JWS_OK); /* real numbers; nbf within the leeway */
    assert_int_equal(claims("{\"iss\":\"idp.example\",\"aud\":\"web-client\",\"exp\":999950,"
                            "\"sub\":\"s\"}",
                            &e),
                     JWS_OK); /* expired 50 s ago: within the leeway */
    struct {
        const char *payload;
        enum jws_result want;
    } cases[] = {
        {"{\"iss\":\"idp.example\",\"aud\":\"web-client\",\"exp\":999900,\"sub\":\"s\"}",
         JWS_EXPIRED},
        {"{\"iss\":\"idp.example\",\"aud\":\"web-client\",\"sub\":\"s\"}", JWS_EXPIRED},
        {"{\"iss\":\"idp.example\",\"aud\":\"web-client\",\"exp\":\"2000000\",\"sub\":\"s\"}",
         JWS_EXPIRED},
        {"{\"iss\":\"idp.example\",\"aud\":\"web-client\",\"exp\":2000000,\"nbf\":1000100,"
         "\"sub\":\"s\"}",
         JWS_NOT_YET_VALID},
        {"{\"iss\":\"idp.example\",\"aud\":\"web-client\",\"exp\":2000000,\"iat\":1000100,"
         "\"sub\":\"s\"}",
         JWS_NOT_YET_VALID},
        {"{\"iss\":\"idp.example\",\"aud\":\"web-client\",\"exp\":2000000,\"iat\":\"now\","
         "\"sub\":\"s\"}",
         JWS_NOT_YET_VALID},
        {"{\"iss\":\"https://evil.example\",\"aud\":\"web-client\",\"exp\":2000000,\"sub\":\"s\"}",
         JWS_BAD_ISSUER},
        {"{\"aud\":\"web-client\",\"exp\":2000000,\"sub\":\"s\"}", JWS_BAD_ISSUER},
        {"{\"iss\":[\"idp.example\"],\"aud\":\"web-client\",\"exp\":2000000,\"sub\":\"s\"}",
         JWS_BAD_ISSUER},
        {"{\"iss\":\"idp.example\",\"aud\":\"other\",\"exp\":2000000,\"sub\":\"s\"}",
         JWS_BAD_AUDIENCE},
        {"{\"iss\":\"idp.example\",\"aud\":[],\"exp\":2000000,\"sub\":\"s\"}", JWS_BAD_AUDIENCE},
        {"{\"iss\":\"idp.example\",\"exp\":2000000,\"sub\":\"s\"}", JWS_BAD_AUDIENCE},
        {"{\"iss\":\"idp.example\",\"aud\":[[\"web-client\"]],\"exp\":2000000,\"sub\":\"s\"}",
         JWS_BAD_AUDIENCE},
        {"{\"iss\":\"idp.example\",\"aud\":\"WEB-CLIENT\",\"exp\":2000000,\"sub\":\"s\"}",
         JWS_BAD_AUDIENCE},
        {"{\"iss\":\"idp.example\",\"aud\":\"web-client\",\"exp\":2000000}", JWS_MISSING_SUBJECT},
        {"{\"iss\":\"idp.example\",\"aud\":\"web-client\",\"exp\":2000000,\"sub\":\"\"}",
         JWS_MISSING_SUBJECT},
        {"{\"iss\":\"idp.example\",\"aud\":\"web-client\",\"exp\":2000000,\"sub\":7}",
         JWS_MISSING_SUBJECT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum jws_result got = claims(cases[i].payload, &e);
        if (got != cases[i].want)
            fail_msg("case %zu: got %d want %d (%s)", i, got, cases[i].want, cases[i].payload);
    }
    /* no issuers expected: iss is not checked */
    e.issuer_count = 0;
    assert_int_equal(claims("{\"aud\":\"web-client\",\"exp\":2000000,\"sub\":\"s\"}", &e), JWS_OK);
    for (int r = JWS_OK; r <= JWS_MISSING_SUBJECT; r++)
        assert_true(strlen(jws_result_message((enum jws_result)r)) > 5);
}

/* Writes k as PEM: PKCS #8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"). */
static char *pem_of(EVP_PKEY *k, bool is_sec1, bool is_encrypted)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (is_sec1)
        PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PrivateKey(bio, k, is_encrypted ? EVP_aes_128_cbc() : NULL,
                                 is_encrypted ? (unsigned char *)"pw" : NULL, is_encrypted ? 2 : 0,
                                 NULL, NULL);
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    char *s = xstrndup(p, (size_t)n);
    BIO_free(bio);
    return s;
}

static void test_sign_es256(void **state)
{
    (void)state;
    char *pem = pem_of(ec, false, false);
    assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    struct buf out;
    buf_init(&out, 8192);
    assert_int_equal(jws_sign_es256(str_from_cstr(pem), "ABC123DEFG",
                                    STR_LIT("{\"iss\":\"TEAM\",\"sub\":\"com.example\"}"), &out),
                     RC_OK);
    struct jws_token t;
    assert_int_equal(jws_parse(buf_str(&out), &t), JWS_OK);
    assert_string_equal(t.kid, "ABC123DEFG");
    assert_string_equal(json_string_value(json_object_get(t.header, "typ")), "JWT");
    assert_string_equal(json_string_value(json_object_get(t.header, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(t.payload, "iss")), "TEAM");
    /* the key set holds the signer's public key under another kid: by alg alone it is found */
    char *jwk = jose_jwk(ec, NULL, NULL);
    char doc[4096];
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", jwk);
    struct jwk_set *s;
    assert_int_equal(jwk_set_parse(str_from_cstr(doc), &s), RC_OK);
    t.kid = NULL;
    assert_int_equal(jws_verify(&t, s), JWS_OK);
    jws_token_cleanup(&t);
    /* a SEC 1 PEM signs too, and without a kid the header has none */
    char *sec1 = pem_of(ec, true, false);
    assert_non_null(strstr(sec1, "-----BEGIN EC PRIVATE KEY-----"));
    buf_reset(&out);
    assert_int_equal(jws_sign_es256(str_from_cstr(sec1), NULL, STR_LIT("{}"), &out), RC_OK);
    assert_int_equal(jws_parse(buf_str(&out), &t), JWS_OK);
    assert_null(t.kid);
    assert_int_equal(jws_verify(&t, s), JWS_OK);
    jws_token_cleanup(&t);
    /* not an EC P-256 key: RSA, P-384, an encrypted one, garbage; out untouched */
    EVP_PKEY *p384 = jose_ec_key("P-384");
    char *bad[] = {pem_of(rsa, false, false), pem_of(p384, false, false), pem_of(ec, false, true),
                   xstrdup("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
                   xstrdup("")};
    buf_reset(&out);
    buf_append_cstr(&out, "kept");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(jws_sign_es256(str_from_cstr(bad[i]), "k", STR_LIT("{}"), &out),
                         RC_INVALID);
        assert_int_equal(out.len, 4);
        xfree(bad[i]);
    }
    /* an output buffer too small leaves it as it was */
    struct buf tiny;
    buf_init(&tiny, 40);
    assert_int_equal(jws_sign_es256(str_from_cstr(pem), "k", STR_LIT("{}"), &tiny), RC_TOO_LARGE);
    assert_int_equal(tiny.len, 0);
    buf_cleanup(&tiny);
    EVP_PKEY_free(p384);
    jwk_set_unref(s);
    xfree(jwk);
    xfree(sec1);
    xfree(pem);
    buf_cleanup(&out);
}

static void test_sign_rs256(void **state)
{
    (void)state;
    char *pem = pem_of(rsa, false, false);
    struct buf out;
    buf_init(&out, 8192);
    assert_int_equal(jws_sign_rs256(str_from_cstr(pem), "r1",
                                    STR_LIT("{\"iss\":\"svc@p.iam.gserviceaccount.com\"}"), &out),
                     RC_OK);
    struct jws_token t;
    assert_int_equal(jws_parse(buf_str(&out), &t), JWS_OK);
    assert_string_equal(json_string_value(json_object_get(t.header, "alg")), "RS256");
    assert_int_equal(jws_verify(&t, keys), JWS_OK);
    jws_token_cleanup(&t);
    /* PKCS #1 too */
    char *pkcs1 = pem_of(rsa, true, false);
    buf_reset(&out);
    assert_int_equal(jws_sign_rs256(str_from_cstr(pkcs1), "r1", STR_LIT("{}"), &out), RC_OK);
    assert_int_equal(jws_parse(buf_str(&out), &t), JWS_OK);
    assert_int_equal(jws_verify(&t, keys), JWS_OK);
    jws_token_cleanup(&t);
    /* an EC key, a short RSA key, garbage: refused, out untouched */
    EVP_PKEY *small = jose_rsa_key(1024);
    char *bad[] = {pem_of(ec, false, false), pem_of(small, false, false), xstrdup("x")};
    buf_reset(&out);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(jws_sign_rs256(str_from_cstr(bad[i]), NULL, STR_LIT("{}"), &out),
                         RC_INVALID);
        assert_int_equal(out.len, 0);
        xfree(bad[i]);
    }
    EVP_PKEY_free(small);
    xfree(pkcs1);
    xfree(pem);
    buf_cleanup(&out);
}

int main(void)
{
    if (secure_init()) {
        fputs("secure_init failed\n", stderr);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_tokens_verify),
        cmocka_unit_test(test_keys_are_chosen_by_kid_and_alg),
        cmocka_unit_test(test_refused_algorithms),
        cmocka_unit_test(test_malformed_tokens),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_sign_es256),
        cmocka_unit_test(test_sign_rs256),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
