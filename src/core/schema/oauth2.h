/* oauth2.h -- an auth collection's `oauth2` options and the OAuth2 providers
 * they may name (layer: core, schema/).
 *
 * The providers are one table of descriptions (name, display name, default
 * endpoints and scopes, PKCE, how the user-info JSON maps to an identity),
 * as libcurl describes a protocol by one Curl_handler entry: the exchange in
 * core/auth/oauth2.c reads the table and never switches on a name. The
 * options hold what a superuser configured per provider; clientSecret is
 * write-only (written only with_secrets, i.e. to storage). */
#ifndef TARMAC_CORE_SCHEMA_OAUTH2_H
#define TARMAC_CORE_SCHEMA_OAUTH2_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct jsonw;
struct core_problem;

/* Who a provider says the user is; every string owned (xfree), "" when
 * unknown. raw is the provider's user-info object (owned: json_decref). */
struct core_oauth2_user {
    char *id;
    char *name;
    char *username;
    char *email; /* only an address the provider reports as verified */
    char *avatar_url;
    json_t *raw;
};

/* Fills u from a user-info object, or an id_token's claims (borrowed), the
 * way a provider shapes it. */
typedef void core_oauth2_map_fn(json_t *info, struct core_oauth2_user *u);

/* The keys a provider's `extra` settings may hold (PocketBase's for the
 * OpenID Connect providers, jwksURL and issuers, and tarmac's own). */
enum core_oauth2_extra {
    CORE_OAUTH2_EXTRA_JWKS_URL = 1 << 0,      /* "jwksURL": the id_token keys */
    CORE_OAUTH2_EXTRA_ISSUERS = 1 << 1,       /* "issuers": accepted iss values */
    CORE_OAUTH2_EXTRA_AUDIENCES = 1 << 2,     /* "audiences": more accepted aud values */
    CORE_OAUTH2_EXTRA_DISCOVERY_URL = 1 << 3, /* "discoveryURL": OpenID Connect Discovery */
};

#define CORE_OAUTH2_MAX_LIST 16     /* items of issuers or audiences */
#define CORE_OAUTH2_MAX_PROVIDERS 8 /* entries of the provider table */

struct core_oauth2_provider {
    const char *name;         /* as in the collection options: "google" */
    const char *display_name; /* "Google" */
    const char *auth_url;     /* "" = must be configured (generic OpenID Connect) */
    const char *token_url;
    const char *user_info_url; /* "" with an id_token: the user is read from it */
    const char *scopes;        /* space-separated */
    bool is_pkce;              /* default when the options leave pkce null */
    /* GitHub: where the verified addresses are when the profile has none. */
    const char *emails_url;
    core_oauth2_map_fn *map;
    /* OpenID Connect: the provider issues id_tokens (then a nonce rides in
     * the authorization URL, the token endpoint's id_token is checked, and
     * auth-with-id-token accepts the provider's own). */
    bool has_id_token;
    const char *jwks_url;       /* its keys; "" = configured (extra) */
    const char *const *issuers; /* its iss values, NULL-terminated; NULL = configured */
    const char *response_mode;  /* authorization parameter ("form_post": Apple), or NULL */
    unsigned extra_keys;        /* enum core_oauth2_extra bits `extra` may hold */
};

/* One configured provider of a collection. Strings owned, never NULL. */
struct core_oauth2_config {
    char *name;
    char *client_id;
    char *client_secret; /* write-only */
    char *auth_url;      /* "" = the provider's default */
    char *token_url;
    char *user_info_url;
    char *display_name;
    int pkce; /* -1 null (the provider's default), 0 false, 1 true */
    /* PocketBase's per-provider `extra` settings, checked against the keys
     * the provider reads (any other is refused, naming it); NULL when none.
     * The parsed values below point into it. */
    json_t *extra;
    const char *jwks_url;      /* "" = the provider's default or discovery's */
    const char *discovery_url; /* "" = none */
    const char *issuers[CORE_OAUTH2_MAX_LIST];
    size_t issuer_count;
    const char *audiences[CORE_OAUTH2_MAX_LIST];
    size_t audience_count;
};

struct core_oauth2_options {
    bool is_enabled;
    struct core_oauth2_config *providers;
    size_t provider_count;
    /* mappedFields: the collection field each identity value goes to ("" none) */
    char *mapped_id;
    char *mapped_name;
    char *mapped_username;
    char *mapped_avatar;
};

/* The provider named name, NULL when there is none. */
const struct core_oauth2_provider *core_oauth2_provider_find(const char *name);
/* The i-th provider of the table, NULL past the last (listing them all). */
const struct core_oauth2_provider *core_oauth2_provider_at(size_t i);
/* The configured provider named name of o, NULL when there is none. */
const struct core_oauth2_config *core_oauth2_config_find(const struct core_oauth2_options *o,
                                                         const char *name);
/* Whether pkce applies to cfg (its own setting, else its provider's default). */
bool core_oauth2_config_is_pkce(const struct core_oauth2_config *cfg);
/* Whether cfg can check an id_token's signature and issuer without a
 * token endpoint's word for it (auth-with-id-token): its provider issues
 * id_tokens and knows, by default or by configuration, its keys and issuers
 * (or where to discover them). */
bool core_oauth2_config_is_id_token_ready(const struct core_oauth2_config *cfg);

/* Applies the `oauth2` object in (borrowed; NULL or absent: nothing changes)
 * to o. A provider named again keeps its stored clientSecret when the input
 * omits it (the collection JSON never shows it). A provider's `extra` must
 * be null or an object of the keys it reads (jwksURL and discoveryURL http(s)
 * URLs, issuers and audiences arrays of non-empty strings); an unknown key
 * is refused at "oauth2.providers.N.extra.<key>". With discoveryURL the
 * endpoint URLs may be left empty. Problems go to p under "oauth2.…"; o is
 * then in some valid state. */
void core_oauth2_options_parse(json_t *in, struct core_oauth2_options *o, struct core_problem *p);
/* Checks that each of o's mappedFields names a field: field_exists tells
 * whether the collection, as the change leaves it, has one of that name (so a
 * change that removes a mapped field is refused rather than stored broken). */
void core_oauth2_check_mapped(const struct core_oauth2_options *o,
                              bool (*field_exists)(const void *ctx, const char *name),
                              const void *ctx, struct core_problem *p);
/* Writes the `oauth2` key and its object; the client secrets only with_secrets. */
void core_oauth2_options_write(struct jsonw *w, const struct core_oauth2_options *o,
                               bool with_secrets);
/* Deep copy of from into to. */
void core_oauth2_options_copy(struct core_oauth2_options *to,
                              const struct core_oauth2_options *from);
/* Defaults of a new auth collection (PocketBase: name -> name, avatarURL -> avatar
 * when the collection has them; disabled). */
void core_oauth2_options_init(struct core_oauth2_options *o);
void core_oauth2_options_cleanup(struct core_oauth2_options *o);
#define CORE_OAUTH2_NAME_MAX 150 /* bytes of a name taken from Apple's redirect */

/* The name in the `user` field Sign in with Apple posts to the redirect on
 * a first sign-in ({"name":{"firstName":..,"lastName":..},"email":..}):
 * "First Last" trimmed, cut to CORE_OAUTH2_NAME_MAX bytes on a character
 * boundary (xfree it); NULL when the text holds no name. Pure. */
char *core_oauth2_apple_name(const char *user_json);

/* Frees the strings of u and its raw object; leaves it zeroed. */
void core_oauth2_user_cleanup(struct core_oauth2_user *u);

#endif
