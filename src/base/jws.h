/* jws.h -- signed JSON Web Tokens: the compact JWS form (RFC 7515 §7.1)
 * checked against a JWK Set, the registered claims of a JWT (RFC 7519
 * §4.1) checked against what the caller expects, and ES256 signing from a
 * PEM private key (layer: base).
 *
 * An OpenID Connect id_token is such a token: jws_parse splits and decodes
 * it, jws_verify checks its signature with the issuer's keys (base/jwk.h),
 * jws_check_claims its issuer, audience and times. Only RS256, ES256 and
 * EdDSA are ever verified: "none", the HMAC algorithms (whose key would be
 * the public one an attacker also has) and anything else are refused by
 * name, whatever the key set holds; a header listing "crit" extensions is
 * refused (none is understood); keys named by the token (jwk, jku, x5u) are
 * never used. Header and payload must be JSON objects without duplicate
 * members (two "aud" would be read differently by different parsers).
 *
 * Signing (jws_sign_es256, jws_sign_rs256) is for tokens a provider wants
 * from us: Sign in with Apple's client secret, APNs' provider token, VAPID
 * (ES256), a Google service account's OAuth2 assertion (RS256). Pure apart from allocation;
 * thread-safe. */
#ifndef TARMAC_BASE_JWS_H
#define TARMAC_BASE_JWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/jwk.h"
#include "base/rc.h"
#include "base/str.h"

#define JWS_MAX_BYTES (16 * 1024) /* an id_token is 1-2 KiB */

enum jws_result {
    JWS_OK,
    JWS_MALFORMED,       /* not header.payload.signature of base64url JSON objects */
    JWS_ALG_REFUSED,     /* alg none, HS*, PS*, unknown; or crit present */
    JWS_UNKNOWN_KEY,     /* no key of the set has the token's kid and fits its alg */
    JWS_BAD_SIGNATURE,   /* the key does not verify the signature */
    JWS_EXPIRED,         /* exp missing, or past (beyond the leeway) */
    JWS_NOT_YET_VALID,   /* nbf or iat in the future (beyond the leeway) */
    JWS_BAD_ISSUER,      /* iss missing or not one of the expected */
    JWS_BAD_AUDIENCE,    /* aud missing or none of its values expected */
    JWS_MISSING_SUBJECT, /* sub missing, empty or not a string */
};

/* A parsed compact JWS. The slices point into the text given to jws_parse,
 * which must outlive the struct; header and payload are owned. */
struct jws_token {
    json_t *header;
    json_t *payload;
    enum jwk_alg alg;
    const char *kid;                         /* the header's kid (in header), NULL when absent */
    struct str signing_input;                /* "<header>.<payload>" as sent */
    unsigned char sig[JWK_RSA_MAX_BITS / 8]; /* the longest signature verified */
    size_t sig_len;
};

/* What jws_check_claims expects of a token's payload. */
struct jws_expect {
    const char *const *issuers; /* iss must equal one; issuer_count 0: iss is not checked */
    size_t issuer_count;
    const char *const *audiences; /* aud (a string or an array) must hold one; at least one */
    size_t audience_count;
    int64_t now_s;    /* Unix seconds */
    int64_t leeway_s; /* clock skew allowed on exp, nbf and iat */
};

/* A short English sentence for r ("The token has expired."). */
const char *jws_result_message(enum jws_result r);

/* Splits and decodes token into t (the caller's; release with
 * jws_token_cleanup, whatever the result). JWS_MALFORMED for anything but
 * three base64url parts (no padding) of which the first two are JSON objects
 * without duplicate members and the last a signature of at most
 * JWK_RSA_MAX_BITS / 8 bytes, or past JWS_MAX_BYTES in all; JWS_ALG_REFUSED
 * when alg is absent, not one verified here, or "crit" is present. Borrows
 * token (t's slices point into it). */
enum jws_result jws_parse(struct str token, struct jws_token *t);
void jws_token_cleanup(struct jws_token *t);

/* Checks t's signature with the key of keys its kid names (or the only key
 * fit for its alg when it has no kid): JWS_UNKNOWN_KEY when there is none,
 * JWS_BAD_SIGNATURE when that key does not verify it. */
enum jws_result jws_verify(const struct jws_token *t, const struct jwk_set *keys);

/* Checks payload's registered claims: exp present and not past, nbf and iat
 * (when present) not in the future, all within e->leeway_s; iss among
 * e->issuers (when any); aud holding one of e->audiences; sub a non-empty
 * string. Numbers may be integers or reals. The first failure is returned. */
enum jws_result jws_check_claims(json_t *payload, const struct jws_expect *e);

/* Appends the compact JWS of payload_json (a JSON object's text) signed
 * with ES256 (RFC 7518 §3.4: R || S) by the EC P-256 private key in pem
 * (PKCS #8 "PRIVATE KEY", as Apple's .p8 files, or SEC 1 "EC PRIVATE KEY";
 * never encrypted) to out, with the header {"alg":"ES256","kid":kid,
 * "typ":"JWT"} (no kid when kid is NULL or ""). RC_INVALID when pem holds no
 * such key; RC_TOO_LARGE or RC_NOMEM from out. Borrows everything. */
enum rc jws_sign_es256(struct str pem, const char *kid, struct str payload_json, struct buf *out);
/* The same signed with RS256 (RSASSA-PKCS1-v1_5 with SHA-256) by the RSA
 * private key in pem (2048 bits or more; PKCS #8 as in a Google service
 * account's "private_key", or PKCS #1 "RSA PRIVATE KEY"): FCM's OAuth2
 * assertion. */
enum rc jws_sign_rs256(struct str pem, const char *kid, struct str payload_json, struct buf *out);
/* The uncompressed public point (0x04 || X || Y) of the EC P-256 private
 * key in pem (as jws_sign_es256 reads it); RC_INVALID when pem holds none. */
enum rc jws_p256_public(struct str pem, uint8_t out[65]);

#endif
