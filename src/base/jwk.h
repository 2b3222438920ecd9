/* jwk.h -- JSON Web Keys and key sets (RFC 7517) for checking signatures
 * (layer: base).
 *
 * An OpenID provider publishes the public keys of its id_tokens as a JWK Set
 * ({"keys": [...]}, its jwks_uri). This module turns that document into
 * keys and checks a signature with one: RSA keys for RS256 (RFC 7518 §6.3,
 * PKCS #1 v1.5 with SHA-256) and EC P-256 keys for ES256 (§6.2, ECDSA with
 * SHA-256) through OpenSSL's libcrypto, which libsodium lacks; Ed25519 keys
 * for EdDSA (RFC 8037) through libsodium. Nothing else: no private keys, no
 * encryption keys, no certificates (x5c is ignored), no key fetched from a
 * URL a token names (jku, x5u).
 *
 * Parsing is strict per key and lenient per set, as RFC 7517 §5 asks: a key
 * of a type, curve or use this module does not verify with, or one that is
 * malformed (a short EC coordinate, an RSA modulus under 2048 bits, a point
 * off the curve), is left out of the set, never an error of the whole set.
 * A set is immutable once parsed and reference-counted, so a cache can hand
 * it to several threads and replace it while they verify. Pure apart from
 * allocation; thread-safe (libsodium must be initialised: secure_init). */
#ifndef TARMAC_BASE_JWK_H
#define TARMAC_BASE_JWK_H

#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"
#include "base/str.h"

#define JWK_SET_MAX_BYTES (256 * 1024) /* a real set is a few KiB */
#define JWK_SET_MAX_KEYS 64            /* keys past this many are not read */
#define JWK_RSA_MIN_BITS 2048          /* RFC 7518 §3.3 */
#define JWK_RSA_MAX_BITS 8192          /* bounds the cost of one verification */

/* The signature algorithms (JWS "alg", RFC 7518 §3.1, RFC 8037 §3.1) a key
 * can check. */
enum jwk_alg {
    JWK_ALG_UNSUPPORTED, /* none, HS256, PS256, RS512, ...: never verified */
    JWK_ALG_RS256,
    JWK_ALG_ES256,
    JWK_ALG_EDDSA, /* Ed25519 only */
};

struct jwk;
struct jwk_set;

/* The algorithm the JWS "alg" value alg names (case-sensitive, as RFC 7515
 * §4.1.1 says); JWK_ALG_UNSUPPORTED for anything else, "none" included. */
enum jwk_alg jwk_alg_of(struct str alg);
/* "RS256", "ES256", "EdDSA"; "" for JWK_ALG_UNSUPPORTED. */
const char *jwk_alg_name(enum jwk_alg alg);

/* Parses the JWK Set document json into *out (reference count 1; release
 * with jwk_set_unref). Keys this module cannot verify with are left out
 * (see the file comment); a set may so end up empty. RC_INVALID when json
 * is not a JSON object with a "keys" array, RC_TOO_LARGE past
 * JWK_SET_MAX_BYTES. Borrows json. */
enum rc jwk_set_parse(struct str json, struct jwk_set **out);
/* Takes one more reference to s; any thread. Returns s. */
struct jwk_set *jwk_set_ref(struct jwk_set *s);
/* Drops a reference; the last one frees the set. Accepts NULL. */
void jwk_set_unref(struct jwk_set *s);
/* The number of usable keys in s. */
size_t jwk_set_count(const struct jwk_set *s);

/* The key of s that may check a signature made with alg: the one whose kid
 * equals kid when kid is not NULL (keys without a kid never match), else the
 * only key of s fit for alg (NULL when there are several: which one signed
 * is unknown). A key fits alg when its type and curve do and its own "alg",
 * "use" and "key_ops", when present, allow it. NULL when none fits. The key
 * lives as long as s. */
const struct jwk *jwk_set_find(const struct jwk_set *s, const char *kid, enum jwk_alg alg);
/* The kid of k, "" when it has none. */
const char *jwk_kid(const struct jwk *k);

/* Whether sig[0..sig_len) is a valid alg signature of msg under k: RS256's
 * sig as long as the modulus, ES256's the 64 bytes R || S (RFC 7518
 * §3.4, not DER), EdDSA's 64 bytes. False too when k does not fit alg.
 * Thread-safe; never fails otherwise. */
bool jwk_verify(const struct jwk *k, enum jwk_alg alg, struct str msg, const unsigned char *sig,
                size_t sig_len);

#endif
