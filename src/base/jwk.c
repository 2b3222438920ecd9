/* jwk.c -- see jwk.h. The key members are RFC 7518 §6's: RSA "n" and "e"
 * (§6.3.1), EC "crv", "x" and "y" (§6.2.1), OKP "crv" and "x" (RFC 8037
 * §2); all base64url of unsigned big-endian integers or octets. Keys are
 * built with OpenSSL 3's EVP_PKEY_fromdata (the EC point is decoded, so one
 * off the curve is refused there) and checked with EVP_PKEY_public_check. */
#include "base/jwk.h"

#include <stdatomic.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include "base/alloc.h"
#include "base/b64.h"

enum kty { KTY_RSA, KTY_EC_P256, KTY_OKP_ED25519 };

struct jwk {
    char *kid;        /* NULL: none */
    enum kty kty;     /* the type, with the curve for EC and OKP */
    enum jwk_alg alg; /* the key's own "alg"; JWK_ALG_UNSUPPORTED: absent */
    EVP_PKEY *pkey;   /* RSA and EC */
    unsigned char ed25519[crypto_sign_PUBLICKEYBYTES];
    size_t rsa_bytes; /* the modulus's length: RS256 signatures are as long */
};

struct jwk_set {
    atomic_int refs;
    size_t count;
    struct jwk keys[];
};

static const struct {
    const char *name;
    enum jwk_alg alg;
} algs[] = {{"RS256", JWK_ALG_RS256}, {"ES256", JWK_ALG_ES256}, {"EdDSA", JWK_ALG_EDDSA}};

enum jwk_alg jwk_alg_of(struct str alg)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (str_eq(alg, str_from_cstr(algs[i].name)))
            return algs[i].alg;
    }
    return JWK_ALG_UNSUPPORTED;
}

const char *jwk_alg_name(enum jwk_alg alg)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (algs[i].alg == alg)
            return algs[i].name;
    }
    return "";
}

/* -------------------------------------------------------------------------
 * Members
 * ------------------------------------------------------------------------- */

/* Decodes the base64url member key of j into dst (cap bytes); *len is its
 * length. A trailing '=' or two is tolerated (some publishers pad, as
 * PocketBase's reader also allows); anything else off the alphabet is not. */
static bool member_bytes(json_t *j, const char *key, unsigned char *dst, size_t cap, size_t *len)
{
    const char *v = json_string_value(json_object_get(j, key));
    if (!v)
        return false;
    struct str s = {v, strlen(v)};
    for (int i = 0; i < 2 && s.len && s.ptr[s.len - 1] == '='; i++)
        s.len--;
    return s.len && b64_decode(B64_URL, s, dst, cap, len) == RC_OK;
}

static bool member_is(json_t *j, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(j, key));
    return v && strcmp(v, want) == 0;
}

/* RFC 7517 §4.2/§4.3: a key meant for encryption, or whose operations leave
 * out "verify", must not check signatures. */
static bool is_for_signatures(json_t *j)
{
    json_t *use = json_object_get(j, "use");
    if (use && !member_is(j, "use", "sig"))
        return false;
    json_t *ops = json_object_get(j, "key_ops");
    if (!ops)
        return true;
    for (size_t i = 0; i < json_array_size(ops); i++) {
        const char *op = json_string_value(json_array_get(ops, i));
        if (op && strcmp(op, "verify") == 0)
            return true;
    }
    return false;
}

/* Builds an EVP_PKEY of type name ("RSA", "EC") from bld's parameters and
 * checks it; NULL when OpenSSL refuses either. Frees bld. */
static EVP_PKEY *pkey_from(const char *name, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = bld ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, name, NULL) : NULL;
    EVP_PKEY *pkey = NULL;
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    if (!pkey)
        return NULL;
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    bool is_ok = check && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!is_ok) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}

static bool parse_rsa(json_t *j, struct jwk *k)
{
    unsigned char n[JWK_RSA_MAX_BITS / 8 + 1], e[8];
    size_t n_len, e_len;
    if (!member_bytes(j, "n", n, sizeof(n), &n_len) || !member_bytes(j, "e", e, sizeof(e), &e_len))
        return false;
    size_t skip = 0;
    while (skip < n_len && n[skip] == 0)
        skip++; /* a leading zero octet some encoders add (RFC 7518 §6.3.1.1 forbids it) */
    n_len -= skip;
    size_t bits = n_len * 8;
    for (unsigned char top = n_len ? n[skip] : 0x80; !(top & 0x80); top <<= 1)
        bits--;
    if (bits < JWK_RSA_MIN_BITS || bits > JWK_RSA_MAX_BITS)
        return false;
    /* a public exponent of 3 to 2^32 - 1, odd: a larger one only slows
     * verification down, and no issuer uses one */
    size_t e_skip = 0;
    while (e_skip < e_len && e[e_skip] == 0)
        e_skip++;
    if (e_len - e_skip == 0 || e_len - e_skip > 4 || !(e[e_len - 1] & 1) ||
        (e_len - e_skip == 1 && e[e_len - 1] < 3))
        return false;
    BIGNUM *bn_n = BN_bin2bn(n + skip, (int)n_len, NULL);
    BIGNUM *bn_e = BN_bin2bn(e + e_skip, (int)(e_len - e_skip), NULL);
    OSSL_PARAM_BLD *bld = bn_n && bn_e ? OSSL_PARAM_BLD_new() : NULL;
    if (bld && (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
                !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))) {
        OSSL_PARAM_BLD_free(bld);
        bld = NULL;
    }
    k->pkey = pkey_from("RSA", bld);
    BN_free(bn_n);
    BN_free(bn_e);
    k->kty = KTY_RSA;
    k->rsa_bytes = n_len;
    return k->pkey != NULL;
}

static bool parse_ec(json_t *j, struct jwk *k)
{
    if (!member_is(j, "crv", "P-256"))
        return false;
    unsigned char point[65];
    size_t x_len, y_len;
    /* each coordinate the full 32 bytes (RFC 7518 §6.2.1.2, §6.2.1.3) */
    if (!member_bytes(j, "x", point + 1, 32, &x_len) || x_len != 32 ||
        !member_bytes(j, "y", point + 33, 32, &y_len) || y_len != 32)
        return false;
    point[0] = 0x04; /* uncompressed (SEC 1 §2.3.3) */
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld &&
        (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
         !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))) {
        OSSL_PARAM_BLD_free(bld);
        bld = NULL;
    }
    k->pkey = pkey_from("EC", bld);
    k->kty = KTY_EC_P256;
    return k->pkey != NULL;
}

static bool parse_okp(json_t *j, struct jwk *k)
{
    size_t len;
    k->kty = KTY_OKP_ED25519;
    return member_is(j, "crv", "Ed25519") &&
           member_bytes(j, "x", k->ed25519, sizeof(k->ed25519), &len) && len == sizeof(k->ed25519);
}

/* Fills k from the JWK object j; false (k left empty) when it is not a key
 * this module verifies with. */
static bool parse_key(json_t *j, struct jwk *k)
{
    memset(k, 0, sizeof(*k));
    if (!json_is_object(j))
        return false;
    json_t *kid = json_object_get(j, "kid");
    if (kid && !json_is_string(kid))
        return false;
    json_t *alg = json_object_get(j, "alg");
    if (alg && !json_is_string(alg))
        return false;
    if (alg) {
        k->alg = jwk_alg_of(str_from_cstr(json_string_value(alg)));
        if (k->alg == JWK_ALG_UNSUPPORTED)
            return false; /* meant for an algorithm never verified here (RS512, PS256, ...) */
    }
    if (!is_for_signatures(j))
        return false; /* an encryption key */
    bool is_ok = false;
    if (member_is(j, "kty", "RSA"))
        is_ok = parse_rsa(j, k);
    else if (member_is(j, "kty", "EC"))
        is_ok = parse_ec(j, k);
    else if (member_is(j, "kty", "OKP"))
        is_ok = parse_okp(j, k);
    if (is_ok && kid)
        k->kid = xstrdup(json_string_value(kid));
    if (!is_ok) {
        EVP_PKEY_free(k->pkey);
        memset(k, 0, sizeof(*k));
    }
    return is_ok;
}

/* -------------------------------------------------------------------------
 * Sets
 * ------------------------------------------------------------------------- */

enum rc jwk_set_parse(struct str json, struct jwk_set **out)
{
    if (json.len > JWK_SET_MAX_BYTES)
        return RC_TOO_LARGE;
    json_t *doc = json_loadb(json.ptr ? json.ptr : "", json.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_object(doc) || !json_is_array(keys)) {
        json_decref(doc);
        return RC_INVALID;
    }
    size_t n = json_array_size(keys);
    if (n > JWK_SET_MAX_KEYS)
        n = JWK_SET_MAX_KEYS;
    struct jwk_set *s = xcalloc(1, sizeof(*s) + n * sizeof(struct jwk));
    atomic_init(&s->refs, 1);
    for (size_t i = 0; i < n; i++) {
        if (parse_key(json_array_get(keys, i), &s->keys[s->count]))
            s->count++;
    }
    json_decref(doc);
    *out = s;
    return RC_OK;
}

struct jwk_set *jwk_set_ref(struct jwk_set *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void jwk_set_unref(struct jwk_set *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->count; i++) {
        EVP_PKEY_free(s->keys[i].pkey);
        xfree(s->keys[i].kid);
    }
    xfree(s);
}

size_t jwk_set_count(const struct jwk_set *s)
{
    return s ? s->count : 0;
}

const char *jwk_kid(const struct jwk *k)
{
    return k->kid ? k->kid : "";
}

static bool fits(const struct jwk *k, enum jwk_alg alg)
{
    if (k->alg != JWK_ALG_UNSUPPORTED && k->alg != alg)
        return false;
    switch (alg) {
    case JWK_ALG_RS256: return k->kty == KTY_RSA;
    case JWK_ALG_ES256: return k->kty == KTY_EC_P256;
    case JWK_ALG_EDDSA: return k->kty == KTY_OKP_ED25519;
    default: return false;
    }
}

const struct jwk *jwk_set_find(const struct jwk_set *s, const char *kid, enum jwk_alg alg)
{
    const struct jwk *found = NULL;
    for (size_t i = 0; s && i < s->count; i++) {
        const struct jwk *k = &s->keys[i];
        if (!fits(k, alg))
            continue;
        if (kid) {
            if (k->kid && strcmp(k->kid, kid) == 0)
                return k;
            continue;
        }
        if (found)
            return NULL; /* two candidates and no kid to choose */
        found = k;
    }
    return found;
}

/* -------------------------------------------------------------------------
 * Verification
 * ------------------------------------------------------------------------- */

static bool verify_evp(EVP_PKEY *pkey, struct str msg, const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool is_ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
                 EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)msg.ptr, msg.len) == 1;
    EVP_MD_CTX_free(md);
    return is_ok;
}

/* ES256's R || S as the DER ECDSA-Sig-Value libcrypto checks. */
static bool verify_es256(EVP_PKEY *pkey, struct str msg, const unsigned char *sig)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return false;
    }
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es); /* frees r and s */
    bool is_ok = der_len > 0 && verify_evp(pkey, msg, der, (size_t)der_len);
    OPENSSL_free(der);
    return is_ok;
}

bool jwk_verify(const struct jwk *k, enum jwk_alg alg, struct str msg, const unsigned char *sig,
                size_t sig_len)
{
    if (!k || !fits(k, alg))
        return false;
    switch (alg) {
    case JWK_ALG_RS256: return sig_len == k->rsa_bytes && verify_evp(k->pkey, msg, sig, sig_len);
    case JWK_ALG_ES256: return sig_len == 64 && verify_es256(k->pkey, msg, sig);
    case JWK_ALG_EDDSA:
        return sig_len == crypto_sign_BYTES &&
               crypto_sign_verify_detached(sig, (const unsigned char *)msg.ptr, msg.len,
                                           k->ed25519) == 0;
    default: return false;
    }
}
