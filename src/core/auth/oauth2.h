/* oauth2.h -- sign-in with an OAuth2 provider (layer: core, auth/).
 *
 * The authorization-code grant (RFC 6749 §4.1) with PKCE (RFC 7636), as
 * PocketBase runs it: auth-methods hands the client each provider's
 * authorization URL with a fresh state and code verifier; the client comes
 * back with a code; the server exchanges it at the token endpoint, reads the
 * user-info endpoint and finds or creates the record through the
 * `_externalAuths` links. The exchange blocks on the network, so it runs on
 * the offload pool (core_oauth2_exchange_run); finding and linking run on
 * the worker's loop and writer. */
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
/* Appends the authorization URL of cfg to out: its endpoint with client_id,
 * code_challenge and method (when PKCE applies), response_type=code, scope
 * and state, ending in "&redirect_uri=" for the client to complete. */
enum rc core_oauth2_auth_url(const struct core_oauth2_config *cfg, const char *state,
                             const char *challenge, struct buf *out);

/* One code exchange; the caller fills the inputs (borrowed, alive until
 * done) and reads the outputs after core_oauth2_exchange_run(). */
struct core_oauth2_exchange {
    const struct core_oauth2_config *cfg;
    const char *code;
    const char *code_verifier;
    const char *redirect_url;
    /* outputs (owned; core_oauth2_exchange_cleanup) */
    enum rc rc; /* RC_OK, or RC_INVALID: the provider refused or answered nonsense */
    char *access_token;
    char *refresh_token;
    int64_t expiry; /* Unix seconds, 0 when the provider gave none */
    struct core_oauth2_user user;
};

/* Runs the exchange: token endpoint, then user info (and GitHub's emails).
 * Blocks on the network: the offload pool only. */
void core_oauth2_exchange_run(struct core_oauth2_exchange *x);
void core_oauth2_exchange_cleanup(struct core_oauth2_exchange *x);

/* The record of col linked to (provider, provider_id), every field; NULL
 * when there is none. Runs on cw's read connection. */
json_t *core_oauth2_find_linked(struct core_worker *cw, const struct core_collection *col,
                                const char *provider, const char *provider_id);
/* Fills job to insert the link of record_id of col to (provider,
 * provider_id); a link that exists already is left as it is. */
void core_oauth2_link_job(const struct core_collection *col, const char *record_id,
                          const char *provider, const char *provider_id, struct core_exec_job *job);

#endif
