/* webpush.c -- see webpush.h.
 *
 * RFC 8291 §3.3-3.4, with auth_secret, ecdh_secret, ua_public and as_public
 * as the RFC names them:
 *   PRK_key = HMAC-SHA-256(auth_secret, ecdh_secret)
 *   IKM     = HMAC-SHA-256(PRK_key, "WebPush: info" 0x00 ua_public as_public 0x01)
 *   PRK     = HMAC-SHA-256(salt, IKM)
 *   CEK     = HMAC-SHA-256(PRK, "Content-Encoding: aes128gcm" 0x00 0x01)[0..16)
 *   NONCE   = HMAC-SHA-256(PRK, "Content-Encoding: nonce" 0x00 0x01)[0..12)
 * (each line one HKDF step of RFC 5869 with an output of at most one hash),
 * then one record: AES-128-GCM(CEK, NONCE, plaintext 0x02) and its tag,
 * behind the header salt || rs || idlen || as_public (RFC 8188 §2.1). */
#include "base/webpush.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/pem.h>

#include "base/b64.h"
#include "base/jws.h"
#include "base/secure.h"

/* ---- keys ---------------------------------------------------------------- */

/* An EC P-256 key from its parts: pub (65 bytes, uncompressed) and, when
 * priv is not NULL, the private scalar (32 bytes). NULL when pub is not on
 * the curve. */
static EVP_PKEY *p256_from(const uint8_t pub[65], const uint8_t *priv)
{
    OSSL_PARAM params[4];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, 65);
    BIGNUM *d = priv ? BN_bin2bn(priv, 32, NULL) : NULL;
    unsigned char d_native[32];
    if (d) {
        /* OSSL_PARAM integers are in native byte order. */
        if (BN_bn2nativepad(d, d_native, sizeof(d_native)) != 32) {
            BN_clear_free(d);
            return NULL;
        }
        params[n++] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, d_native, sizeof(d_native));
    }
    params[n] = OSSL_PARAM_construct_end();
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    BN_clear_free(d);
    secure_zero(d_native, sizeof(d_native));
    if (pkey) {
        /* fromdata decodes the point; a check that it lies on the curve
         * keeps an invalid-curve attack's point out of the ECDH. */
        EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!check || EVP_PKEY_public_check(check) != 1) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
        EVP_PKEY_CTX_free(check);
    }
    return pkey;
}

/* The uncompressed public point of an EC P-256 key. */
static bool public_of(EVP_PKEY *pkey, uint8_t out[65])
{
    size_t len = 0;
    return EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, out, 65, &len) == 1 &&
           len == 65 && out[0] == 0x04;
}

/* base64url with or without its padding (some client libraries pad). */
static bool unb64(struct str s, uint8_t *dst, size_t want)
{
    size_t pad = 0;
    while (pad < 2 && pad < s.len && s.ptr[s.len - 1 - pad] == '=')
        pad++;
    uint8_t tmp[72];
    size_t n = 0;
    if (b64_decode(B64_URL, (struct str){s.ptr, s.len - pad}, tmp, sizeof(tmp), &n) || n != want ||
        (pad && s.len % 4 != 0))
        return false;
    memcpy(dst, tmp, n);
    return true;
}

enum rc webpush_keys_parse(struct str p256dh, struct str auth, struct webpush_keys *out)
{
    uint8_t pub[65], secret[16];
    if (!unb64(p256dh, pub, sizeof(pub)) || pub[0] != 0x04 || !unb64(auth, secret, sizeof(secret)))
        return RC_INVALID;
    EVP_PKEY *k = p256_from(pub, NULL);
    if (!k)
        return RC_INVALID;
    EVP_PKEY_free(k);
    memcpy(out->p256dh, pub, 65);
    memcpy(out->auth, secret, 16);
    return RC_OK;
}

/* ---- encryption ---------------------------------------------------------- */

/* One HKDF step: HMAC-SHA-256(key, a || b) into out (32 bytes). */
static void hmac2(const uint8_t *key, size_t key_len, const void *a, size_t a_len, const void *b,
                  size_t b_len, uint8_t out[32])
{
    struct secure_hmac h;
    secure_hmac_init(&h, (struct str){(const char *)key, key_len});
    secure_hmac_update(&h, a, a_len);
    if (b_len)
        secure_hmac_update(&h, b, b_len);
    secure_hmac_final(&h, out);
}

/* The content key and nonce of a message (see the top of this file). */
static bool derive(EVP_PKEY *as, const uint8_t as_public[65], const struct webpush_keys *k,
                   const uint8_t salt[16], uint8_t cek[16], uint8_t nonce[12])
{
    EVP_PKEY *ua = p256_from(k->p256dh, NULL);
    if (!ua)
        return false;
    uint8_t ecdh[32], prk_key[32], ikm[32], prk[32], t[32];
    size_t ecdh_len = sizeof(ecdh);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, as, NULL);
    bool is_ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, ua) == 1 &&
                 EVP_PKEY_derive(ctx, ecdh, &ecdh_len) == 1 && ecdh_len == 32;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(ua);
    static const char key_info[] = "WebPush: info"; /* its NUL is the 0x00 */
    static const char cek_info[] = "Content-Encoding: aes128gcm";
    static const char nonce_info[] = "Content-Encoding: nonce";
    static const uint8_t one = 0x01;
    uint8_t info[sizeof(key_info) + 65 + 65];
    memcpy(info, key_info, sizeof(key_info));
    memcpy(info + sizeof(key_info), k->p256dh, 65);
    memcpy(info + sizeof(key_info) + 65, as_public, 65);
    if (is_ok) {
        hmac2(k->auth, 16, ecdh, 32, NULL, 0, prk_key);
        hmac2(prk_key, 32, info, sizeof(info), &one, 1, ikm);
        hmac2(salt, 16, ikm, 32, NULL, 0, prk);
        hmac2(prk, 32, cek_info, sizeof(cek_info), &one, 1, t);
        memcpy(cek, t, 16);
        hmac2(prk, 32, nonce_info, sizeof(nonce_info), &one, 1, t);
        memcpy(nonce, t, 12);
    }
    secure_zero(ecdh, sizeof(ecdh));
    secure_zero(prk_key, sizeof(prk_key));
    secure_zero(ikm, sizeof(ikm));
    secure_zero(prk, sizeof(prk));
    secure_zero(t, sizeof(t));
    return is_ok;
}

/* AES-128-GCM of plaintext || 0x02 (the last record's delimiter), then the
 * tag, appended to out (room reserved by the caller). */
static bool seal(const uint8_t cek[16], const uint8_t nonce[12], struct str plaintext,
                 struct buf *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t *dst = (uint8_t *)out->data + out->len;
    static const uint8_t delimiter = 0x02;
    int n = 0, m = 0, f = 0;
    bool is_ok =
        ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, cek, nonce) == 1 &&
        (plaintext.len == 0 || EVP_EncryptUpdate(ctx, dst, &n, (const uint8_t *)plaintext.ptr,
                                                 (int)plaintext.len) == 1) &&
        EVP_EncryptUpdate(ctx, dst + n, &m, &delimiter, 1) == 1 &&
        EVP_EncryptFinal_ex(ctx, dst + n + m, &f) == 1 &&
        (size_t)(n + m + f) == plaintext.len + 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, dst + plaintext.len + 1) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (is_ok)
        out->len += plaintext.len + 1 + 16;
    return is_ok;
}

enum rc webpush_encrypt(const struct webpush_keys *k, struct str plaintext,
                        const struct webpush_fixed *fixed, struct buf *out)
{
    if (plaintext.len > WEBPUSH_MAX_PLAINTEXT)
        return RC_TOO_LARGE;
    uint8_t as_public[65], salt[16], cek[16], nonce[12];
    EVP_PKEY *as;
    if (fixed) {
        as = p256_from(fixed->public_key, fixed->private_key);
        memcpy(as_public, fixed->public_key, 65);
        memcpy(salt, fixed->salt, 16);
    } else {
        as = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        if (as && !public_of(as, as_public)) {
            EVP_PKEY_free(as);
            as = NULL;
        }
        secure_random_bytes(salt, sizeof(salt));
    }
    if (!as)
        return fixed ? RC_INVALID : RC_INTERNAL;
    bool is_derived = derive(as, as_public, k, salt, cek, nonce);
    EVP_PKEY_free(as);
    if (!is_derived)
        return RC_INVALID;
    size_t start = out->len;
    enum rc rc = buf_reserve(out, WEBPUSH_HEADER_LEN + plaintext.len + 1 + 16);
    if (!rc) {
        uint8_t head[WEBPUSH_HEADER_LEN];
        memcpy(head, salt, 16);
        head[16] = (uint8_t)(WEBPUSH_RECORD_SIZE >> 24);
        head[17] = (uint8_t)(WEBPUSH_RECORD_SIZE >> 16);
        head[18] = (uint8_t)(WEBPUSH_RECORD_SIZE >> 8);
        head[19] = (uint8_t)WEBPUSH_RECORD_SIZE;
        head[20] = 65;
        memcpy(head + 21, as_public, 65);
        rc = buf_append(out, head, sizeof(head));
    }
    if (!rc && !seal(cek, nonce, plaintext, out))
        rc = RC_INTERNAL;
    secure_zero(cek, sizeof(cek));
    secure_zero(nonce, sizeof(nonce));
    if (rc)
        out->len = start;
    return rc;
}

/* ---- VAPID ----------------------------------------------------------------- */

/* The origin of an http(s) URL: scheme "://" authority. */
static bool origin_of(struct str url, struct str *out)
{
    size_t skip = str_has_prefix(url, STR_LIT("https://"))  ? 8
                  : str_has_prefix(url, STR_LIT("http://")) ? 7
                                                            : 0;
    if (!skip || url.len == skip)
        return false;
    size_t end = skip;
    while (end < url.len && url.ptr[end] != '/' && url.ptr[end] != '?' && url.ptr[end] != '#')
        end++;
    for (size_t i = skip; i < end; i++) {
        unsigned char c = (unsigned char)url.ptr[i];
        if (c <= 0x20 || c >= 0x7f || c == '@' || c == '"' || c == '\\')
            return false;
    }
    if (end == skip)
        return false;
    *out = (struct str){url.ptr, end};
    return true;
}

enum rc webpush_vapid_public(struct str pem, struct buf *out)
{
    uint8_t pub[65];
    return jws_p256_public(pem, pub) == RC_OK ? b64_encode_buf(B64_URL, pub, sizeof(pub), out)
                                              : RC_INVALID;
}

enum rc webpush_vapid_auth(struct str pem, struct str endpoint, const char *subject, int64_t now_s,
                           struct buf *out)
{
    struct str origin;
    if (!origin_of(endpoint, &origin) || !subject || !subject[0] || strlen(subject) > 512 ||
        strpbrk(subject, "\"\\") || origin.len > 512)
        return RC_INVALID;
    char claims[1200];
    int n =
        snprintf(claims, sizeof(claims), "{\"aud\":\"%.*s\",\"exp\":%lld,\"sub\":\"%s\"}",
                 (int)origin.len, origin.ptr, (long long)(now_s + WEBPUSH_VAPID_TTL_S), subject);
    if (n < 0 || (size_t)n >= sizeof(claims))
        return RC_INVALID;
    size_t start = out->len;
    enum rc rc = buf_append_cstr(out, "vapid t=");
    if (!rc)
        rc = jws_sign_es256(pem, NULL, (struct str){claims, (size_t)n}, out);
    if (!rc)
        rc = buf_append_cstr(out, ", k=");
    if (!rc)
        rc = webpush_vapid_public(pem, out);
    if (rc)
        out->len = start;
    return rc;
}

enum rc webpush_vapid_generate(struct buf *out)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    BIO *bio = pkey ? BIO_new(BIO_s_mem()) : NULL;
    enum rc rc = RC_INTERNAL;
    if (bio && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1) {
        char *p;
        long n = BIO_get_mem_data(bio, &p);
        rc = n > 0 ? buf_append(out, p, (size_t)n) : RC_INTERNAL;
    }
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return rc;
}
