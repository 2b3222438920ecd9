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

/* Fills u from a user-info object (borrowed) the way a provider shapes it. */
typedef void core_oauth2_map_fn(json_t *info, struct core_oauth2_user *u);

struct core_oauth2_provider {
    const char *name;         /* as in the collection options: "google" */
    const char *display_name; /* "Google" */
    const char *auth_url;     /* "" = must be configured (generic OpenID Connect) */
    const char *token_url;
    const char *user_info_url;
    const char *scopes; /* space-separated */
    bool is_pkce;       /* default when the options leave pkce null */
    /* GitHub: where the verified addresses are when the profile has none. */
    const char *emails_url;
    core_oauth2_map_fn *map;
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
    /* PocketBase's per-provider `extra` settings: no provider here reads
     * any, so a non-empty `extra` is refused (never accepted and ignored)
     * and it is always written as null. */
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

/* Applies the `oauth2` object in (borrowed; NULL or absent: nothing changes)
 * to o. A provider named again keeps its stored clientSecret when the input
 * omits it (the collection JSON never shows it). A provider's `extra` other
 * than null or {} is refused (none is read yet). Problems go to p under
 * "oauth2.…"; o is then in some valid state. */
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
/* Frees the strings of u and its raw object; leaves it zeroed. */
void core_oauth2_user_cleanup(struct core_oauth2_user *u);

#endif
