/* jose_keys.h -- test helpers for signed tokens: keys made with libcrypto,
 * their public JWK, tokens signed with them (RS256, ES256 as R || S, and
 * HS256 for the refusals), all as the identity providers do it. Header-only,
 * for the unit tests of base/jwk, base/jws and core/auth/oidc. */
#ifndef TARMAC_TESTS_JOSE_KEYS_H
#define TARMAC_TESTS_JOSE_KEYS_H

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"

/* A fresh RSA key of bits bits, or EC key on curve ("P-256", "P-384"). */
static inline EVP_PKEY *jose_rsa_key(unsigned bits)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

static inline EVP_PKEY *jose_ec_key(const char *curve)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

/* Appends the base64url of p[0..len) to out. */
static inline void jose_b64(struct buf *out, const void *p, size_t len)
{
    if (b64_encode_buf(B64_URL, p, len, out) != RC_OK)
        abort();
}

static inline void jose_bn(struct buf *out, EVP_PKEY *k, const char *name)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
        abort();
    unsigned char raw[1024];
    int n = BN_bn2bin(bn, raw);
    BN_free(bn);
    jose_b64(out, raw, (size_t)n);
}

/* The public JWK of k as JSON text (xfree), with kid (NULL: none) and extra
 * members (NULL or ",\"alg\":\"RS256\"" ...) before the closing brace. */
static inline char *jose_jwk(EVP_PKEY *k, const char *kid, const char *extra)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    if (EVP_PKEY_is_a(k, "RSA")) {
        buf_append_cstr(&b, "{\"kty\":\"RSA\",\"n\":\"");
        jose_bn(&b, k, OSSL_PKEY_PARAM_RSA_N);
        buf_append_cstr(&b, "\",\"e\":\"");
        jose_bn(&b, k, OSSL_PKEY_PARAM_RSA_E);
    } else {
        unsigned char pub[133];
        size_t len = 0;
        char group[32];
        if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len) !=
                1 ||
            EVP_PKEY_get_group_name(k, group, sizeof(group), NULL) != 1)
            abort();
        size_t c = (len - 1) / 2;
        buf_append_cstr(&b, "{\"kty\":\"EC\",\"crv\":\"");
        buf_append_cstr(&b, strcmp(group, "prime256v1") == 0 ? "P-256" : "P-384");
        buf_append_cstr(&b, "\",\"x\":\"");
        jose_b64(&b, pub + 1, c);
        buf_append_cstr(&b, "\",\"y\":\"");
        jose_b64(&b, pub + 1 + c, c);
    }
    buf_append_cstr(&b, "\"");
    if (kid) {
        buf_append_cstr(&b, ",\"kid\":\"");
        buf_append_cstr(&b, kid);
        buf_append_cstr(&b, "\"");
    }
    if (extra)
        buf_append_cstr(&b, extra);
    buf_append_cstr(&b, "}");
    char *s = xstrndup(b.data, b.len);
    buf_cleanup(&b);
    return s;
}

/* A compact JWS of header_json and payload_json signed by k with alg
 * ("RS256", "ES256"; "HS256" signs with hmac_key; "none" has an empty
 * signature). xfree the result. */
static inline char *jose_sign(EVP_PKEY *k, const char *alg, const char *header_json,
                              const char *payload_json, const void *hmac_key, size_t hmac_key_len)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    jose_b64(&b, header_json, strlen(header_json));
    buf_append_cstr(&b, ".");
    jose_b64(&b, payload_json, strlen(payload_json));
    unsigned char sig[1024];
    size_t sig_len = sizeof(sig);
    if (strcmp(alg, "HS256") == 0) {
        unsigned int n = 0;
        HMAC(EVP_sha256(), hmac_key, (int)hmac_key_len, (const unsigned char *)b.data, b.len, sig,
             &n);
        sig_len = n;
    } else if (strcmp(alg, "none") == 0) {
        sig_len = 0;
    } else {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
            EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)b.data, b.len) != 1)
            abort();
        EVP_MD_CTX_free(md);
        if (strcmp(alg, "ES256") == 0) {
            const unsigned char *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
            const BIGNUM *r, *s;
            ECDSA_SIG_get0(es, &r, &s);
            BN_bn2binpad(r, sig, 32);
            BN_bn2binpad(s, sig + 32, 32);
            ECDSA_SIG_free(es);
            sig_len = 64;
        }
    }
    buf_append_cstr(&b, ".");
    jose_b64(&b, sig, sig_len);
    char *s = xstrndup(b.data, b.len);
    buf_cleanup(&b);
    return s;
}

#endif
