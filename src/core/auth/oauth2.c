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
#include "base/secure.h"
#include "net/http_out.h"
#include "store/sql.h"
#include "store/store.h"
#include "core/auth/auth_int.h"

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

enum rc core_oauth2_auth_url(const struct core_oauth2_config *cfg, const char *state,
                             const char *challenge, struct buf *out)
{
    const struct core_oauth2_provider *p = core_oauth2_provider_find(cfg->name);
    if (!p)
        return RC_INVALID;
    const char *base = endpoint(cfg->auth_url, p->auth_url);
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

void core_oauth2_exchange_run(struct core_oauth2_exchange *x)
{
    x->rc = RC_INVALID;
    const struct core_oauth2_provider *p = core_oauth2_provider_find(x->cfg->name);
    if (!p)
        return;
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
    if (!rc) {
        struct net_http_out_req r = {.method = "POST",
                                     .url = endpoint(x->cfg->token_url, p->token_url),
                                     .body = buf_str(&form),
                                     .headers = {"Content-Type: application/x-www-form-urlencoded",
                                                 "Accept: application/json"},
                                     .header_count = 2};
        token = fetch_json(&r);
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
    json_decref(token);

    size_t n = strlen(x->access_token) + 32;
    char *auth_header = xmalloc(n);
    snprintf(auth_header, n, "Authorization: Bearer %s", x->access_token);
    struct net_http_out_req r = {.method = "GET",
                                 .url = endpoint(x->cfg->user_info_url, p->user_info_url),
                                 .headers = {auth_header, "Accept: application/json"},
                                 .header_count = 2};
    json_t *info = fetch_json(&r);
    if (json_is_object(info)) {
        p->map(info, &x->user);
        x->user.raw = info;
        if (!x->user.email[0] && p->emails_url)
            fetch_github_email(p, x->cfg, auth_header, &x->user);
        if (x->user.id[0])
            x->rc = RC_OK;
    } else {
        json_decref(info);
    }
    secure_zero(auth_header, n);
    xfree(auth_header);
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

json_t *core_oauth2_find_linked(struct core_worker *cw, const struct core_collection *col,
                                const char *provider, const char *provider_id)
{
    struct store_stmt *st = NULL;
    if (store_prepare(
            cw->db,
            STR_LIT("SELECT \"recordRef\" FROM \"_externalAuths\" WHERE \"collectionRef\" = ?1 AND "
                    "provider = ?2 AND \"providerId\" = ?3 LIMIT 1"),
            &st))
        return NULL;
    enum rc rc = store_bind_text(st, 1, str_from_cstr(col->id));
    if (!rc)
        rc = store_bind_text(st, 2, str_from_cstr(provider));
    if (!rc)
        rc = store_bind_text(st, 3, str_from_cstr(provider_id));
    if (rc) {
        store_done(st);
        return NULL;
    }
    return core_auth_load_id_row(cw, col, st);
}

void core_oauth2_link_job(const struct core_collection *col, const char *record_id,
                          const char *provider, const char *provider_id, struct core_exec_job *job)
{
    char id[16], now[32];
    secure_random_string(STR_LIT("abcdefghijklmnopqrstuvwxyz0123456789"), id, 15);
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
