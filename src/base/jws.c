/* jws.c -- see jws.h. */
#include "base/jws.h"

#include <math.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/b64.h"
#include "base/jsonw.h"

static const char *const messages[] = {
    [JWS_OK] = "The token is valid.",
    [JWS_MALFORMED] = "The token is malformed.",
    [JWS_ALG_REFUSED] = "The token's signing algorithm is not accepted.",
    [JWS_UNKNOWN_KEY] = "The token is signed with an unknown key.",
    [JWS_BAD_SIGNATURE] = "The token's signature is invalid.",
    [JWS_EXPIRED] = "The token has expired.",
    [JWS_NOT_YET_VALID] = "The token is not valid yet.",
    [JWS_BAD_ISSUER] = "The token's issuer is not accepted.",
    [JWS_BAD_AUDIENCE] = "The token is meant for another audience.",
    [JWS_MISSING_SUBJECT] = "The token names no subject.",
};

const char *jws_result_message(enum jws_result r)
{
    return (size_t)r < sizeof(messages) / sizeof(messages[0]) ? messages[r] : "";
}

/* -------------------------------------------------------------------------
 * Parsing and verifying
 * ------------------------------------------------------------------------- */

/* The JSON object that the base64url text part encodes; NULL otherwise. */
static json_t *decode_object(struct str part)
{
    char raw[JWS_MAX_BYTES];
    size_t len;
    if (!part.len || b64_decode(B64_URL, part, raw, sizeof(raw), &len) != RC_OK)
        return NULL;
    json_t *j = json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(j))
        return j;
    json_decref(j);
    return NULL;
}

enum jws_result jws_parse(struct str token, struct jws_token *t)
{
    memset(t, 0, sizeof(*t));
    if (token.len > JWS_MAX_BYTES)
        return JWS_MALFORMED;
    const char *dot1 = memchr(token.ptr, '.', token.len);
    const char *end = token.ptr + token.len;
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
        return JWS_MALFORMED; /* not three parts (a JWE has five) */
    struct str head = {token.ptr, (size_t)(dot1 - token.ptr)};
    struct str body = {dot1 + 1, (size_t)(dot2 - dot1 - 1)};
    struct str sig = {dot2 + 1, (size_t)(end - dot2 - 1)};
    t->header = decode_object(head);
    if (!t->header)
        return JWS_MALFORMED;
    /* the algorithm first, so "none" (whose signature is empty) and HS256
     * are named as what they are */
    const char *alg = json_string_value(json_object_get(t->header, "alg"));
    t->alg = alg ? jwk_alg_of(str_from_cstr(alg)) : JWK_ALG_UNSUPPORTED;
    /* RFC 7515 §4.1.11: extensions listed in crit must be understood; none is */
    if (t->alg == JWK_ALG_UNSUPPORTED || json_object_get(t->header, "crit"))
        return JWS_ALG_REFUSED;
    json_t *kid = json_object_get(t->header, "kid");
    if (kid && !json_is_string(kid))
        return JWS_MALFORMED;
    t->kid = json_string_value(kid);
    t->payload = decode_object(body);
    if (!t->payload || !sig.len ||
        b64_decode(B64_URL, sig, t->sig, sizeof(t->sig), &t->sig_len) != RC_OK)
        return JWS_MALFORMED;
    t->signing_input = (struct str){token.ptr, (size_t)(dot2 - token.ptr)};
    return JWS_OK;
}

void jws_token_cleanup(struct jws_token *t)
{
    json_decref(t->header);
    json_decref(t->payload);
    t->header = t->payload = NULL;
    t->kid = NULL;
}

enum jws_result jws_verify(const struct jws_token *t, const struct jwk_set *keys)
{
    if (!t->header || t->alg == JWK_ALG_UNSUPPORTED)
        return JWS_ALG_REFUSED;
    if (!t->payload || !t->signing_input.len)
        return JWS_MALFORMED; /* jws_parse failed */
    const struct jwk *k = jwk_set_find(keys, t->kid, t->alg);
    if (!k)
        return JWS_UNKNOWN_KEY;
    return jwk_verify(k, t->alg, t->signing_input, t->sig, t->sig_len) ? JWS_OK : JWS_BAD_SIGNATURE;
}

/* -------------------------------------------------------------------------
 * Claims
 * ------------------------------------------------------------------------- */

static bool is_one_of(const char *v, const char *const *list, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        if (list[i] && strcmp(v, list[i]) == 0)
            return true;
    }
    return false;
}

/* A NumericDate (RFC 7519 §2): an integer or a real, finite. */
static bool numeric_date(json_t *v, double *out)
{
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

enum jws_result jws_check_claims(json_t *payload, const struct jws_expect *e)
{
    double now = (double)e->now_s, leeway = (double)e->leeway_s, at;
    if (!numeric_date(json_object_get(payload, "exp"), &at) || now > at + leeway)
        return JWS_EXPIRED;
    json_t *nbf = json_object_get(payload, "nbf");
    if (nbf && (!numeric_date(nbf, &at) || at > now + leeway))
        return JWS_NOT_YET_VALID;
    json_t *iat = json_object_get(payload, "iat");
    if (iat && (!numeric_date(iat, &at) || at > now + leeway))
        return JWS_NOT_YET_VALID;
    if (e->issuer_count &&
        !is_one_of(json_string_value(json_object_get(payload, "iss")), e->issuers, e->issuer_count))
        return JWS_BAD_ISSUER;
    json_t *aud = json_object_get(payload, "aud");
    bool is_for_us = is_one_of(json_string_value(aud), e->audiences, e->audience_count);
    for (size_t i = 0; !is_for_us && i < json_array_size(aud); i++)
        is_for_us =
            is_one_of(json_string_value(json_array_get(aud, i)), e->audiences, e->audience_count);
    if (!is_for_us)
        return JWS_BAD_AUDIENCE;
    const char *sub = json_string_value(json_object_get(payload, "sub"));
    if (!sub || !sub[0])
        return JWS_MISSING_SUBJECT;
    return JWS_OK;
}

/* -------------------------------------------------------------------------
 * Signing
 * ------------------------------------------------------------------------- */

/* An encrypted PEM is refused rather than prompting on the terminal (what
 * OpenSSL's default callback would do). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* The private key in pem when it is of the kind alg signs with: an EC
 * P-256 key for ES256, an RSA key of 2048 bits or more for RS256. */
static EVP_PKEY *read_key(struct str pem, enum jwk_alg alg)
{
    if (!pem.len || pem.len > 64 * 1024)
        return NULL;
    BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    char group[32];
    bool is_fit =
        pkey && (alg == JWK_ALG_ES256
                     ? EVP_PKEY_is_a(pkey, "EC") &&
                           EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) == 1 &&
                           strcmp(group, "prime256v1") == 0
                     : EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) >= 2048 &&
                           EVP_PKEY_get_bits(pkey) <= JWK_RSA_MAX_BITS);
    if (!is_fit) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

/* The DER ECDSA-Sig-Value sig as R || S, each padded to 32 bytes. */
static bool der_to_raw(const unsigned char *der, size_t der_len, unsigned char raw[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    const BIGNUM *r = NULL, *s = NULL;
    if (es)
        ECDSA_SIG_get0(es, &r, &s);
    bool is_ok = es && BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
    ECDSA_SIG_free(es);
    return is_ok;
}

enum rc jws_p256_public(struct str pem, uint8_t out[65])
{
    EVP_PKEY *pkey = read_key(pem, JWK_ALG_ES256);
    size_t len = 0;
    bool is_ok =
        pkey &&
        EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, out, 65, &len) == 1 &&
        len == 65 && out[0] == 0x04;
    EVP_PKEY_free(pkey);
    return is_ok ? RC_OK : RC_INVALID;
}

/* Appends header.payload.signature for alg (ES256 or RS256) to out. */
static enum rc sign_compact(struct str pem, enum jwk_alg alg, const char *kid,
                            struct str payload_json, struct buf *out)
{
    EVP_PKEY *pkey = read_key(pem, alg);
    if (!pkey)
        return RC_INVALID;
    struct buf head;
    buf_init(&head, 4096);
    struct jsonw w;
    jsonw_init(&w, &head);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "alg");
    jsonw_string_cstr(&w, alg == JWK_ALG_ES256 ? "ES256" : "RS256");
    if (kid && kid[0]) {
        jsonw_key_cstr(&w, "kid");
        jsonw_string_cstr(&w, kid);
    }
    jsonw_key_cstr(&w, "typ");
    jsonw_string_cstr(&w, "JWT");
    jsonw_object_end(&w);
    enum rc rc = jsonw_finish(&w);
    size_t start = out->len;
    if (!rc)
        rc = b64_encode_buf(B64_URL, head.data, head.len, out);
    if (!rc)
        rc = buf_append(out, ".", 1);
    if (!rc)
        rc = b64_encode_buf(B64_URL, payload_json.ptr, payload_json.len, out);
    buf_cleanup(&head);
    /* An ECDSA signature comes as DER (at most 72 bytes), RSA's as the
     * modulus' length. */
    unsigned char sig[JWK_RSA_MAX_BITS / 8], raw[64];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *md = rc ? NULL : EVP_MD_CTX_new();
    if (!rc && (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
                EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)out->data + start,
                               out->len - start) != 1 ||
                (alg == JWK_ALG_ES256 && !der_to_raw(sig, sig_len, raw))))
        rc = RC_INTERNAL;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    if (!rc)
        rc = buf_append(out, ".", 1);
    if (!rc)
        rc = alg == JWK_ALG_ES256 ? b64_encode_buf(B64_URL, raw, sizeof(raw), out)
                                  : b64_encode_buf(B64_URL, sig, sig_len, out);
    if (rc)
        out->len = start;
    return rc;
}

enum rc jws_sign_es256(struct str pem, const char *kid, struct str payload_json, struct buf *out)
{
    return sign_compact(pem, JWK_ALG_ES256, kid, payload_json, out);
}

enum rc jws_sign_rs256(struct str pem, const char *kid, struct str payload_json, struct buf *out)
{
    return sign_compact(pem, JWK_ALG_RS256, kid, payload_json, out);
}
