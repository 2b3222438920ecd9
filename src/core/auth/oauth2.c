/* oauth2.c -- see oauth2.h. The request shapes follow RFC 6749 §4.1.3 (the
 * token request: form-encoded, client credentials in the body, as
 * PocketBase's golang.org/x/oauth2 falls back to) and RFC 7636 §4.5
 * (code_verifier). */
#include "core/auth/oauth2.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/chrono.h"
#include "base/jsonw.h"
#include "base/jws.h"
#include "base/log.h"
#include "base/secure.h"
#include "base/str.h"
#include "net/http_out.h"
#include "store/sql.h"
#include "store/store.h"
#include "core/auth/auth_int.h"
#include "core/auth/oidc.h"

#define MAX_RESPONSE (1u << 20) /* a token or user-info answer; real ones are < 10 KiB */
#define TIMEOUT_MS 15000

const char *const core_oauth2_external_auths_json =
    "{\"id\":\"" CORE_EXTERNAL_AUTHS_ID "\",\"name\":\"_externalAuths\",\"type\":\"base\","
    "\"listRule\":\"@request.auth.id != '' && recordRef = @request.auth.id && "
    "collectionRef = @request.auth.collectionId\","
    "\"viewRule\":\"@request.auth.id != '' && recordRef = @request.auth.id && "
    "collectionRef = @request.auth.collectionId\","
    "\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":\"@request.auth.id != '' && recordRef = @request.auth.id && "
    "collectionRef = @request.auth.collectionId\","
    "\"fields\":[{\"name\":\"collectionRef\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"recordRef\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"provider\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"providerId\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true,\"system\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true,"
    "\"system\":true}],"
    "\"indexes\":[\"CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` "
    "(`collectionRef`, `recordRef`, `provider`)\","
    "\"CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `_externalAuths` "
    "(`collectionRef`, `provider`, `providerId`)\"]}";

/* RFC 7636 §4.1's unreserved characters, less the punctuation some
 * providers mishandle (PocketBase draws from letters and digits too). */
static const struct str alnum =
    STR_LIT("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

void core_oauth2_pkce_new(char state[31], char verifier[CORE_OAUTH2_VERIFIER_LEN + 1],
                          char challenge[44])
{
    secure_random_string(alnum, state, 30);
    state[30] = '\0';
    secure_random_string(alnum, verifier, CORE_OAUTH2_VERIFIER_LEN);
    verifier[CORE_OAUTH2_VERIFIER_LEN] = '\0';
    unsigned char digest[32];
    secure_sha256(verifier, CORE_OAUTH2_VERIFIER_LEN, digest);
    size_t n = b64_encode(B64_URL, digest, sizeof(digest), challenge);
    challenge[n] = '\0'; /* 43 characters */
}

/* application/x-www-form-urlencoded value (RFC 3986 unreserved kept). */
static enum rc append_escaped(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    enum rc rc = RC_OK;
    for (; *s && !rc; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            rc = buf_append(out, s, 1);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rc = buf_append(out, e, 3);
        }
    }
    return rc;
}

static enum rc append_param(struct buf *out, const char *key, const char *value)
{
    enum rc rc = RC_OK;
    if (out->len)
        rc = buf_append(out, "&", 1);
    if (!rc)
        rc = buf_append(out, key, strlen(key));
    if (!rc)
        rc = buf_append(out, "=", 1);
    if (!rc)
        rc = append_escaped(out, value);
    return rc;
}

static const char *endpoint(const char *configured, const char *fallback)
{
    return configured && configured[0] ? configured : fallback;
}

enum rc core_oauth2_auth_url(const struct core_oauth2_config *cfg, const char *auth_endpoint,
                             const char *state, const char *challenge, struct buf *out)
{
    const struct core_oauth2_provider *p = core_oauth2_provider_find(cfg->name);
    if (!p)
        return RC_INVALID;
    const char *base = endpoint(cfg->auth_url, endpoint(auth_endpoint, p->auth_url));
    if (!base[0])
        return RC_INVALID;
    enum rc rc = buf_append(out, base, strlen(base));
    if (!rc)
        rc = buf_append(out, strchr(base, '?') ? "&" : "?", 1);
    /* keys in the order Go's url.Values.Encode sorts them (PocketBase) */
    struct buf q;
    buf_init(&q, 16384);
    if (!rc)
        rc = append_param(&q, "client_id", cfg->client_id);
    if (!rc && core_oauth2_config_is_pkce(cfg)) {
        rc = append_param(&q, "code_challenge", challenge);
        if (!rc)
            rc = append_param(&q, "code_challenge_method", "S256");
    }
    /* Apple posts the answer (with the user's name, once) to the redirect */
    if (!rc && p->response_mode)
        rc = append_param(&q, "response_mode", p->response_mode);
    if (!rc)
        rc = append_param(&q, "response_type", "code");
    if (!rc)
        rc = append_param(&q, "scope", p->scopes);
    if (!rc)
        rc = append_param(&q, "state", state);
    if (!rc)
        rc = buf_append(out, q.data, q.len);
    buf_cleanup(&q);
    if (!rc)
        rc = buf_append(out, "&redirect_uri=", 14);
    return rc;
}

enum rc core_oauth2_apple_secret(const char *team_id, const char *key_id, const char *client_id,
                                 struct str pem, int64_t duration_s, int64_t now_s, struct buf *out)
{
    struct buf claims;
    buf_init(&claims, 8192);
    struct jsonw w;
    jsonw_init(&w, &claims);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "iss");
    jsonw_string_cstr(&w, team_id);
    jsonw_key_cstr(&w, "iat");
    jsonw_int(&w, now_s);
    jsonw_key_cstr(&w, "exp");
    jsonw_int(&w, now_s + duration_s);
    jsonw_key_cstr(&w, "aud");
    jsonw_string_cstr(&w, "https://appleid.apple.com");
    jsonw_key_cstr(&w, "sub");
    jsonw_string_cstr(&w, client_id);
    jsonw_object_end(&w);
    enum rc rc = jsonw_finish(&w);
    if (!rc)
        rc = jws_sign_es256(pem, key_id, buf_str(&claims), out);
    buf_cleanup(&claims);
    return rc;
}

/* -------------------------------------------------------------------------
 * The exchange (offload pool)
 * ------------------------------------------------------------------------- */

/* The JSON a provider answered r with (a 2xx), else NULL. The endpoints
 * are the superuser's to choose, so they may be private (a company's own
 * identity provider): only the picture, the user's to choose, is checked
 * (api/auth_oauth2.c). */
static json_t *fetch_json(struct net_http_out_req *r)
{
    struct buf body;
    buf_init(&body, MAX_RESPONSE);
    r->response = &body;
    r->timeout_ms = TIMEOUT_MS;
    r->allow_private_network = true;
    struct net_http_out_resp resp;
    net_http_out_send(r, &resp);
    json_t *j = NULL;
    if (resp.fail == NET_HTTP_OUT_OK && resp.status >= 200 && resp.status < 300)
        j = json_loadb(body.data ? body.data : "", body.len, 0, NULL);
    buf_cleanup(&body);
    return j;
}

static char *dup_key(json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return xstrdup(v ? v : "");
}

/* GitHub: the primary verified address when the profile shows none. The
 * emails endpoint sits under the user endpoint (/user/emails), so an
 * overridden userInfoURL (GitHub Enterprise, a test double) moves it too. */
static void fetch_github_email(const struct core_oauth2_provider *p,
                               const struct core_oauth2_config *cfg, const char *auth_header,
                               struct core_oauth2_user *u)
{
    char url[2048];
    if (cfg->user_info_url[0])
        snprintf(url, sizeof(url), "%s/emails", cfg->user_info_url);
    else
        snprintf(url, sizeof(url), "%s", p->emails_url);
    struct net_http_out_req r = {.method = "GET",
                                 .url = url,
                                 .headers = {auth_header, "Accept: application/json"},
                                 .header_count = 2};
    json_t *list = fetch_json(&r);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        if (json_is_true(json_object_get(e, "verified")) &&
            json_is_true(json_object_get(e, "primary"))) {
            xfree(u->email);
            u->email = dup_key(e, "email");
            break;
        }
    }
    json_decref(list);
}

/* Where a sign-in goes: cfg's settings, else discovery's, else the
 * provider's defaults. The strings point into cfg, the provider table or
 * doc. */
struct route {
    const struct core_oauth2_provider *p;
    struct core_oidc_discovery doc;
    const char *token_url;
    const char *user_info_url; /* "": the user is the id_token */
    struct core_oidc_expect expect;
    const char *issuers[CORE_OAUTH2_MAX_LIST];
    const char *audiences[CORE_OAUTH2_MAX_LIST + 1];
};

static enum rc route_of(struct core_oauth2_exchange *x, struct route *r)
{
    const struct core_oauth2_config *cfg = x->cfg;
    memset(r, 0, sizeof(*r));
    r->p = core_oauth2_provider_find(cfg->name);
    if (!r->p)
        return RC_INVALID;
    bool has_doc = false;
    if (cfg->discovery_url[0]) {
        if (!x->oidc || core_oidc_discover(x->oidc, cfg->discovery_url, &r->doc) != RC_OK) {
            x->reason = "The provider's discovery document could not be fetched.";
            return RC_INVALID;
        }
        has_doc = true;
    }
    r->token_url = endpoint(cfg->token_url, has_doc ? r->doc.token_endpoint : r->p->token_url);
    r->user_info_url = endpoint(cfg->user_info_url, r->p->user_info_url);
    r->expect.jwks_url = endpoint(cfg->jwks_url, has_doc ? r->doc.jwks_uri : r->p->jwks_url);
    if (cfg->issuer_count) {
        for (size_t i = 0; i < cfg->issuer_count; i++)
            r->issuers[r->expect.issuer_count++] = cfg->issuers[i];
    } else if (has_doc) {
        r->issuers[r->expect.issuer_count++] = r->doc.issuer;
    } else {
        for (size_t i = 0; r->p->issuers && r->p->issuers[i]; i++)
            r->issuers[r->expect.issuer_count++] = r->p->issuers[i];
    }
    r->expect.issuers = r->issuers;
    /* the web client id, and the app ids its phone SDKs sign in with */
    r->audiences[r->expect.audience_count++] = cfg->client_id;
    for (size_t i = 0; i < cfg->audience_count; i++)
        r->audiences[r->expect.audience_count++] = cfg->audiences[i];
    r->expect.audiences = r->audiences;
    return RC_OK;
}

/* Verifies id_token for r; the claims (owned) or NULL with x->reason. */
static json_t *verified_claims(struct core_oauth2_exchange *x, const struct route *r,
                               const char *id_token)
{
    json_t *claims = NULL;
    const char *reason = NULL;
    if (core_oidc_verify(x->oidc, id_token, &r->expect, &claims, &reason) != RC_OK) {
        x->reason = reason;
        log_info("oauth2_id_token_refused provider=%s reason=\"%s\"", x->cfg->name, reason);
        return NULL;
    }
    return claims;
}

/* Whether the token's nonce claim matches what the client says it sent:
 * both absent, or equal to it or to its SHA-256 in lower-case hex (the
 * raw-nonce convention of Apple's and Firebase's phone SDKs). */
static bool nonce_matches(json_t *claims, const char *given)
{
    json_t *claim = json_object_get(claims, "nonce");
    if (!claim && !given[0])
        return true;
    const char *v = json_string_value(claim);
    if (!v || !given[0])
        return false;
    if (secure_str_equal(str_from_cstr(v), str_from_cstr(given)))
        return true;
    unsigned char digest[32];
    secure_sha256(given, strlen(given), digest);
    char hex[65];
    str_hex_encode(digest, sizeof(digest), hex);
    hex[64] = '\0';
    return secure_str_equal(str_from_cstr(v), (struct str){hex, 64});
}

/* The user of verified claims (taken: they become the raw user). */
static void user_from_claims(struct core_oauth2_exchange *x, const struct route *r, json_t *claims)
{
    r->p->map(claims, &x->user);
    x->user.raw = claims;
    if (x->user.id[0])
        x->rc = RC_OK;
}

/* auth-with-id-token: the client's token, checked as the provider's. */
static void run_id_token(struct core_oauth2_exchange *x, const struct route *r)
{
    if (!r->expect.jwks_url[0] || !r->expect.issuer_count) {
        x->reason = "The provider is not set up to verify id_tokens.";
        return;
    }
    json_t *claims = verified_claims(x, r, x->id_token);
    if (!claims)
        return;
    if (!nonce_matches(claims, x->nonce ? x->nonce : "")) {
        x->reason = "The token's nonce does not match.";
        json_decref(claims);
        return;
    }
    x->access_token = xstrdup("");
    x->refresh_token = xstrdup("");
    user_from_claims(x, r, claims);
}

/* The code flow's user: the user-info endpoint (whose sub must be the
 * id_token's, OIDC Core §5.3.2), or the id_token's claims. */
static void read_user(struct core_oauth2_exchange *x, const struct route *r, json_t *claims)
{
    if (!r->user_info_url[0]) {
        if (claims)
            user_from_claims(x, r, claims);
        return;
    }
    size_t n = strlen(x->access_token) + 32;
    char *auth_header = xmalloc(n);
    snprintf(auth_header, n, "Authorization: Bearer %s", x->access_token);
    struct net_http_out_req req = {.method = "GET",
                                   .url = r->user_info_url,
                                   .headers = {auth_header, "Accept: application/json"},
                                   .header_count = 2};
    json_t *info = fetch_json(&req);
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (json_is_object(info)) {
        r->p->map(info, &x->user);
        x->user.raw = info;
        if (!x->user.email[0] && r->p->emails_url)
            fetch_github_email(r->p, x->cfg, auth_header, &x->user);
        if (x->user.id[0] && (!sub || strcmp(sub, x->user.id) == 0))
            x->rc = RC_OK;
    } else {
        json_decref(info);
    }
    json_decref(claims);
    secure_zero(auth_header, n);
    xfree(auth_header);
}

static void run_code(struct core_oauth2_exchange *x, const struct route *r)
{
    struct buf form;
    buf_init(&form, 65536);
    enum rc rc = append_param(&form, "grant_type", "authorization_code");
    if (!rc)
        rc = append_param(&form, "code", x->code);
    if (!rc)
        rc = append_param(&form, "redirect_uri", x->redirect_url);
    if (!rc)
        rc = append_param(&form, "client_id", x->cfg->client_id);
    if (!rc)
        rc = append_param(&form, "client_secret", x->cfg->client_secret);
    if (!rc && x->code_verifier && x->code_verifier[0] && core_oauth2_config_is_pkce(x->cfg))
        rc = append_param(&form, "code_verifier", x->code_verifier);
    json_t *token = NULL;
    if (!rc && r->token_url[0]) {
        struct net_http_out_req req = {
            .method = "POST",
            .url = r->token_url,
            .body = buf_str(&form),
            .headers = {"Content-Type: application/x-www-form-urlencoded",
                        "Accept: application/json"},
            .header_count = 2};
        token = fetch_json(&req);
    }
    secure_zero(form.data, form.len);
    buf_cleanup(&form);
    const char *access = json_string_value(json_object_get(token, "access_token"));
    if (!access || !access[0]) {
        json_decref(token);
        return;
    }
    x->access_token = xstrdup(access);
    x->refresh_token = dup_key(token, "refresh_token");
    json_t *expires = json_object_get(token, "expires_in");
    if (json_is_integer(expires) && json_integer_value(expires) > 0)
        x->expiry = chrono_real_ms() / 1000 + json_integer_value(expires);
    /* an OpenID provider's id_token comes from its token endpoint over
     * TLS: its signature is checked when the provider's keys are known
     * (OIDC Core §3.1.3.7 lets TLS stand in for it otherwise), its
     * audience, times and issuer always */
    json_t *id_token = json_object_get(token, "id_token");
    json_t *claims = NULL;
    bool is_ok = true;
    if (r->p->has_id_token && json_is_string(id_token)) {
        claims = verified_claims(x, r, json_string_value(id_token));
        is_ok = claims != NULL;
    } else if (id_token && !json_is_null(id_token)) {
        is_ok = !r->p->has_id_token; /* one of the wrong type */
    }
    json_decref(token);
    if (is_ok)
        read_user(x, r, claims);
    /* Apple tells the name once, in the form it posts to the redirect */
    if (!x->rc && !x->user.name[0] && r->p->response_mode && x->oidc) {
        char *name = core_oidc_name_take(x->oidc, x->code);
        if (name) {
            xfree(x->user.name);
            x->user.name = name;
        }
    }
}

void core_oauth2_exchange_run(struct core_oauth2_exchange *x)
{
    x->rc = RC_INVALID;
    x->reason = NULL;
    struct route r;
    if (route_of(x, &r) == RC_OK) {
        if (x->id_token)
            run_id_token(x, &r);
        else
            run_code(x, &r);
    }
    core_oidc_discovery_cleanup(&r.doc);
}

void core_oauth2_exchange_cleanup(struct core_oauth2_exchange *x)
{
    if (x->access_token)
        secure_zero(x->access_token, strlen(x->access_token));
    xfree(x->access_token);
    xfree(x->refresh_token);
    x->access_token = x->refresh_token = NULL;
    core_oauth2_user_cleanup(&x->user);
}

/* -------------------------------------------------------------------------
 * Links
 * ------------------------------------------------------------------------- */

enum rc core_oauth2_find_linked(struct core_worker *cw, const struct core_collection *col,
                                const char *provider, const char *provider_id, json_t **out)
{
    *out = NULL;
    struct store_stmt *st = NULL;
    enum rc rc = store_prepare(
        cw->db,
        STR_LIT("SELECT \"recordRef\" FROM \"_externalAuths\" WHERE \"collectionRef\" = ?1 AND "
                "provider = ?2 AND \"providerId\" = ?3 LIMIT 1"),
        &st);
    if (rc)
        return rc;
    rc = store_bind_text(st, 1, str_from_cstr(col->id));
    if (!rc)
        rc = store_bind_text(st, 2, str_from_cstr(provider));
    if (!rc)
        rc = store_bind_text(st, 3, str_from_cstr(provider_id));
    if (rc) {
        store_done(st);
        return rc;
    }
    return core_auth_load_id_row(cw, col, st, out);
}

void core_oauth2_link_job(const struct core_collection *col, const char *record_id,
                          const char *provider, const char *provider_id, struct core_exec_job *job)
{
    char id[16], now[32];
    secure_random_id(id, 15);
    id[15] = '\0';
    chrono_format_db_ms(chrono_real_ms(), now);
    /* DO NOTHING: a link made meanwhile (two sign-ins at once) wins. */
    job->sql = "INSERT INTO \"_externalAuths\" (id, \"collectionRef\", \"recordRef\", provider, "
               "\"providerId\", created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) "
               "ON CONFLICT DO NOTHING";
    job->params[0] = xstrdup(id);
    job->params[1] = xstrdup(col->id);
    job->params[2] = xstrdup(record_id);
    job->params[3] = xstrdup(provider);
    job->params[4] = xstrdup(provider_id);
    job->params[5] = xstrdup(now);
    job->param_count = 6;
}
