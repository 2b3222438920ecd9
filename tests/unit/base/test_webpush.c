/* test_webpush.c -- unit tests of base/webpush.h: RFC 8291's example
 * (Appendix A) reproduced byte for byte from its fixed sender key and salt;
 * fresh messages decrypted here as a browser would (RFC 8291 §3.4 and RFC
 * 8188 written again on the receiving side) at 0, 1 and the largest length,
 * one byte more refused; subscription keys that are not a point on P-256 or
 * not 16 bytes refused; the VAPID header's JWT verifies with its k= key
 * and names the endpoint's origin, the subject and a 12-hour expiry. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/evp.h>

#include "base/b64.h"
#include "base/jws.h"
#include "base/secure.h"
#include "base/webpush.h"

/* RFC 8291, Appendix A. */
static const char PLAINTEXT[] = "When I grow up, I want to be a watermelon";
static const char AS_PRIVATE[] = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
static const char AS_PUBLIC[] =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
static const char UA_PRIVATE[] = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
static const char UA_PUBLIC[] =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
static const char SALT[] = "DGv6ra1nlYgDCS1FRnbzlw";
static const char AUTH[] = "BTBZMqHH6r4Tts7J_aSIgg";
static const char BODY[] =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6"
    "TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulc"
    "y4a-fN";

static size_t unb64(const char *s, uint8_t *dst, size_t cap)
{
    size_t n = 0;
    assert_int_equal(b64_decode(B64_URL, str_from_cstr(s), dst, cap, &n), RC_OK);
    return n;
}

static void test_rfc8291_example(void **state)
{
    (void)state;
    struct webpush_keys k;
    assert_int_equal(webpush_keys_parse(str_from_cstr(UA_PUBLIC), str_from_cstr(AUTH), &k), RC_OK);
    struct webpush_fixed f;
    assert_int_equal(unb64(AS_PRIVATE, f.private_key, sizeof(f.private_key)), 32);
    assert_int_equal(unb64(AS_PUBLIC, f.public_key, sizeof(f.public_key)), 65);
    assert_int_equal(unb64(SALT, f.salt, sizeof(f.salt)), 16);
    struct buf out, text;
    buf_init(&out, 1 << 16);
    buf_init(&text, 1 << 16);
    assert_int_equal(webpush_encrypt(&k, str_from_cstr(PLAINTEXT), &f, &out), RC_OK);
    assert_int_equal(out.len, WEBPUSH_HEADER_LEN + strlen(PLAINTEXT) + 1 + 16);
    assert_int_equal(b64_encode_buf(B64_URL, out.data, out.len, &text), RC_OK);
    assert_int_equal(text.len, strlen(BODY));
    assert_memory_equal(text.data, BODY, text.len);
    buf_cleanup(&out);
    buf_cleanup(&text);
}

/* ---- the receiving side ---------------------------------------------------- */

static void hkdf_step(const uint8_t *key, size_t key_len, const void *a, size_t a_len,
                      const void *b, size_t b_len, uint8_t out[32])
{
    struct secure_hmac h;
    secure_hmac_init(&h, (struct str){(const char *)key, key_len});
    secure_hmac_update(&h, a, a_len);
    secure_hmac_update(&h, b, b_len);
    secure_hmac_final(&h, out);
}

/* Decrypts body with the RFC's user agent key; the plaintext's length, or
 * -1 when anything does not check. */
static long browser_decrypt(const uint8_t *body, size_t len, uint8_t *plain)
{
    if (len < WEBPUSH_HEADER_LEN + 17 || body[20] != 65)
        return -1;
    uint32_t rs =
        (uint32_t)body[16] << 24 | (uint32_t)body[17] << 16 | (uint32_t)body[18] << 8 | body[19];
    if (rs != 4096 || len > rs)
        return -1;
    uint8_t ua_priv[32], ua_pub[65], auth[16];
    unb64(UA_PRIVATE, ua_priv, sizeof(ua_priv));
    unb64(UA_PUBLIC, ua_pub, sizeof(ua_pub));
    unb64(AUTH, auth, sizeof(auth));
    /* The ECDH with libcrypto's keys from parts. */
    char d_hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(d_hex + 2 * i, 3, "%02x", ua_priv[i]);
    BIGNUM *d = NULL;
    BN_hex2bn(&d, d_hex);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, ua_pub, 65);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *ua = NULL, *as = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(kc), 1);
    assert_int_equal(EVP_PKEY_fromdata(kc, &ua, EVP_PKEY_KEYPAIR, params), 1);
    OSSL_PARAM as_params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)(body + 21), 65),
        OSSL_PARAM_construct_end()};
    assert_int_equal(EVP_PKEY_fromdata_init(kc), 1);
    assert_int_equal(EVP_PKEY_fromdata(kc, &as, EVP_PKEY_PUBLIC_KEY, as_params), 1);
    EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(NULL, ua, NULL);
    uint8_t ecdh[32];
    size_t ecdh_len = sizeof(ecdh);
    assert_int_equal(EVP_PKEY_derive_init(dc), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(dc, as), 1);
    assert_int_equal(EVP_PKEY_derive(dc, ecdh, &ecdh_len), 1);
    EVP_PKEY_CTX_free(dc);
    EVP_PKEY_CTX_free(kc);
    EVP_PKEY_free(ua);
    EVP_PKEY_free(as);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(d);
    /* RFC 8291 §3.4, RFC 8188 §2.2-2.3 */
    uint8_t info[14 + 65 + 65], prk_key[32], ikm[32], prk[32], cek[32], nonce[32];
    memcpy(info, "WebPush: info\0", 14);
    memcpy(info + 14, ua_pub, 65);
    memcpy(info + 79, body + 21, 65);
    hkdf_step(auth, 16, ecdh, 32, "", 0, prk_key);
    hkdf_step(prk_key, 32, info, sizeof(info), "\x01", 1, ikm);
    hkdf_step(body, 16, ikm, 32, "", 0, prk);
    hkdf_step(prk, 32, "Content-Encoding: aes128gcm\0", 28, "\x01", 1, cek);
    hkdf_step(prk, 32, "Content-Encoding: nonce\0", 24, "\x01", 1, nonce);
    const uint8_t *ct = body + WEBPUSH_HEADER_LEN;
    size_t ct_len = len - WEBPUSH_HEADER_LEN - 16;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;
    bool is_ok = EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, cek, nonce) == 1 &&
                 EVP_DecryptUpdate(c, plain, &n, ct, (int)ct_len) == 1 &&
                 EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(ct + ct_len)) == 1 &&
                 EVP_DecryptFinal_ex(c, plain + n, &f) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!is_ok || n + f < 1)
        return -1;
    /* The last record: the delimiter 0x02 after the data, zeros after it. */
    long end = n + f - 1;
    while (end > 0 && plain[end] == 0)
        end--;
    return plain[end] == 0x02 ? end : -1;
}

static void test_fresh_messages_decrypt(void **state)
{
    (void)state;
    struct webpush_keys k;
    assert_int_equal(webpush_keys_parse(str_from_cstr(UA_PUBLIC), str_from_cstr(AUTH), &k), RC_OK);
    static uint8_t msg[WEBPUSH_MAX_PLAINTEXT + 1], plain[WEBPUSH_RECORD_SIZE];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 7 + 1);
    struct buf a, b;
    buf_init(&a, 1 << 16);
    buf_init(&b, 1 << 16);
    const size_t lens[] = {0, 1, 100, WEBPUSH_MAX_PLAINTEXT};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        buf_reset(&a);
        struct str m = {(const char *)msg, lens[i]};
        assert_int_equal(webpush_encrypt(&k, m, NULL, &a), RC_OK);
        assert_true(a.len <= WEBPUSH_RECORD_SIZE);
        assert_int_equal(browser_decrypt((const uint8_t *)a.data, a.len, plain), (long)lens[i]);
        if (lens[i])
            assert_memory_equal(plain, msg, lens[i]);
        /* a changed byte anywhere past the header fails the tag */
        a.data[a.len - 1 - (i * 13) % (a.len - WEBPUSH_HEADER_LEN)] ^= 0x40;
        assert_int_equal(browser_decrypt((const uint8_t *)a.data, a.len, plain), -1);
    }
    /* a fresh key and salt each time */
    buf_reset(&a);
    assert_int_equal(webpush_encrypt(&k, STR_LIT("same"), NULL, &a), RC_OK);
    assert_int_equal(webpush_encrypt(&k, STR_LIT("same"), NULL, &b), RC_OK);
    assert_int_equal(a.len, b.len);
    assert_true(memcmp(a.data, b.data, 16) != 0);
    assert_true(memcmp(a.data + 21, b.data + 21, 65) != 0);
    /* one byte too many; a buffer too small: out untouched */
    buf_reset(&a);
    buf_append_cstr(&a, "kept");
    assert_int_equal(webpush_encrypt(&k, (struct str){(const char *)msg, sizeof(msg)}, NULL, &a),
                     RC_TOO_LARGE);
    assert_int_equal(a.len, 4);
    struct buf tiny;
    buf_init(&tiny, 64);
    assert_int_equal(webpush_encrypt(&k, STR_LIT("x"), NULL, &tiny), RC_TOO_LARGE);
    assert_int_equal(tiny.len, 0);
    buf_cleanup(&tiny);
    buf_cleanup(&a);
    buf_cleanup(&b);
}

static void test_bad_keys(void **state)
{
    (void)state;
    struct webpush_keys k;
    /* Y changed: off the curve */
    char off[sizeof(UA_PUBLIC)];
    memcpy(off, UA_PUBLIC, sizeof(UA_PUBLIC));
    off[80] = off[80] == 'A' ? 'B' : 'A';
    /* compressed form (0x02 || X) */
    uint8_t pub[65];
    unb64(UA_PUBLIC, pub, sizeof(pub));
    pub[0] = 0x02;
    char compressed[64];
    b64_encode(B64_URL, pub, 33, compressed);
    compressed[b64_encoded_len(B64_URL, 33)] = '\0';
    const char *bad_pub[] = {off, compressed, "", "not base64!", AUTH};
    for (size_t i = 0; i < sizeof(bad_pub) / sizeof(bad_pub[0]); i++)
        assert_int_equal(webpush_keys_parse(str_from_cstr(bad_pub[i]), str_from_cstr(AUTH), &k),
                         RC_INVALID);
    const char *bad_auth[] = {"", "BTBZMqHH6r4Tts7J_aSI", "BTBZMqHH6r4Tts7J_aSIggAA", "!!"};
    for (size_t i = 0; i < sizeof(bad_auth) / sizeof(bad_auth[0]); i++)
        assert_int_equal(
            webpush_keys_parse(str_from_cstr(UA_PUBLIC), str_from_cstr(bad_auth[i]), &k),
            RC_INVALID);
    /* padding is accepted */
    assert_int_equal(
        webpush_keys_parse(str_from_cstr(UA_PUBLIC), str_from_cstr("BTBZMqHH6r4Tts7J_aSIgg=="), &k),
        RC_OK);
}

static void test_vapid(void **state)
{
    (void)state;
    struct buf pem, auth, pub;
    buf_init(&pem, 1 << 14);
    buf_init(&auth, 1 << 14);
    buf_init(&pub, 1 << 10);
    assert_int_equal(webpush_vapid_generate(&pem), RC_OK);
    assert_non_null(strstr(pem.data, "-----BEGIN PRIVATE KEY-----"));
    assert_int_equal(webpush_vapid_public(buf_str(&pem), &pub), RC_OK);
    assert_int_equal(pub.len, 87);
    assert_int_equal(buf_append(&pub, "", 1), RC_OK); /* a C string from here */
    assert_int_equal(webpush_vapid_auth(buf_str(&pem),
                                        STR_LIT("https://push.example.net:8443/wpush/v2/abc?x=1"),
                                        "mailto:ops@example.com", 1700000000, &auth),
                     RC_OK);
    assert_int_equal(buf_append(&auth, "", 1), RC_OK);
    /* vapid t=<JWT>, k=<key> */
    assert_int_equal(strncmp(auth.data, "vapid t=", 8), 0);
    char *comma = strstr(auth.data, ", k=");
    assert_non_null(comma);
    assert_string_equal(comma + 4, pub.data);
    struct str jwt = {auth.data + 8, (size_t)(comma - (auth.data + 8))};
    struct jws_token t;
    assert_int_equal(jws_parse(jwt, &t), JWS_OK);
    assert_string_equal(json_string_value(json_object_get(t.header, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(t.payload, "aud")),
                        "https://push.example.net:8443");
    assert_string_equal(json_string_value(json_object_get(t.payload, "sub")),
                        "mailto:ops@example.com");
    assert_int_equal(json_integer_value(json_object_get(t.payload, "exp")), 1700000000 + 12 * 3600);
    /* k= verifies it: a JWK of the point */
    uint8_t p[65];
    assert_int_equal(unb64(comma + 4, p, sizeof(p)), 65);
    char x[48], y[48], doc[512];
    x[b64_encode(B64_URL, p + 1, 32, x)] = '\0';
    y[b64_encode(B64_URL, p + 33, 32, y)] = '\0';
    snprintf(doc, sizeof(doc),
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}", x, y);
    struct jwk_set *s;
    assert_int_equal(jwk_set_parse(str_from_cstr(doc), &s), RC_OK);
    assert_int_equal(jws_verify(&t, s), JWS_OK);
    jws_token_cleanup(&t);
    jwk_set_unref(s);
    /* what is refused, out untouched */
    buf_reset(&auth);
    const char *bad_endpoints[] = {"ftp://x/y",    "https://",           "https:///a",
                                   "https://u@h/", "push.example.net/a", "https://h\"x/"};
    for (size_t i = 0; i < sizeof(bad_endpoints) / sizeof(bad_endpoints[0]); i++)
        assert_int_equal(webpush_vapid_auth(buf_str(&pem), str_from_cstr(bad_endpoints[i]),
                                            "mailto:a@b.c", 1, &auth),
                         RC_INVALID);
    assert_int_equal(webpush_vapid_auth(buf_str(&pem), STR_LIT("https://h/"), "", 1, &auth),
                     RC_INVALID);
    assert_int_equal(
        webpush_vapid_auth(STR_LIT("nope"), STR_LIT("https://h/"), "mailto:a@b.c", 1, &auth),
        RC_INVALID);
    assert_int_equal(auth.len, 0);
    buf_cleanup(&pem);
    buf_cleanup(&auth);
    buf_cleanup(&pub);
}

int main(void)
{
    if (secure_init()) {
        fputs("secure_init failed\n", stderr);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8291_example),
        cmocka_unit_test(test_fresh_messages_decrypt),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_vapid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
