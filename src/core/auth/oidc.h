/* oidc.h -- OpenID Connect for the OAuth2 sign-in (layer: core, auth/):
 * discovery documents and JWK Sets fetched, cached and refreshed, id_tokens
 * verified with them, and the name Sign in with Apple posts once.
 *
 * One struct core_oidc per app (core_app.oidc), shared by every thread under
 * one mutex that is never held across the network. Discovery documents
 * (OpenID Connect Discovery 1.0 §4) and key sets (a provider's jwks_uri) are
 * cached by URL for CORE_OIDC_TTL_MS; an expired entry that cannot be
 * fetched again is still used (a provider's short outage must not stop
 * sign-ins). A token signed with a key the cached set lacks (a rotation)
 * makes the set be fetched once more, at most once per
 * CORE_OIDC_REFRESH_MIN_MS per URL whoever asks, so tokens with made-up kids
 * cannot turn the server into a flood of requests to the provider.
 *
 * Everything that may fetch blocks on the network: the offload pool only
 * (api/auth_oauth2.c runs it there, as the code exchange). The lookups that
 * never fetch (core_oidc_discovery_cached, the Apple name) may run anywhere. */
#ifndef TARMAC_CORE_AUTH_OIDC_H
#define TARMAC_CORE_AUTH_OIDC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"

#define CORE_OIDC_TTL_MS (60 * 60 * 1000) /* a document or key set is fresh this long */
#define CORE_OIDC_REFRESH_MIN_MS 2000     /* between two fetches of one URL */
#define CORE_OIDC_LEEWAY_S 60             /* clock skew allowed on exp, nbf, iat */
#define CORE_OIDC_MAX_ENTRIES 64          /* cached URLs; the oldest goes first */
#define CORE_OIDC_NAME_TTL_MS (60 * 1000) /* an Apple name waits this long for its code */
#define CORE_OIDC_MAX_NAMES 1024          /* Apple names waiting; the oldest goes first */

struct core_oidc;

/* The parts of a discovery document sign-in uses; strings owned, "" when
 * the document has none. */
struct core_oidc_discovery {
    char *issuer;
    char *authorization_endpoint;
    char *token_endpoint;
    char *jwks_uri;
};

/* What an id_token must satisfy (borrowed for the call). */
struct core_oidc_expect {
    const char *jwks_url; /* "": no keys known, the signature is not checked */
    const char *const *issuers;
    size_t issuer_count; /* 0: iss is not checked */
    const char *const *audiences;
    size_t audience_count; /* at least one */
};

struct core_oidc *core_oidc_new(void);
/* Frees o and everything cached; accepts NULL. No call may be running. */
void core_oidc_free(struct core_oidc *o);

/* Copies the cached document of url into out (fresh or not); false when
 * none was ever fetched. Never fetches; any thread. */
bool core_oidc_discovery_cached(struct core_oidc *o, const char *url,
                                struct core_oidc_discovery *out);
/* The document of url into out: the cached one while fresh, else fetched
 * (http(s), at most 256 KiB, 10 s). RC_OK; RC_IO when it cannot be fetched
 * and none is cached; RC_INVALID when the answer is no JSON object, lacks
 * issuer or jwks_uri, or (for a URL ending in
 * /.well-known/openid-configuration) names an issuer other than the URL's
 * prefix (Discovery §4.3). Blocks: the offload pool only. */
enum rc core_oidc_discover(struct core_oidc *o, const char *url, struct core_oidc_discovery *out);
void core_oidc_discovery_cleanup(struct core_oidc_discovery *d);

/* Verifies id_token: its signature with e->jwks_url's keys (fetched or
 * refreshed as the file comment says) unless that is "", then its claims
 * (base/jws.h: exp, nbf, iat with CORE_OIDC_LEEWAY_S, iss, aud, sub). RC_OK
 * with *claims (owned: json_decref); RC_INVALID with *reason, a static
 * sentence saying what is wrong; RC_IO when the keys cannot be fetched
 * (*reason says so). Blocks: the offload pool only. */
enum rc core_oidc_verify(struct core_oidc *o, const char *id_token,
                         const struct core_oidc_expect *e, json_t **claims, const char **reason);

/* Keeps name ("First Last" from the `user` field Apple posts to the
 * redirect, once) for the code exchange of code, for CORE_OIDC_NAME_TTL_MS.
 * Any thread; copies both. */
void core_oidc_name_put(struct core_oidc *o, const char *code, const char *name);
/* The name kept for code, removed (xfree it); NULL when there is none or
 * it expired. Any thread. */
char *core_oidc_name_take(struct core_oidc *o, const char *code);

#endif
