/* token.h -- PocketBase-compatible JWTs, HS256 (layer: core; spec §6.1).
 *
 * A token is header.payload.signature, each segment base64url without
 * padding. The header is always {"alg":"HS256","typ":"JWT"}; the payload holds
 * type, id, collectionId, an integer exp (Unix seconds), refreshable (auth
 * tokens only) and optional email / newEmail, with keys sorted and compact, as
 * PocketBase (Go maps) and Python's json.dumps(sort_keys) write them.
 *
 * The signing key depends on the token: PocketBase signs with the record's
 * tokenKey followed by the collection's secret for that token kind (bench mode:
 * one shared secret). Hence two steps:
 *   1. core_token_peek() decodes the payload WITHOUT checking anything that
 *      makes it trustworthy, only to learn which record and collection the
 *      token claims, hence which key to fetch;
 *   2. core_token_verify() checks the signature with that key in constant time
 *      BEFORE parsing the payload, then the header's alg (exactly "HS256": no
 *      "none", no algorithm confusion) and the claims, including exp > now.
 * Only claims returned by core_token_verify() may be acted upon.
 *
 * Tokens longer than CORE_TOKEN_MAX_LEN are refused before any decoding.
 * Pure CPU (one HMAC, one small JSON parse): fine on an event loop. All
 * functions are thread-safe once secure_init() has run; a claims struct
 * belongs to the thread that filled it. */
#ifndef TARMAC_CORE_TOKEN_H
#define TARMAC_CORE_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

/* Longest token accepted or produced, in bytes (PocketBase's are ~250). */
#define CORE_TOKEN_MAX_LEN 8192

/* The claims of spec §6.1. As the input of core_token_sign() every slice is
 * borrowed for the call; as the output of peek/verify, every slice points into
 * the decoded payload that the struct owns: valid until
 * core_token_claims_cleanup(). */
struct core_token_claims {
    struct str type;          /* "auth", "file", "verification", "passwordReset", ... */
    struct str id;            /* the record's id */
    struct str collection_id; /* the record's collection id */
    int64_t exp;              /* expiry, Unix seconds */
    bool is_refreshable;      /* "refreshable"; written for type "auth" only */
    struct str email;         /* ptr NULL: no "email" claim */
    struct str new_email;     /* ptr NULL: no "newEmail" claim */
    /* sign only: further claims to add (borrowed; NULL for none). Must be an
     * object whose keys are none of the above. Set to NULL by peek/verify. */
    const json_t *extra;
    json_t *_payload; /* peek/verify output: owns the strings above */
};

/* Appends a signed token for claims to out. Signs with key, of any length
 * (PocketBase: tokenKey + collection secret). type, id and collection_id must
 * be non-empty; every string must be UTF-8 without NUL. The characters '>',
 * '?', '~' are written \u-escaped so that the payload segment never holds
 * '-' or '_' (the JS SDK decodes it with atob(), spec §6.1).
 * RC_INVALID for a bad claim (out unchanged); RC_TOO_LARGE when the token
 * would pass CORE_TOKEN_MAX_LEN or out's maximum; RC_NOMEM. Borrows claims
 * and key; on error out is as it was. Thread-safe. */
enum rc core_token_sign(const struct core_token_claims *claims, struct str key, struct buf *out);

/* Decodes token's payload into *out WITHOUT verifying the signature, the
 * header or exp: the result is attacker-controlled and must only be used to
 * choose the verification key (never for an authorisation decision, never
 * logged as an identity). Requires the compact shape (three segments), strict
 * base64url, and a JSON object payload with string type, id and collectionId
 * (a missing or non-integer exp reads as 0). RC_UNAUTHORIZED for anything
 * malformed or oversized; RC_NOMEM. On success free *out with
 * core_token_claims_cleanup(); on error *out is empty (cleanup is harmless).
 * Borrows token. */
enum rc core_token_peek(struct str token, struct core_token_claims *out);

/* Verifies token under key at time now (Unix seconds) and fills *out with its
 * claims. In order: at most CORE_TOKEN_MAX_LEN bytes, exactly three segments,
 * each canonical base64url without padding, a 32-byte signature equal (in
 * constant time) to HMAC-SHA256(key, "header.payload"); only then a header
 * object (no duplicate keys) with alg exactly "HS256" and no "crit"; a payload
 * object (no duplicate keys) with non-empty string type, id, collectionId, an
 * integer exp > now, refreshable a bool if present, email / newEmail strings
 * if present. The caller still checks the type and that id/collectionId are
 * the record whose key it passed.
 * RC_UNAUTHORIZED for every reason a token is bad (the API downgrades to a
 * guest either way; a reason is not given, so as not to help forgers);
 * RC_NOMEM. On success free *out with core_token_claims_cleanup(); on error
 * *out is empty. Borrows token and key. */
enum rc core_token_verify(struct str token, struct str key, int64_t now,
                          struct core_token_claims *out);

/* True when the claims' type equals type (e.g. "auth"). */
bool core_token_claims_is_type(const struct core_token_claims *c, const char *type);

/* Returns the payload's claim name, or NULL when absent (or when c was not
 * filled by peek/verify). Borrowed from c: valid until its cleanup. */
const json_t *core_token_claims_find(const struct core_token_claims *c, const char *name);

/* Releases what peek/verify put in c and leaves it empty. Accepts an empty or
 * already cleaned struct. */
void core_token_claims_cleanup(struct core_token_claims *c);

#endif
