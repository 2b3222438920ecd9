/* auth_oauth2.c -- OAuth2 sign-in (spec §6.2 providers, §6.11): the
 * providers of auth-methods, POST .../auth-with-oauth2, and (beyond
 * PocketBase) POST .../auth-with-id-token for an id_token a phone app got
 * from Google's or Apple's SDK.
 *
 * A sign-in runs in four steps, each on the thread it may block: the body is
 * checked on the loop; the code exchange and user read, or the id_token's
 * verification, run on the offload pool (core_oauth2_exchange_run: network
 * waits, key fetches); the record is found on the loop (link, then the
 * requester, then a verified email), or created through the ordinary record
 * save (createRule with @request.context "oauth2"); the link is written by
 * the writer; then the auth response with `meta` is answered. The two
 * endpoints differ only in the first two steps. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/auth_int.h"
#include "api/call.h"
#include "api/errors.h"
#include "api/handlers.h"
#include "base/alloc.h"
#include "base/chrono.h"
#include "base/jsonw.h"
#include "base/jws.h"
#include "base/secure.h"
#include "base/log.h"
#include "core/auth/oauth2.h"
#include "core/auth/oidc.h"
#include "core/cluster_app.h"
#include "core/files/sniff.h"
#include "net/http_out.h"
#include "core/realtime/realtime.h"
#include "core/record/record_save.h"
#include "core/record/record_write.h"
#include "net/offload.h"

void api_auth_oauth2_methods(struct jsonw *w, const struct core_collection *col,
                             struct core_oidc *oidc)
{
    const struct core_oauth2_options *o = &col->oauth2;
    jsonw_key_cstr(w, "oauth2");
    jsonw_object_begin(w);
    jsonw_key_cstr(w, "enabled");
    jsonw_bool(w, o->is_enabled);
    jsonw_key_cstr(w, "providers");
    jsonw_array_begin(w);
    for (size_t i = 0; o->is_enabled && i < o->provider_count; i++) {
        const struct core_oauth2_config *cfg = &o->providers[i];
        const struct core_oauth2_provider *p = core_oauth2_provider_find(cfg->name);
        if (!p)
            continue;
        /* an endpoint left to discovery: the cached document's (auth-methods
         * fetched the missing ones first, api_auth_oauth2_discover_first) */
        struct core_oidc_discovery doc = {0};
        if (cfg->discovery_url[0] && !cfg->auth_url[0] &&
            !core_oidc_discovery_cached(oidc, cfg->discovery_url, &doc)) {
            log_warn("oauth2_provider_skipped provider=%s reason=\"no discovery document\"",
                     cfg->name);
            continue;
        }
        char state[31], verifier[CORE_OAUTH2_VERIFIER_LEN + 1], challenge[44];
        core_oauth2_pkce_new(state, verifier, challenge);
        bool is_pkce = core_oauth2_config_is_pkce(cfg);
        struct buf url;
        buf_init(&url, 16384);
        enum rc rc = core_oauth2_auth_url(cfg, doc.authorization_endpoint, state, challenge, &url);
        core_oidc_discovery_cleanup(&doc);
        if (rc) {
            buf_cleanup(&url);
            continue;
        }
        jsonw_object_begin(w);
        jsonw_key_cstr(w, "name");
        jsonw_string_cstr(w, cfg->name);
        jsonw_key_cstr(w, "displayName");
        jsonw_string_cstr(w, cfg->display_name[0] ? cfg->display_name : p->display_name);
        jsonw_key_cstr(w, "state");
        jsonw_string_cstr(w, state);
        jsonw_key_cstr(w, "authURL");
        jsonw_string(w, buf_str(&url));
        jsonw_key_cstr(w, "codeVerifier");
        jsonw_string_cstr(w, is_pkce ? verifier : "");
        jsonw_key_cstr(w, "codeChallenge");
        jsonw_string_cstr(w, is_pkce ? challenge : "");
        jsonw_key_cstr(w, "codeChallengeMethod");
        jsonw_string_cstr(w, is_pkce ? "S256" : "");
        jsonw_object_end(w);
        buf_cleanup(&url);
    }
    jsonw_array_end(w);
    jsonw_object_end(w);
}

/* auth-methods waiting for discovery documents; in the request's arena. */
struct discovery_wait {
    struct api_call *call;
    const struct core_collection *col;
    api_auth_methods_fn *then;
    struct core_oidc *oidc;
    const char *urls[CORE_OAUTH2_MAX_PROVIDERS];
    size_t url_count;
};

static void discovery_work(void *ctx)
{
    struct discovery_wait *d = ctx;
    for (size_t i = 0; i < d->url_count; i++) {
        struct core_oidc_discovery doc = {0};
        if (core_oidc_discover(d->oidc, d->urls[i], &doc) == RC_OK)
            core_oidc_discovery_cleanup(&doc);
    }
}

static void discovery_done(enum rc rc, void *ctx)
{
    struct discovery_wait *d = ctx;
    (void)rc; /* a saturated pool: the providers without a document are left out */
    if (!api_call_reenter(d->call))
        return;
    d->then(d->call, d->col);
    api_call_resume(d->call);
}

bool api_auth_oauth2_discover_first(struct api_call *c, const struct core_collection *col,
                                    api_auth_methods_fn *then)
{
    const struct core_oauth2_options *o = &col->oauth2;
    struct core_oidc *oidc = c->aw->core.app->oidc;
    struct discovery_wait *d = NULL;
    for (size_t i = 0; o->is_enabled && i < o->provider_count; i++) {
        const struct core_oauth2_config *cfg = &o->providers[i];
        struct core_oidc_discovery doc = {0};
        if (!cfg->discovery_url[0] || cfg->auth_url[0] ||
            core_oidc_discovery_cached(oidc, cfg->discovery_url, &doc)) {
            core_oidc_discovery_cleanup(&doc);
            continue;
        }
        if (!d) {
            d = arena_alloc(c->req->arena, sizeof(*d));
            memset(d, 0, sizeof(*d));
            *d = (struct discovery_wait){.call = c, .col = col, .then = then, .oidc = oidc};
        }
        if (d->url_count < CORE_OAUTH2_MAX_PROVIDERS)
            d->urls[d->url_count++] = cfg->discovery_url; /* the schema snapshot outlives us */
    }
    if (!d)
        return false;
    api_call_defer(c);
    if (net_offload_submit(c->aw->core.app->offload, c->aw->core.mailbox, discovery_work,
                           discovery_done, d) != RC_OK) {
        then(c, col); /* without the documents: those providers are left out */
        api_call_resume(c);
    }
    return true;
}

enum rc api_oauth2_providers(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    http_resp_start(req, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    jsonw_array_begin(&w);
    const struct core_oauth2_provider *p;
    for (size_t i = 0; (p = core_oauth2_provider_at(i)) != NULL; i++) {
        jsonw_object_begin(&w);
        jsonw_key_cstr(&w, "name");
        jsonw_string_cstr(&w, p->name);
        jsonw_key_cstr(&w, "displayName");
        jsonw_string_cstr(&w, p->display_name);
        jsonw_key_cstr(&w, "logo"); /* PocketBase >= 0.37 sends an inline SVG; none yet */
        jsonw_string_cstr(&w, "");
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    return jsonw_finish(&w);
}

/* A sign-in in flight; in the request's arena. */
struct signin {
    struct api_call *call;
    const struct core_collection *col;
    char *code, *verifier, *redirect_url;
    char *id_token, *nonce; /* auth-with-id-token */
    json_t *create_data;    /* owned */
    struct core_oauth2_exchange x;
    json_t *record; /* owned */
    bool is_new;
    struct core_exec_job link;
    /* an existing record the provider vouches for: verified, maybe its email */
    struct core_auth root;
    struct core_request as_root;
    struct core_write_job update;
    /* a new record's avatar, fetched from the provider's avatarURL */
    const struct core_field *avatar_field;
    struct buf avatar;
    enum rc avatar_rc;
    char avatar_name[32];
    struct core_upload avatar_upload;
};

static void signin_release(void *ctx)
{
    struct signin *s = ctx;
    xfree(s->code);
    xfree(s->verifier);
    xfree(s->redirect_url);
    if (s->id_token)
        secure_zero(s->id_token, strlen(s->id_token));
    xfree(s->id_token);
    xfree(s->nonce);
    json_decref(s->create_data);
    json_decref(s->record);
    core_oauth2_exchange_cleanup(&s->x);
    core_exec_job_cleanup(&s->link);
    core_write_job_cleanup(&s->update);
    buf_cleanup(&s->avatar);
}

/* Back on the loop after a deferral: true when the client is still there
 * (go on), false when it left (the call is released; stop). */
/* Answers the error rc of a deferred call and releases it. */
static void fail_resumed(struct api_call *c, enum rc rc)
{
    api_call_fail(c, rc);
    api_call_resume(c);
}

static void write_meta(struct signin *s, struct buf *out)
{
    const struct core_oauth2_user *u = &s->x.user;
    struct jsonw w;
    jsonw_init(&w, out);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "id");
    jsonw_string_cstr(&w, u->id);
    jsonw_key_cstr(&w, "name");
    jsonw_string_cstr(&w, u->name);
    jsonw_key_cstr(&w, "username");
    jsonw_string_cstr(&w, u->username);
    jsonw_key_cstr(&w, "email");
    jsonw_string_cstr(&w, u->email);
    jsonw_key_cstr(&w, "avatarURL");
    jsonw_string_cstr(&w, u->avatar_url);
    jsonw_key_cstr(&w, "avatarUrl"); /* legacy key the older SDKs read */
    jsonw_string_cstr(&w, u->avatar_url);
    jsonw_key_cstr(&w, "accessToken");
    jsonw_string_cstr(&w, s->x.access_token);
    jsonw_key_cstr(&w, "refreshToken");
    jsonw_string_cstr(&w, s->x.refresh_token);
    char expiry[32] = "";
    if (s->x.expiry)
        chrono_format_db_ms(s->x.expiry * 1000, expiry);
    jsonw_key_cstr(&w, "expiry");
    jsonw_string_cstr(&w, expiry);
    jsonw_key_cstr(&w, "isNew");
    jsonw_bool(&w, s->is_new);
    jsonw_key_cstr(&w, "rawUser");
    char *raw = json_dumps(u->raw, JSON_COMPACT);
    jsonw_raw(&w, str_from_cstr(raw ? raw : "{}"));
    xfree(raw);
    jsonw_object_end(&w);
    (void)jsonw_finish(&w);
}

/* Signs in (auth_signin.c), which answers and resumes. */
static void answer(struct signin *s)
{
    struct buf meta;
    buf_init(&meta, 1 << 20);
    write_meta(s, &meta);
    api_auth_signin(s->call, s->col, s->record, "oauth2", buf_str(&meta));
    buf_cleanup(&meta);
}

static void linked(struct core_exec_job *job)
{
    struct signin *s = (struct signin *)((char *)job - offsetof(struct signin, link));
    struct api_call *c = s->call;
    if (!api_call_reenter(c))
        return;
    if (job->rc)
        fail_resumed(c, job->rc);
    else
        answer(s); /* resumes */
}

/* The record is known: link it (a new link is harmless when it exists),
 * then answer. */
static void link_and_answer(struct signin *s)
{
    core_oauth2_link_job(s->col, json_string_value(json_object_get(s->record, "id")),
                         s->x.cfg->name, s->x.user.id, &s->link);
    s->link.done = linked;
    core_exec_submit(&s->call->aw->core, &s->link);
}

static void created(struct core_save *save, void *ctx)
{
    struct signin *s = ctx;
    struct api_call *c = s->call;
    if (!api_call_reenter(c))
        return;
    enum rc rc = core_record_save_rc(save);
    if (rc) {
        api_call_take_problem(c, core_record_save_problem(save));
        fail_resumed(c, rc);
        return;
    }
    /* only the new id: the record is read back whole below, as the auth
     * response needs it (the save's answer rendered every field for nothing) */
    struct core_output_opts o = {.fields = STR_LIT("id"), .ignore_view_rule = true};
    struct buf out;
    buf_init(&out, 4096);
    struct core_problem p;
    core_problem_init(&p);
    rc = core_record_save_answer(save, &o, &out, &p);
    core_problem_cleanup(&p);
    json_t *saved = rc ? NULL : json_loadb(out.data, out.len, 0, NULL);
    buf_cleanup(&out);
    const char *id = json_string_value(json_object_get(saved, "id"));
    if (id)
        (void)core_record_load(c->aw->core.db, s->col, str_from_cstr(id), &s->record);
    json_decref(saved);
    if (!s->record) {
        fail_resumed(c, RC_INTERNAL);
        return;
    }
    s->is_new = true;
    link_and_answer(s); /* resumes */
}

static void set_if_unset(json_t *body, const char *field, const char *value)
{
    if (field && field[0] && value && value[0] && !json_object_get(body, field))
        json_object_set_new(body, field, json_string(value));
}

/* First sign-in: a new record from createData and the provider's identity,
 * saved as a create (createRule, validation) with a random password. */
static void create_record(struct signin *s)
{
    struct api_call *c = s->call;
    const struct core_oauth2_user *u = &s->x.user;
    const struct core_oauth2_options *o = &s->col->oauth2;
    json_t *body = s->create_data ? json_deep_copy(s->create_data) : json_object();
    json_object_del(body, "verified"); /* only the provider vouches for an address */
    if (u->email[0] && !json_object_get(body, "email")) {
        json_object_set_new(body, "email", json_string(u->email));
        json_object_set_new(body, "verified", json_true());
    }
    set_if_unset(body, o->mapped_id, u->id);
    set_if_unset(body, o->mapped_name, u->name);
    set_if_unset(body, o->mapped_username, u->username);
    struct core_save_input in = {.kind = CORE_WRITE_CREATE, .c = s->col};
    if (s->avatar_field && s->avatar_rc == RC_OK && s->avatar.len &&
        !json_object_get(body, s->avatar_field->name)) {
        s->avatar_upload.key = str_from_cstr(s->avatar_field->name);
        s->avatar_upload.filename = str_from_cstr(s->avatar_name);
        s->avatar_upload.data = buf_str(&s->avatar);
        in.uploads = &s->avatar_upload;
        in.upload_count = 1;
    }
    api_auth_random_password(body);
    json_decref(c->body);
    c->body = body;
    api_call_request_data(c, "oauth2");
    c->core.is_manager = true; /* the verified state above is the server's */
    in.body = c->body;
    struct core_save *save;
    enum rc rc = core_record_save_prepare(&c->core, &in, &c->problem, &save);
    if (!rc)
        rc = core_record_save_start(save, created, NULL, s);
    if (rc)
        fail_resumed(c, rc);
}

static void updated(struct core_write_job *job)
{
    struct signin *s = (struct signin *)((char *)job - offsetof(struct signin, update));
    struct api_call *c = s->call;
    if (!api_call_reenter(c))
        return;
    const char *id = json_string_value(json_object_get(s->record, "id"));
    json_t *now = NULL;
    if (!job->rc)
        (void)core_record_load(c->aw->core.db, s->col, str_from_cstr(id), &now);
    if (!now) {
        api_call_take_problem(c, &job->problem);
        fail_resumed(c, job->rc ? job->rc : RC_INTERNAL);
        return;
    }
    json_decref(s->record);
    s->record = now;
    link_and_answer(s);
}

/* PocketBase's rules for an existing record the provider's verified email
 * vouches for: an empty email takes the provider's, and a matching one
 * becomes verified. When the record was found by that email alone and was
 * not verified, whoever registered it never proved the address: its
 * password is cleared and its tokenKey renewed, so a look-alike account
 * registered in advance does not keep a way into the verified one. Returns
 * false when nothing needs writing. */
static bool vouch(struct signin *s, bool is_found_by_email)
{
    const char *email = json_string_value(json_object_get(s->record, "email"));
    const char *given = s->x.user.email;
    if (!given[0])
        return false;
    json_t *body = NULL;
    if (!email || !email[0]) {
        body = json_pack("{s:s,s:b}", "email", given, "verified", 1);
    } else if (!json_is_true(json_object_get(s->record, "verified")) &&
               strcasecmp(email, given) == 0) {
        body = json_pack("{s:b}", "verified", 1);
    }
    if (!body)
        return false;
    struct api_call *c = s->call;
    s->root.is_superuser = true;
    s->as_root = c->core;
    s->as_root.auth = &s->root;
    core_problem_init(&s->update.problem);
    s->update.kind = CORE_WRITE_UPDATE;
    s->update.schema = c->core.schema;
    s->update.c = s->col;
    s->update.request = &s->as_root;
    s->update.id = xstrdup(json_string_value(json_object_get(s->record, "id")));
    if (is_found_by_email && json_object_get(body, "verified") && email && email[0]) {
        /* a new password value renews the tokenKey; its "hash" is "" (none) */
        char random[31];
        secure_random_string(STR_LIT("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                             random, 30);
        random[30] = '\0';
        json_object_set_new(body, "password", json_string(random));
        json_object_set_new(body, "passwordConfirm", json_string(random));
        secure_zero(random, sizeof(random));
        core_write_job_add_hash(&s->update, "password", STR_LIT(""));
    }
    s->update.body = body; /* takes it */
    s->update.done = updated;
    core_record_submit(&c->aw->core, &s->update);
    return true;
}

/* On the pool: the avatar, capped at the field's size. A failure only means
 * no avatar (PocketBase signs the user in without one). */
static void avatar_work(void *ctx)
{
    struct signin *s = ctx;
    /* the picture's URL is the user's to choose (an OIDC claim): public addresses only */
    struct net_http_out_req r = {.method = "GET",
                                 .url = s->x.user.avatar_url,
                                 .timeout_ms = 10000,
                                 .allow_private_network =
                                     s->call->aw->core.app->allow_private_network,
                                 .response = &s->avatar};
    struct net_http_out_resp resp;
    net_http_out_send(&r, &resp);
    if (resp.fail != NET_HTTP_OUT_OK || resp.status < 200 || resp.status > 299) {
        s->avatar_rc = RC_IO;
        return;
    }
    /* the type is the bytes', as for any upload; one the field refuses is dropped */
    const char *mime = core_sniff_mime(s->avatar.data, s->avatar.len);
    bool is_allowed = s->avatar_field->mime_type_count == 0;
    for (size_t i = 0; i < s->avatar_field->mime_type_count && !is_allowed; i++)
        is_allowed =
            core_sniff_mime_is(str_from_cstr(mime), str_from_cstr(s->avatar_field->mime_types[i]));
    if (!is_allowed) {
        s->avatar_rc = RC_INVALID;
        return;
    }
    snprintf(s->avatar_name, sizeof(s->avatar_name), "avatar%s",
             core_sniff_ext(str_from_cstr(mime)));
}

static void avatar_done(enum rc rc, void *ctx)
{
    struct signin *s = ctx;
    struct api_call *c = s->call;
    if (!api_call_reenter(c))
        return;
    if (rc)
        s->avatar_rc = rc;
    create_record(s);
}

/* First sign-in: fetch the avatar first when a file field is mapped to it. */
static void create_or_fetch_avatar(struct signin *s)
{
    const struct core_oauth2_options *o = &s->col->oauth2;
    const struct core_field *f =
        o->mapped_avatar[0] ? core_collection_field(s->col, str_from_cstr(o->mapped_avatar)) : NULL;
    if (!f || f->type != CORE_FIELD_FILE || !s->x.user.avatar_url[0]) {
        create_record(s);
        return;
    }
    s->avatar_field = f;
    buf_init(&s->avatar, f->max_size > 0 ? (size_t)f->max_size : 5u << 20);
    struct api_call *c = s->call;
    if (net_offload_submit(c->aw->core.app->offload, c->aw->core.mailbox, avatar_work, avatar_done,
                           s) != RC_OK) {
        s->avatar_field = NULL;
        create_record(s);
    }
}

static void exchanged(enum rc rc, void *ctx)
{
    struct signin *s = ctx;
    struct api_call *c = s->call;
    if (!api_call_reenter(c))
        return;
    if (rc) {
        fail_resumed(c, rc); /* the pool was saturated: 503 */
        return;
    }
    if (s->x.rc && s->id_token) {
        /* what is wrong with the client's token is the client's to know */
        core_problem_field(&c->problem, "idToken", "validation_invalid_token",
                           s->x.reason ? s->x.reason : "Invalid id_token.", NULL);
        core_problem_message(&c->problem, "Failed to verify the id_token.");
        fail_resumed(c, RC_INVALID);
        return;
    }
    if (s->x.rc) {
        core_problem_message(&c->problem, s->x.access_token ? "Failed to fetch OAuth2 user."
                                                            : "Failed to fetch OAuth2 token.");
        fail_resumed(c, RC_INVALID);
        return;
    }
    struct core_worker *cw = &c->aw->core;
    enum rc found = core_oauth2_find_linked(cw, s->col, s->x.cfg->name, s->x.user.id, &s->record);
    if (!found && !s->record && c->auth.collection == s->col && c->auth.record)
        s->record = json_incref(c->auth.record); /* the signed-in requester links it */
    bool is_found_by_email = false;
    if (!found && !s->record && s->x.user.email[0]) {
        found = api_auth_find_identity(c, s->col, "email", s->x.user.email, &s->record);
        is_found_by_email = s->record != NULL;
    }
    if (found) {
        json_decref(s->record);
        s->record = NULL;
        fail_resumed(c, found);
        return;
    }
    if (!s->record)
        create_or_fetch_avatar(s);
    else if (!vouch(s, is_found_by_email))
        link_and_answer(s);
}

static void exchange_work(void *ctx)
{
    struct signin *s = ctx;
    core_oauth2_exchange_run(&s->x);
}

static char *dup_body_string(json_t *body, const char *key, const char *legacy)
{
    json_t *v = json_object_get(body, key);
    if (!v && legacy)
        v = json_object_get(body, legacy);
    return xstrdup(json_is_string(v) ? json_string_value(v) : "");
}

/* The first checks of both endpoints: an auth collection with OAuth2
 * enabled, a decoded body, a provider the collection configures (its name
 * problem filled otherwise), a createData object or nothing. NULL when the
 * answer is written (404, 403, 400 body), else the sign-in (in the arena). */
static struct signin *signin_begin(struct api_call *c)
{
    const struct core_collection *col;
    if (api_auth_collection_or_fail(c, &col))
        return NULL;
    if (!col->oauth2.is_enabled) {
        api_error_write(c->req, 403,
                        "The collection is not configured to allow OAuth2 authentication.");
        return NULL;
    }
    if (api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return NULL;
    struct signin *s = arena_alloc(c->req->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->call = c;
    s->col = col;
    arena_defer(c->req->arena, signin_release, s);
    const char *provider = json_string_value(json_object_get(c->body, "provider"));
    json_t *create_data = json_object_get(c->body, "createData");
    if (json_is_object(create_data))
        s->create_data = json_incref(create_data);
    s->x.cfg = core_oauth2_config_find(&col->oauth2, provider);
    s->x.oidc = c->aw->core.app->oidc;
    if (!provider || !provider[0])
        core_problem_field(&c->problem, "provider", "validation_required", "Cannot be blank.",
                           NULL);
    else if (!s->x.cfg || !core_oauth2_provider_find(provider))
        core_problem_field(&c->problem, "provider", "validation_invalid_provider",
                           "Provider is missing or is not enabled.", NULL);
    if (create_data && !json_is_null(create_data) && !json_is_object(create_data))
        core_problem_field(&c->problem, "createData", "validation_invalid_value",
                           "Must be an object.", NULL);
    return s;
}

/* Answers the problems found so far (400), or sends s to the pool. */
static enum rc signin_start(struct signin *s)
{
    struct api_call *c = s->call;
    if (core_problem_has_fields(&c->problem)) {
        core_problem_message(&c->problem, "An error occurred while validating the submitted data.");
        return api_call_fail(c, RC_INVALID);
    }
    api_call_defer(c);
    if (net_offload_submit(c->aw->core.app->offload, c->aw->core.mailbox, exchange_work, exchanged,
                           s) != RC_OK)
        fail_resumed(c, RC_BUSY);
    return RC_OK;
}

enum rc api_auth_with_oauth2(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    struct signin *s = signin_begin(c);
    if (!s)
        return RC_OK;
    s->code = dup_body_string(c->body, "code", NULL);
    s->verifier = dup_body_string(c->body, "codeVerifier", NULL);
    s->redirect_url = dup_body_string(c->body, "redirectURL", "redirectUrl");
    if (!s->code[0])
        core_problem_field(&c->problem, "code", "validation_required", "Cannot be blank.", NULL);
    if (!s->redirect_url[0])
        core_problem_field(&c->problem, "redirectURL", "validation_required", "Cannot be blank.",
                           NULL);
    s->x.code = s->code;
    s->x.code_verifier = s->verifier;
    s->x.redirect_url = s->redirect_url;
    return signin_start(s);
}

enum rc api_auth_with_id_token(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    struct signin *s = signin_begin(c);
    if (!s)
        return RC_OK;
    json_t *token = json_object_get(c->body, "idToken");
    json_t *nonce = json_object_get(c->body, "nonce");
    s->id_token = dup_body_string(c->body, "idToken", NULL);
    s->nonce = dup_body_string(c->body, "nonce", NULL);
    if (s->x.cfg && !core_oauth2_config_is_id_token_ready(s->x.cfg))
        core_problem_field(&c->problem, "provider", "validation_invalid_provider",
                           "The provider cannot verify id_tokens: it issues none, or its "
                           "extra.jwksURL and extra.issuers (or extra.discoveryURL) are not set.",
                           NULL);
    if (token && !json_is_null(token) && !json_is_string(token))
        core_problem_field(&c->problem, "idToken", "validation_invalid_value", "Must be a string.",
                           NULL);
    else if (!s->id_token[0])
        core_problem_field(&c->problem, "idToken", "validation_required", "Cannot be blank.", NULL);
    else if (strlen(s->id_token) > JWS_MAX_BYTES)
        core_problem_field(&c->problem, "idToken", "validation_length_too_long",
                           "Must be at most 16384 characters.", NULL);
    if (nonce && !json_is_null(nonce) && !json_is_string(nonce))
        core_problem_field(&c->problem, "nonce", "validation_invalid_value", "Must be a string.",
                           NULL);
    s->x.id_token = s->id_token;
    s->x.nonce = s->nonce;
    return signin_start(s);
}

/* -------------------------------------------------------------------------
 * The redirect handoff of the one-call flow (spec §6.11)
 * ------------------------------------------------------------------------- */

/* Where the browser goes after the handoff: PocketBase's relative paths into
 * the dashboard, resolved against /api/oauth2-redirect. */
#define REDIRECT_SUCCESS "../_/#/auth/oauth2-redirect-success"
#define REDIRECT_FAILURE "../_/#/auth/oauth2-redirect-failure"

static struct str param_of(struct api_call *c, bool is_post, const char *key)
{
    if (is_post) {
        const char *v = json_string_value(json_object_get(c->body, key));
        return v ? str_from_cstr(v) : (struct str){"", 0};
    }
    return api_call_query(c, key);
}

enum rc api_oauth2_redirect(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    bool is_post = req->method == HTTP_METHOD_POST;
    /* a provider posting the answer (Apple's response_mode=form_post) sends a form */
    if (is_post && api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    struct str state = param_of(c, is_post, "state");
    struct str code = param_of(c, is_post, "code");
    struct str error = param_of(c, is_post, "error");
    bool is_ok = false;
    if (state.len && state.len <= CORE_RT_MAX_CLIENT_ID) {
        struct buf data;
        buf_init(&data, 64 * 1024);
        struct jsonw w;
        jsonw_init(&w, &data);
        jsonw_object_begin(&w);
        jsonw_key_cstr(&w, "state");
        jsonw_string(&w, state);
        jsonw_key_cstr(&w, "code");
        jsonw_string(&w, code);
        jsonw_key_cstr(&w, "error");
        jsonw_string(&w, error);
        jsonw_object_end(&w);
        char id[CORE_RT_MAX_CLIENT_ID + 1];
        memcpy(id, state.ptr, state.len);
        id[state.len] = '\0';
        /* Apple posts the user's name once, beside the code: kept for the
         * exchange the SDK makes with that code (before the handoff, which
         * may trigger it at once), dropped when no client takes the code */
        struct str user = is_post ? param_of(c, true, "user") : (struct str){"", 0};
        char *code_text = NULL;
        if (user.len && code.len && code.len <= 1000 && !error.len) {
            char *name = core_oauth2_apple_name(user.ptr);
            if (name) {
                code_text = xstrndup(code.ptr, code.len);
                core_oidc_name_put(c->aw->core.app->oidc, code_text, name);
                core_cluster_app_apple_name(c->aw->core.app, code_text, name);
                xfree(name);
            }
        }
        bool is_sent = false;
        if (jsonw_finish(&w) == RC_OK && buf_append(&data, "", 1) == RC_OK)
            is_sent = core_realtime_send(c->aw->core.realtime, id, req->remote_addr, "@oauth2",
                                         data.data) == RC_OK;
        is_ok = is_sent && !error.len;
        if (code_text && !is_sent)
            xfree(core_oidc_name_take(c->aw->core.app->oidc, code_text));
        xfree(code_text);
        buf_cleanup(&data);
    }
    /* 307 keeps a GET a GET; after a POST, 303 makes the browser GET the page */
    http_resp_start(req, is_post ? 303 : 307, NULL);
    http_resp_add_header(req, "Location",
                         is_ok ? STR_LIT(REDIRECT_SUCCESS) : STR_LIT(REDIRECT_FAILURE));
    return RC_OK;
}
