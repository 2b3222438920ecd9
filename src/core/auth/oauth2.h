/* oauth2.h -- sign-in with an OAuth2 provider (layer: core, auth/).
 *
 * The authorization-code grant (RFC 6749 §4.1) with PKCE (RFC 7636), as
 * PocketBase runs it: auth-methods hands the client each provider's
 * authorization URL with a fresh state and code verifier; the client comes
 * back with a code; the server exchanges it at the token endpoint, reads the
 * user (the user-info endpoint, or for an OpenID provider without one the
 * id_token, whose signature, issuer, audience and times are checked when it
 * comes: core/auth/oidc.h) and finds or creates the record through the
 * `_externalAuths` links. The same steps serve an id_token a phone app got
 * from Google's or Apple's SDK (auth-with-id-token): it is verified instead
 * of exchanged. Both block on the network, so they run on the offload pool
 * (core_oauth2_exchange_run); finding and linking run on the worker's loop
 * and writer. */
#ifndef TARMAC_CORE_AUTH_OAUTH2_H
#define TARMAC_CORE_AUTH_OAUTH2_H

#include <jansson.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/record/exec_job.h"
#include "core/schema/collection.h"

#define CORE_EXTERNAL_AUTHS_ID "pbc_2281828961"
#define CORE_OAUTH2_VERIFIER_LEN 43 /* RFC 7636 §4.1: 43 to 128 characters */

/* The collection JSON of `_externalAuths` (spec §5.5), for the bootstrap. */
extern const char *const core_oauth2_external_auths_json;

/* A fresh state (30 characters), PKCE code verifier and its S256 challenge
 * (base64url of SHA-256 without padding), each NUL-terminated. */
void core_oauth2_pkce_new(char state[31], char verifier[CORE_OAUTH2_VERIFIER_LEN + 1],
                          char challenge[44]);
/* Appends the authorization URL of cfg to out: its endpoint (auth_endpoint
 * when not NULL or "": one found by discovery) with client_id,
 * code_challenge and method (when PKCE applies), the provider's
 * response_mode (Apple: form_post), response_type=code, scope and state,
 * ending in "&redirect_uri=" for the client to complete. RC_INVALID for an
 * unknown provider or no endpoint. */
enum rc core_oauth2_auth_url(const struct core_oauth2_config *cfg, const char *auth_endpoint,
                             const char *state, const char *challenge, struct buf *out);

struct core_oidc;

/* One sign-in's network part; the caller fills the inputs (borrowed, alive
 * until done) and reads the outputs after core_oauth2_exchange_run(). */
struct core_oauth2_exchange {
    const struct core_oauth2_config *cfg;
    struct core_oidc *oidc; /* the app's discovery and key cache */
    /* the code flow: code, its PKCE verifier, the redirect URL it came to */
    const char *code;
    const char *code_verifier;
    const char *redirect_url;
    /* auth-with-id-token instead: the client's id_token and the nonce it
     * gave the provider ("" none) */
    const char *id_token;
    const char *nonce;
    /* outputs (owned; core_oauth2_exchange_cleanup) */
    enum rc rc;         /* RC_OK, or RC_INVALID: the provider refused or answered nonsense */
    const char *reason; /* an id_token refused: what is wrong (static), else NULL */
    char *access_token;
    char *refresh_token;
    int64_t expiry; /* Unix seconds, 0 when the provider gave none */
    struct core_oauth2_user user;
};

/* Runs the code flow (token endpoint; the id_token, when one comes,
 * verified; the user from the user-info endpoint, GitHub's emails, or the
 * id_token; Apple's name kept from its redirect) or, with x->id_token, the
 * verification of the client's id_token against the provider's keys,
 * issuers and cfg's audiences (clientId and extra.audiences), with its
 * nonce: present in both or neither, the token's equal to x->nonce or to
 * its SHA-256 in hex (what Apple's and Firebase's SDKs put there). Blocks on
 * the network: the offload pool only. */
void core_oauth2_exchange_run(struct core_oauth2_exchange *x);
void core_oauth2_exchange_cleanup(struct core_oauth2_exchange *x);

/* Appends Sign in with Apple's client secret to out: an ES256 JWT signed
 * with the PKCS #8 key pem (Apple's .p8) under key_id, with iss team_id,
 * sub client_id, aud https://appleid.apple.com, iat now_s and exp now_s +
 * duration_s (Apple's "Creating a client secret"). RC_INVALID when pem is
 * no EC P-256 private key. */
enum rc core_oauth2_apple_secret(const char *team_id, const char *key_id, const char *client_id,
                                 struct str pem, int64_t duration_s, int64_t now_s,
                                 struct buf *out);

/* The record of col linked to (provider, provider_id), every field, into
 * *out (owned); NULL when there is none. Returns the read's error, if any.
 * Runs on cw's read connection. */
enum rc core_oauth2_find_linked(struct core_worker *cw, const struct core_collection *col,
                                const char *provider, const char *provider_id, json_t **out);
/* Fills job to insert the link of record_id of col to (provider,
 * provider_id); a link that exists already is left as it is. */
void core_oauth2_link_job(const struct core_collection *col, const char *record_id,
                          const char *provider, const char *provider_id, struct core_exec_job *job);

#endif
