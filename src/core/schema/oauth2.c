/* oauth2.c -- see oauth2.h. Endpoints, scopes and user-info shapes are the
 * providers' documented ones, as PocketBase's tools/auth uses them. */
#include "core/schema/oauth2.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "base/str.h"
#include "base/utf8.h"
#include "core/problem.h"

/* -------------------------------------------------------------------------
 * User-info shapes
 * ------------------------------------------------------------------------- */

/* A string, or a number as text (GitHub and Facebook ids are numbers). */
static char *text_of(json_t *v)
{
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_integer(v)) {
        char n[32];
        snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(v));
        return xstrdup(n);
    }
    return xstrdup("");
}

static char *key_text(json_t *info, const char *key)
{
    return text_of(json_object_get(info, key));
}

static bool is_true(json_t *v)
{
    /* Some providers send "true" as a string (Apple, older Google). */
    return json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
}

/* OpenID Connect standard claims (OIDC Core §5.1): an email counts only
 * when email_verified says so. */
static void map_oidc(json_t *info, struct core_oauth2_user *u)
{
    u->id = key_text(info, "sub");
    u->name = key_text(info, "name");
    u->username = key_text(info, "preferred_username");
    u->email =
        is_true(json_object_get(info, "email_verified")) ? key_text(info, "email") : xstrdup("");
    u->avatar_url = key_text(info, "picture");
}

/* Google's userinfo v3 is OIDC shaped; v1/v2 say id and verified_email. */
static void map_google(json_t *info, struct core_oauth2_user *u)
{
    map_oidc(info, u);
    if (!u->id[0]) {
        xfree(u->id);
        u->id = key_text(info, "id");
    }
    if (!u->email[0] && is_true(json_object_get(info, "verified_email"))) {
        xfree(u->email);
        u->email = key_text(info, "email");
    }
}

/* GitHub's /user: the public email, if any, is verified; else the emails
 * endpoint is asked (core/auth/oauth2.c). */
static void map_github(json_t *info, struct core_oauth2_user *u)
{
    u->id = key_text(info, "id");
    u->name = key_text(info, "name");
    u->username = key_text(info, "login");
    u->email = key_text(info, "email");
    u->avatar_url = key_text(info, "avatar_url");
}

/* Microsoft Graph /me. */
static void map_microsoft(json_t *info, struct core_oauth2_user *u)
{
    u->id = key_text(info, "id");
    u->name = key_text(info, "displayName");
    u->username = xstrdup("");
    u->email = key_text(info, "mail");
    u->avatar_url = xstrdup("");
}

/* Facebook Graph /me?fields=name,email,picture.type(large). */
static void map_facebook(json_t *info, struct core_oauth2_user *u)
{
    u->id = key_text(info, "id");
    u->name = key_text(info, "name");
    u->username = xstrdup("");
    u->email = key_text(info, "email");
    json_t *pic = json_object_get(json_object_get(info, "picture"), "data");
    u->avatar_url = key_text(pic, "url");
}

/* Sign in with Apple has no user-info endpoint: the user is the id_token's
 * claims (sub, email, email_verified as a bool or a string). The name comes
 * only once, in the `user` field Apple posts to the redirect on the first
 * sign-in (api/auth_oauth2.c keeps it for the code exchange). */
static void map_apple(json_t *info, struct core_oauth2_user *u)
{
    u->id = key_text(info, "sub");
    u->name = key_text(info, "name"); /* never sent today; a future claim */
    u->username = xstrdup("");
    u->email =
        is_true(json_object_get(info, "email_verified")) ? key_text(info, "email") : xstrdup("");
    u->avatar_url = xstrdup("");
}

char *core_oauth2_apple_name(const char *user_json)
{
    json_t *user = json_loads(user_json ? user_json : "", JSON_REJECT_DUPLICATES, NULL);
    json_t *name = json_object_get(user, "name");
    const char *first = json_string_value(json_object_get(name, "firstName"));
    const char *last = json_string_value(json_object_get(name, "lastName"));
    char joined[2 * CORE_OAUTH2_NAME_MAX + 2];
    snprintf(joined, sizeof(joined), "%.*s %.*s", CORE_OAUTH2_NAME_MAX, first ? first : "",
             CORE_OAUTH2_NAME_MAX, last ? last : "");
    json_decref(user);
    struct str s = str_trim_ows(str_from_cstr(joined));
    if (s.len > CORE_OAUTH2_NAME_MAX)
        s.len = CORE_OAUTH2_NAME_MAX;
    /* a cut (here, or of a part above) may split a character: drop its
     * bytes (jansson decodes only valid UTF-8, so nothing else is invalid) */
    while (s.len && !utf8_is_valid(s.ptr, s.len))
        s.len--;
    s = str_trim_ows(s);
    if (!s.len)
        return NULL;
    return xstrndup(s.ptr, s.len);
}

/* The documented issuers of the providers' id_tokens: Google's two
 * spellings (developers.google.com/identity/openid-connect), Apple's one. */
static const char *const google_issuers[] = {"https://accounts.google.com", "accounts.google.com",
                                             NULL};
static const char *const apple_issuers[] = {"https://appleid.apple.com", NULL};

#define OIDC_EXTRA                                                                                 \
    (CORE_OAUTH2_EXTRA_JWKS_URL | CORE_OAUTH2_EXTRA_ISSUERS | CORE_OAUTH2_EXTRA_AUDIENCES |        \
     CORE_OAUTH2_EXTRA_DISCOVERY_URL)
#define KNOWN_ISSUER_EXTRA                                                                         \
    (CORE_OAUTH2_EXTRA_JWKS_URL | CORE_OAUTH2_EXTRA_ISSUERS | CORE_OAUTH2_EXTRA_AUDIENCES)

static const struct core_oauth2_provider providers[] = {
    {"oidc", "OpenID Connect", "", "", "", "openid email profile", true, NULL, map_oidc, true, "",
     NULL, NULL, OIDC_EXTRA},
    {"oidc2", "OpenID Connect 2", "", "", "", "openid email profile", true, NULL, map_oidc, true,
     "", NULL, NULL, OIDC_EXTRA},
    {"oidc3", "OpenID Connect 3", "", "", "", "openid email profile", true, NULL, map_oidc, true,
     "", NULL, NULL, OIDC_EXTRA},
    {"google", "Google", "https://accounts.google.com/o/oauth2/v2/auth",
     "https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v3/userinfo",
     "https://www.googleapis.com/auth/userinfo.profile "
     "https://www.googleapis.com/auth/userinfo.email",
     true, NULL, map_google, true, "https://www.googleapis.com/oauth2/v3/certs", google_issuers,
     NULL, KNOWN_ISSUER_EXTRA},
    {"apple", "Apple", "https://appleid.apple.com/auth/authorize",
     "https://appleid.apple.com/auth/token", "", "name email", true, NULL, map_apple, true,
     "https://appleid.apple.com/auth/keys", apple_issuers, "form_post", KNOWN_ISSUER_EXTRA},
    {"github", "GitHub", "https://github.com/login/oauth/authorize",
     "https://github.com/login/oauth/access_token", "https://api.github.com/user",
     "read:user user:email", true, "https://api.github.com/user/emails", map_github, false, "",
     NULL, NULL, 0},
    {"microsoft", "Microsoft", "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
     "https://login.microsoftonline.com/common/oauth2/v2.0/token",
     "https://graph.microsoft.com/v1.0/me", "User.Read", true, NULL, map_microsoft, false, "", NULL,
     NULL, 0},
    {"facebook", "Facebook", "https://www.facebook.com/v3.2/dialog/oauth",
     "https://graph.facebook.com/v3.2/oauth/access_token",
     "https://graph.facebook.com/me?fields=name,email,picture.type(large)", "email", true, NULL,
     map_facebook, false, "", NULL, NULL, 0},
};

_Static_assert(sizeof(providers) / sizeof(providers[0]) == CORE_OAUTH2_MAX_PROVIDERS,
               "CORE_OAUTH2_MAX_PROVIDERS counts the table");

const struct core_oauth2_provider *core_oauth2_provider_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof(providers) / sizeof(providers[0]); i++) {
        if (strcmp(providers[i].name, name) == 0)
            return &providers[i];
    }
    return NULL;
}

const struct core_oauth2_provider *core_oauth2_provider_at(size_t i)
{
    return i < sizeof(providers) / sizeof(providers[0]) ? &providers[i] : NULL;
}

const struct core_oauth2_config *core_oauth2_config_find(const struct core_oauth2_options *o,
                                                         const char *name)
{
    for (size_t i = 0; name && i < o->provider_count; i++) {
        if (strcmp(o->providers[i].name, name) == 0)
            return &o->providers[i];
    }
    return NULL;
}

bool core_oauth2_config_is_pkce(const struct core_oauth2_config *cfg)
{
    if (cfg->pkce >= 0)
        return cfg->pkce == 1;
    const struct core_oauth2_provider *p = core_oauth2_provider_find(cfg->name);
    return p && p->is_pkce;
}

bool core_oauth2_config_is_id_token_ready(const struct core_oauth2_config *cfg)
{
    const struct core_oauth2_provider *p = core_oauth2_provider_find(cfg->name);
    if (!p || !p->has_id_token)
        return false;
    if (cfg->discovery_url[0])
        return true;
    return (cfg->jwks_url[0] || p->jwks_url[0]) && (cfg->issuer_count || p->issuers);
}

void core_oauth2_user_cleanup(struct core_oauth2_user *u)
{
    xfree(u->id);
    xfree(u->name);
    xfree(u->username);
    xfree(u->email);
    xfree(u->avatar_url);
    json_decref(u->raw);
    memset(u, 0, sizeof(*u));
}

/* -------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------- */

static void config_cleanup(struct core_oauth2_config *c)
{
    xfree(c->name);
    xfree(c->client_id);
    if (c->client_secret)
        memset(c->client_secret, 0, strlen(c->client_secret));
    xfree(c->client_secret);
    xfree(c->auth_url);
    xfree(c->token_url);
    xfree(c->user_info_url);
    xfree(c->display_name);
    json_decref(c->extra);
    c->extra = NULL;
}

/* Points the parsed extra settings of c into c->extra (already checked:
 * the lists' items are strings, the URLs strings). */
static void config_bind_extra(struct core_oauth2_config *c)
{
    const char *v = json_string_value(json_object_get(c->extra, "jwksURL"));
    c->jwks_url = v ? v : "";
    v = json_string_value(json_object_get(c->extra, "discoveryURL"));
    c->discovery_url = v ? v : "";
    json_t *list = json_object_get(c->extra, "issuers");
    c->issuer_count = 0;
    for (size_t i = 0; i < json_array_size(list) && i < CORE_OAUTH2_MAX_LIST; i++)
        c->issuers[c->issuer_count++] = json_string_value(json_array_get(list, i));
    list = json_object_get(c->extra, "audiences");
    c->audience_count = 0;
    for (size_t i = 0; i < json_array_size(list) && i < CORE_OAUTH2_MAX_LIST; i++)
        c->audiences[c->audience_count++] = json_string_value(json_array_get(list, i));
}

static void config_copy(struct core_oauth2_config *to, const struct core_oauth2_config *from)
{
    to->name = xstrdup(from->name);
    to->client_id = xstrdup(from->client_id);
    to->client_secret = xstrdup(from->client_secret);
    to->auth_url = xstrdup(from->auth_url);
    to->token_url = xstrdup(from->token_url);
    to->user_info_url = xstrdup(from->user_info_url);
    to->display_name = xstrdup(from->display_name);
    to->pkce = from->pkce;
    to->extra = from->extra ? json_deep_copy(from->extra) : NULL;
    config_bind_extra(to);
}

void core_oauth2_options_init(struct core_oauth2_options *o)
{
    memset(o, 0, sizeof(*o));
    o->mapped_id = xstrdup("");
    o->mapped_name = xstrdup("");
    o->mapped_username = xstrdup("");
    o->mapped_avatar = xstrdup("");
}

void core_oauth2_options_cleanup(struct core_oauth2_options *o)
{
    for (size_t i = 0; i < o->provider_count; i++)
        config_cleanup(&o->providers[i]);
    xfree(o->providers);
    xfree(o->mapped_id);
    xfree(o->mapped_name);
    xfree(o->mapped_username);
    xfree(o->mapped_avatar);
    memset(o, 0, sizeof(*o));
}

void core_oauth2_options_copy(struct core_oauth2_options *to,
                              const struct core_oauth2_options *from)
{
    to->is_enabled = from->is_enabled;
    to->provider_count = from->provider_count;
    to->providers =
        xcalloc(from->provider_count ? from->provider_count : 1, sizeof(struct core_oauth2_config));
    for (size_t i = 0; i < from->provider_count; i++)
        config_copy(&to->providers[i], &from->providers[i]);
    to->mapped_id = xstrdup(from->mapped_id ? from->mapped_id : "");
    to->mapped_name = xstrdup(from->mapped_name ? from->mapped_name : "");
    to->mapped_username = xstrdup(from->mapped_username ? from->mapped_username : "");
    to->mapped_avatar = xstrdup(from->mapped_avatar ? from->mapped_avatar : "");
}

/* Adds an error at the path printf formats from fmt. */
static void field_error(struct core_problem *p, const char *code, const char *message,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void field_error(struct core_problem *p, const char *code, const char *message,
                        const char *fmt, ...)
{
    char path[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    core_problem_field(p, path, code, message, NULL);
}

/* Whether key of obj is absent, null or of type want (JSON_TRUE: a boolean);
 * else an error at prefix.key (a value of the wrong type is refused, not
 * ignored). */
static bool is_typed(json_t *obj, const char *key, json_type want, const char *what,
                     const char *prefix, struct core_problem *p)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v) || json_typeof(v) == want ||
        (want == JSON_TRUE && json_is_boolean(v)))
        return true;
    field_error(p, "validation_invalid_value", what, "%s.%s", prefix, key);
    return false;
}

/* The string at key of obj, "" when absent, null or not a string (refused). */
static char *string_at(json_t *obj, const char *key, const char *prefix, struct core_problem *p)
{
    (void)is_typed(obj, key, JSON_STRING, "Must be a string.", prefix, p);
    json_t *v = json_object_get(obj, key);
    return xstrdup(json_is_string(v) ? json_string_value(v) : "");
}

/* An http(s) URL or "" (a provider's default). */
static bool is_url_or_empty(const char *s)
{
    return !s[0] || strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* Whether the list at key of extra is an array of at most
 * CORE_OAUTH2_MAX_LIST non-empty strings; else an error at prefix.extra.key. */
static bool check_list(json_t *extra, const char *key, const char *prefix, struct core_problem *p)
{
    json_t *list = json_object_get(extra, key);
    bool is_ok = json_is_array(list) && json_array_size(list) <= CORE_OAUTH2_MAX_LIST;
    for (size_t i = 0; is_ok && i < json_array_size(list); i++) {
        const char *v = json_string_value(json_array_get(list, i));
        is_ok = v && v[0];
    }
    if (!is_ok)
        field_error(p, "validation_invalid_value",
                    "Must be a list of at most 16 non-empty strings.", "%s.extra.%s", prefix, key);
    return is_ok;
}

/* A provider's `extra` (null, or an object of the settings it reads) into
 * c->extra; every other key is refused by name, never stored and ignored. */
static void parse_extra(json_t *extra, const struct core_oauth2_provider *known, const char *prefix,
                        struct core_oauth2_config *c, struct core_problem *p)
{
    if (!extra || json_is_null(extra))
        return;
    if (!json_is_object(extra)) {
        field_error(p, "validation_invalid_value", "Must be an object or null.", "%s.extra",
                    prefix);
        return;
    }
    static const struct {
        const char *key;
        enum core_oauth2_extra bit;
        bool is_url;
    } settings[] = {
        {"jwksURL", CORE_OAUTH2_EXTRA_JWKS_URL, true},
        {"issuers", CORE_OAUTH2_EXTRA_ISSUERS, false},
        {"audiences", CORE_OAUTH2_EXTRA_AUDIENCES, false},
        {"discoveryURL", CORE_OAUTH2_EXTRA_DISCOVERY_URL, true},
    };
    bool is_bad = false;
    const char *key;
    json_t *v;
    json_object_foreach(extra, key, v)
    {
        size_t k = 0;
        while (k < sizeof(settings) / sizeof(settings[0]) && strcmp(settings[k].key, key) != 0)
            k++;
        if (k == sizeof(settings) / sizeof(settings[0]) || !(known->extra_keys & settings[k].bit)) {
            field_error(p, "validation_unsupported", "Not a setting of this provider.",
                        "%s.extra.%s", prefix, key);
            is_bad = true;
        } else if (settings[k].is_url) {
            const char *url = json_string_value(v);
            if (!url || !url[0] || !is_url_or_empty(url)) {
                field_error(p, "validation_is_url", "Must be a valid url.", "%s.extra.%s", prefix,
                            key);
                is_bad = true;
            }
        } else if (!check_list(extra, key, prefix, p)) {
            is_bad = true;
        }
    }
    if (is_bad || !json_object_size(extra))
        return;
    c->extra = json_deep_copy(extra);
    config_bind_extra(c);
}

static void parse_provider(json_t *pj, size_t i, const struct core_oauth2_options *old,
                           struct core_oauth2_config *c, struct core_problem *p)
{
    char at[48];
    snprintf(at, sizeof(at), "oauth2.providers.%zu", i);
    c->name = string_at(pj, "name", at, p);
    c->client_id = string_at(pj, "clientId", at, p);
    const struct core_oauth2_config *prev = core_oauth2_config_find(old, c->name);
    char *secret = string_at(pj, "clientSecret", at, p);
    if (secret[0] || !prev) {
        c->client_secret = secret;
    } else {
        c->client_secret = xstrdup(prev->client_secret);
        xfree(secret);
    }
    c->auth_url = string_at(pj, "authURL", at, p);
    c->token_url = string_at(pj, "tokenURL", at, p);
    c->user_info_url = string_at(pj, "userInfoURL", at, p);
    c->display_name = string_at(pj, "displayName", at, p);
    json_t *pkce = json_object_get(pj, "pkce");
    (void)is_typed(pj, "pkce", JSON_TRUE, "Must be a boolean.", at, p);
    c->pkce = json_is_boolean(pkce) ? json_is_true(pkce) : -1;
    config_bind_extra(c); /* nothing yet: every setting empty */
    const struct core_oauth2_provider *known = core_oauth2_provider_find(c->name);
    if (!known) {
        field_error(p, "validation_invalid_provider", "Unknown OAuth2 provider.", "%s.name", at);
        return;
    }
    parse_extra(json_object_get(pj, "extra"), known, at, c, p);
    if (!c->client_id[0])
        field_error(p, "validation_required", "Cannot be blank.", "%s.clientId", at);
    if (!c->client_secret[0])
        field_error(p, "validation_required", "Cannot be blank.", "%s.clientSecret", at);
    const char *keys[3] = {"authURL", "tokenURL", "userInfoURL"};
    const char *vals[3] = {c->auth_url, c->token_url, c->user_info_url};
    const char *defaults[3] = {known->auth_url, known->token_url, known->user_info_url};
    for (int k = 0; k < 3; k++) {
        /* discovery names the endpoints; without a user-info endpoint an
         * OpenID provider's user is its id_token (PocketBase's rule) */
        bool is_optional = c->discovery_url[0] || (k == 2 && known->has_id_token);
        if (!is_url_or_empty(vals[k]))
            field_error(p, "validation_is_url", "Must be a valid url.", "%s.%s", at, keys[k]);
        else if (!vals[k][0] && !defaults[k][0] && !is_optional)
            field_error(p, "validation_required", "Cannot be blank.", "%s.%s", at, keys[k]);
    }
}

static void replace(char **slot, json_t *obj, const char *key, struct core_problem *p)
{
    if (!is_typed(obj, key, JSON_STRING, "Must be a string.", "oauth2.mappedFields", p))
        return;
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return;
    xfree(*slot);
    *slot = xstrdup(json_string_value(v));
}

void core_oauth2_check_mapped(const struct core_oauth2_options *o,
                              bool (*field_exists)(const void *ctx, const char *name),
                              const void *ctx, struct core_problem *p)
{
    const char *keys[4] = {"id", "name", "username", "avatarURL"};
    const char *vals[4] = {o->mapped_id, o->mapped_name, o->mapped_username, o->mapped_avatar};
    for (int k = 0; k < 4; k++) {
        if (vals[k] && vals[k][0] && !field_exists(ctx, vals[k]))
            field_error(p, "validation_missing_field", "Missing collection field.",
                        "oauth2.mappedFields.%s", keys[k]);
    }
}

void core_oauth2_options_parse(json_t *in, struct core_oauth2_options *o, struct core_problem *p)
{
    if (!o->mapped_id)
        core_oauth2_options_init(o);
    if (!in || json_is_null(in))
        return;
    if (!json_is_object(in)) {
        core_problem_field(p, "oauth2", "validation_invalid_value", "Must be an object.", NULL);
        return;
    }
    json_t *enabled = json_object_get(in, "enabled");
    if (is_typed(in, "enabled", JSON_TRUE, "Must be a boolean.", "oauth2", p) &&
        json_is_boolean(enabled))
        o->is_enabled = json_is_true(enabled);
    json_t *mf = json_object_get(in, "mappedFields");
    if (is_typed(in, "mappedFields", JSON_OBJECT, "Must be an object.", "oauth2", p) &&
        json_is_object(mf)) {
        replace(&o->mapped_id, mf, "id", p);
        replace(&o->mapped_name, mf, "name", p);
        replace(&o->mapped_username, mf, "username", p);
        replace(&o->mapped_avatar, mf, "avatarURL", p);
    }
    json_t *list = json_object_get(in, "providers");
    if (!is_typed(in, "providers", JSON_ARRAY, "Must be an array.", "oauth2", p) ||
        !json_is_array(list))
        return;
    size_t n = json_array_size(list);
    /* each name may appear once and must be in the table: a longer list is
     * wrong, and refusing it early bounds the work below (n^2 name checks) */
    if (n > sizeof(providers) / sizeof(providers[0])) {
        core_problem_field(p, "oauth2.providers", "validation_length_too_long",
                           "More providers than there are.", NULL);
        return;
    }
    struct core_oauth2_options fresh = {0};
    fresh.providers = xcalloc(n ? n : 1, sizeof(struct core_oauth2_config));
    for (size_t i = 0; i < n; i++) {
        json_t *pj = json_array_get(list, i);
        json_t *empty = NULL;
        if (!json_is_object(pj)) {
            field_error(p, "validation_invalid_value", "Must be an object.", "oauth2.providers.%zu",
                        i);
            pj = empty = json_object();
        }
        struct core_oauth2_config *c = &fresh.providers[fresh.provider_count];
        parse_provider(pj, i, o, c, p);
        json_decref(empty);
        for (size_t k = 0; k < fresh.provider_count; k++) {
            if (strcmp(fresh.providers[k].name, c->name) == 0)
                field_error(p, "validation_duplicated_provider",
                            "The provider is already registered.", "oauth2.providers.%zu.name", i);
        }
        fresh.provider_count++;
    }
    for (size_t i = 0; i < o->provider_count; i++)
        config_cleanup(&o->providers[i]);
    xfree(o->providers);
    o->providers = fresh.providers;
    o->provider_count = fresh.provider_count;
}

void core_oauth2_options_write(struct jsonw *w, const struct core_oauth2_options *o,
                               bool with_secrets)
{
    jsonw_key_cstr(w, "oauth2");
    jsonw_object_begin(w);
    jsonw_key_cstr(w, "enabled");
    jsonw_bool(w, o->is_enabled);
    jsonw_key_cstr(w, "mappedFields");
    jsonw_object_begin(w);
    jsonw_key_cstr(w, "id");
    jsonw_string_cstr(w, o->mapped_id ? o->mapped_id : "");
    jsonw_key_cstr(w, "name");
    jsonw_string_cstr(w, o->mapped_name ? o->mapped_name : "");
    jsonw_key_cstr(w, "username");
    jsonw_string_cstr(w, o->mapped_username ? o->mapped_username : "");
    jsonw_key_cstr(w, "avatarURL");
    jsonw_string_cstr(w, o->mapped_avatar ? o->mapped_avatar : "");
    jsonw_object_end(w);
    jsonw_key_cstr(w, "providers");
    jsonw_array_begin(w);
    for (size_t i = 0; i < o->provider_count; i++) {
        const struct core_oauth2_config *c = &o->providers[i];
        jsonw_object_begin(w);
        jsonw_key_cstr(w, "name");
        jsonw_string_cstr(w, c->name);
        jsonw_key_cstr(w, "clientId");
        jsonw_string_cstr(w, c->client_id);
        if (with_secrets) {
            jsonw_key_cstr(w, "clientSecret");
            jsonw_string_cstr(w, c->client_secret);
        }
        jsonw_key_cstr(w, "authURL");
        jsonw_string_cstr(w, c->auth_url);
        jsonw_key_cstr(w, "tokenURL");
        jsonw_string_cstr(w, c->token_url);
        jsonw_key_cstr(w, "userInfoURL");
        jsonw_string_cstr(w, c->user_info_url);
        jsonw_key_cstr(w, "displayName");
        jsonw_string_cstr(w, c->display_name);
        jsonw_key_cstr(w, "pkce");
        if (c->pkce < 0)
            jsonw_null(w);
        else
            jsonw_bool(w, c->pkce == 1);
        jsonw_key_cstr(w, "extra");
        char *extra = c->extra ? json_dumps(c->extra, JSON_COMPACT) : NULL;
        if (extra)
            jsonw_raw(w, str_from_cstr(extra));
        else
            jsonw_null(w);
        xfree(extra);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
    jsonw_object_end(w);
}
