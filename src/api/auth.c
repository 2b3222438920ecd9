/* auth.c -- the auth endpoints of spec §6: auth-methods, auth-with-password,
 * auth-refresh. Password checks run on the offload pool; an unknown identity
 * burns the same argon2id time on a dummy hash and gets the same answer as a
 * wrong password, so neither timing nor message tells which accounts exist. */
#include "api/handlers.h"

#include <stddef.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/auth_int.h"
#include "api/ratelimit.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/chrono.h"
#include "base/email.h"
#include "base/jsonw.h"
#include "base/secure.h"
#include "base/utf8.h"
#include "core/credential/password.h"
#include "core/app.h"
#include "core/hooks/hooks.h"
#include "core/record/exec_job.h"
#include "core/record/record_out.h"
#include "core/record/record_write.h"
#include "net/offload.h"

enum rc api_auth_collection_or_fail(struct api_call *c, const struct core_collection **out)
{
    const struct core_collection *col;
    if (api_call_collection_or_fail(c, "Missing or invalid auth collection context.", &col))
        return RC_NOT_FOUND;
    if (col->type != CORE_COLLECTION_AUTH) {
        api_error_write(c->req, 404, "Missing or invalid auth collection context.");
        return RC_NOT_FOUND;
    }
    *out = col;
    return RC_OK;
}

static enum rc write_methods(struct api_call *c, const struct core_collection *col)
{
    struct http_req *req = c->req;
    http_resp_start(req, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "password");
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "enabled");
    jsonw_bool(&w, col->is_password_auth);
    jsonw_key_cstr(&w, "identityFields");
    jsonw_array_begin(&w);
    for (size_t i = 0; col->is_password_auth && i < col->identity_field_count; i++)
        jsonw_string_cstr(&w, col->identity_fields[i]);
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    api_auth_oauth2_methods(&w, col, c->aw->core.app->oidc);
    jsonw_key_cstr(&w, "mfa");
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "enabled");
    jsonw_bool(&w, col->mfa.is_enabled);
    jsonw_key_cstr(&w, "duration"); /* spec §6.2: only when enabled */
    jsonw_int(&w, col->mfa.is_enabled ? col->mfa.duration_s : 0);
    jsonw_object_end(&w);
    jsonw_key_cstr(&w, "otp");
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "enabled");
    jsonw_bool(&w, col->is_otp);
    jsonw_key_cstr(&w, "duration");
    jsonw_int(&w, col->is_otp ? col->otp_duration_s : 0);
    jsonw_object_end(&w);
    jsonw_object_end(&w);
    enum rc rc = jsonw_finish(&w);
    if (!rc && api_call_query(c, "fields").len)
        rc = core_fields_apply(http_resp_body(req), api_call_query(c, "fields"), false);
    return rc;
}

/* After the discovery documents came (a deferred auth-methods). */
static void write_methods_resumed(struct api_call *c, const struct core_collection *col)
{
    enum rc rc = write_methods(c, col);
    if (rc)
        api_call_fail(c, rc);
}

enum rc api_auth_methods(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_auth_collection_or_fail(c, &col))
        return RC_OK;
    if (api_auth_oauth2_discover_first(c, col, write_methods_resumed))
        return RC_OK;
    return write_methods(c, col);
}

/* Writes {"token": ..., "record": ...} for record (all fields) of col; the
 * requester for visibility and expand is the record itself (spec §6).
 * is_refreshable false: an impersonation token (spec §6.10), valid for
 * duration_s seconds (0 = the collection's token duration). */
enum rc api_auth_write_token(struct api_call *c, const struct core_collection *col, json_t *record,
                             bool is_refreshable, int64_t duration_s, struct str meta)
{
    api_call_enter(c); /* after a login's hashing, too: the answer may expand */
    struct buf token;
    buf_init(&token, 8192);
    int64_t now = chrono_real_ms() / 1000;
    if (duration_s > 0)
        now += duration_s - col->tokens[CORE_TOKEN_AUTH].duration_s; /* issue adds the default */
    enum rc rc = core_auth_issue(col, record, now, is_refreshable, &token);
    if (rc) {
        buf_cleanup(&token);
        return api_call_fail(c, RC_INTERNAL);
    }
    core_auth_cleanup(&c->auth);
    c->auth.collection = col;
    c->auth.record = json_incref(record);
    c->auth.id = json_string_value(json_object_get(record, "id"));
    c->auth.is_superuser = strcmp(col->id, "pbc_3142635823") == 0;
    c->core.filter_request.auth_collection = col;
    c->core.filter_request.auth = record;
    struct core_output_opts o = {0};
    o.expand = api_call_query(c, "expand");
    o.ignore_view_rule = true;
    struct buf rec;
    buf_init(&rec, 1 << 24);
    rc = api_call_cost_rc(
        c, core_record_view(&c->core, col, str_from_cstr(c->auth.id), &o, &rec, &c->problem));
    if (!rc) {
        http_resp_start(c->req, 200, "application/json");
        struct jsonw w;
        jsonw_init(&w, http_resp_body(c->req));
        jsonw_object_begin(&w);
        jsonw_key_cstr(&w, "token");
        jsonw_string(&w, buf_str(&token));
        jsonw_key_cstr(&w, "record");
        jsonw_raw(&w, buf_str(&rec));
        if (meta.len) { /* OAuth2 only: every other method omits the key (spec §6) */
            jsonw_key_cstr(&w, "meta");
            jsonw_raw(&w, meta);
        }
        jsonw_object_end(&w);
        rc = jsonw_finish(&w);
        struct str fields = api_call_query(c, "fields");
        if (!rc && fields.len)
            rc = core_fields_apply(http_resp_body(c->req), fields, false);
    }
    buf_cleanup(&rec);
    buf_cleanup(&token);
    return rc ? api_call_fail(c, rc) : RC_OK;
}

bool api_auth_rule_or_fail(struct api_call *c, const struct core_collection *col, const char *id,
                           const char *context)
{
    if (col->auth_rule && col->auth_rule[0])
        api_call_request_data(c, context);
    if (col->auth_rule) {
        /* A read that failed is the server's error, not the account's
         * refusal; a rule that does not compile still refuses (RC_INVALID). */
        bool ok = false;
        enum rc rc = api_call_cost_rc(c, core_rule_eval(&c->core, col, col->auth_rule, id, &ok));
        if (rc && rc != RC_INVALID) {
            api_call_fail(c, rc);
            return false;
        }
        if (!rc && ok)
            return true;
    } else if (core_auth_rule_passes(&c->core, col, id)) {
        return true; /* null: superusers only */
    }
    api_error_write(c->req, 403,
                    "The request doesn't satisfy the collection requirements to authenticate.");
    return false;
}

static enum rc write_same_token(struct api_call *c, const struct core_collection *col,
                                json_t *record)
{
    struct str token = str_trim_ows(http_req_header(c->req, "authorization"));
    if (token.len > 7 && str_eq_nocase((struct str){token.ptr, 7}, STR_LIT("Bearer ")))
        token = str_trim_ows((struct str){token.ptr + 7, token.len - 7});
    struct core_output_opts o = {0};
    o.expand = api_call_query(c, "expand");
    o.ignore_view_rule = true;
    struct buf rec;
    buf_init(&rec, 1 << 24);
    enum rc rc = api_call_cost_rc(
        c, core_record_view(&c->core, col, str_from_cstr(c->auth.id), &o, &rec, &c->problem));
    (void)record;
    if (!rc) {
        http_resp_start(c->req, 200, "application/json");
        struct jsonw w;
        jsonw_init(&w, http_resp_body(c->req));
        jsonw_object_begin(&w);
        jsonw_key_cstr(&w, "token");
        jsonw_string(&w, token);
        jsonw_key_cstr(&w, "record");
        jsonw_raw(&w, buf_str(&rec));
        jsonw_object_end(&w);
        rc = jsonw_finish(&w);
    }
    buf_cleanup(&rec);
    return rc ? api_call_fail(c, rc) : RC_OK;
}

/* A login in flight. */
struct login {
    struct api_call *call;
    const struct core_collection *col;
    json_t *record; /* NULL: unknown identity */
    char *password;
    char *phc;
    enum rc result;
    char *rehash;                 /* a new argon2id hash to store: bcrypt or old parameters */
    struct core_exec_job upgrade; /* storing it */
};

static void login_release(void *ctx)
{
    struct login *l = ctx;
    json_decref(l->record);
    if (l->password) {
        memset(l->password, 0, strlen(l->password));
        xfree(l->password);
    }
    xfree(l->phc);
    xfree(l->rehash);
    core_exec_job_cleanup(&l->upgrade);
}

static void login_work(void *ctx)
{
    struct login *l = ctx;
    struct core_app *app = l->call->aw->core.app;
    struct core_password_params params = {.m_kib = app->password_m_kib, .t = app->password_t};
    if (l->phc)
        l->result = core_password_verify(str_from_cstr(l->password), str_from_cstr(l->phc));
    else
        l->result = core_password_verify_dummy(str_from_cstr(l->password), params);
    if (l->result == RC_OK && l->phc && core_password_needs_rehash(str_from_cstr(l->phc), params)) {
        /* PocketBase's bcrypt, or argon2id with older parameters: replaced
         * now that the password is known (here, off the loop). */
        struct buf fresh;
        buf_init(&fresh, CORE_PASSWORD_PHC_MAX);
        if (core_password_hash(str_from_cstr(l->password), params, &fresh) == RC_OK)
            l->rehash = xstrndup(fresh.data, fresh.len);
        buf_cleanup(&fresh);
    }
}

static void upgraded(struct core_exec_job *job)
{
    struct login *l = (struct login *)((char *)job - offsetof(struct login, upgrade));
    struct api_call *c = l->call;
    if (job->rc)
        log_warn("msg=\"password hash upgrade failed\" collection=%s rc=%s", l->col->name,
                 rc_name(job->rc));
    api_auth_signin(c, l->col, l->record, "password", (struct str){0}); /* resumes */
}

static void login_done(enum rc rc, void *ctx)
{
    struct login *l = ctx;
    struct api_call *c = l->call;
    if (!http_req_is_gone(c->req)) {
        api_call_enter(c); /* its reads and writes are charged again */
        if (rc) {
            api_call_fail(c, rc); /* the pool was saturated: 503 */
        } else if (l->result == RC_OK && l->record && l->rehash &&
                   core_auth_rehash_job(l->col, json_string_value(json_object_get(l->record, "id")),
                                        l->phc, l->rehash, &l->upgrade) == RC_OK) {
            l->upgrade.done = upgraded;
            core_exec_submit(&c->aw->core, &l->upgrade);
            return; /* answered (and resumed) once the new hash is stored */
        } else if (l->result == RC_OK && l->record) {
            api_auth_signin(c, l->col, l->record, "password", (struct str){0});
            return; /* resumed once answered */
        } else {
            core_problem_message(&c->problem, "Failed to authenticate.");
            api_call_fail(c, RC_INVALID);
        }
    }
    http_req_resume(c->req);
}

enum rc api_auth_same_collection_or_fail(struct api_call *c, const struct core_collection **out)
{
    if (api_call_require_auth_or_fail(c, false))
        return RC_UNAUTHORIZED;
    /* The token must belong to the path's collection; any other path
     * (another, unknown or non-auth collection) names the holder's. */
    const struct core_collection *col =
        core_schema_find(c->core.schema, http_req_param(c->req, "collection"));
    if (col != c->auth.collection) {
        char msg[160];
        snprintf(msg, sizeof(msg), "The request requires auth record from %s collection.",
                 c->auth.collection->name);
        api_error_write(c->req, 403, msg);
        return RC_FORBIDDEN;
    }
    *out = col;
    return RC_OK;
}

void api_auth_random_password(json_t *body)
{
    char password[31];
    secure_random_string(STR_LIT("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
                         password, 30);
    password[30] = '\0';
    json_object_set_new(body, "password", json_string(password));
    json_object_set_new(body, "passwordConfirm", json_string(password));
    secure_zero(password, sizeof(password));
}

enum rc api_auth_find_identity(struct api_call *c, const struct core_collection *col,
                               const char *field, const char *identity, json_t **out)
{
    enum rc rc =
        api_call_cost_rc(c, core_auth_find_identity(&c->aw->core, col, field, identity, out));
    if (rc) { /* over budget after a read that came back */
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

enum rc api_auth_with_password(struct http_req *req, void *ctx)
{
    const struct api_limits *limits = ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_auth_collection_or_fail(c, &col))
        return RC_OK;
    if (!col->is_password_auth) {
        api_error_write(req, 403,
                        "The collection is not configured to allow password authentication.");
        return RC_OK;
    }
    if (api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    json_t *identity = json_object_get(c->body, "identity");
    json_t *password = json_object_get(c->body, "password");
    if (!json_is_string(identity) || json_string_length(identity) == 0 ||
        json_string_length(identity) > 255) {
        core_problem_field(&c->problem, "identity", "validation_required", "Cannot be blank.",
                           NULL);
    } else if (!utf8_is_visible_text(json_string_value(identity), json_string_length(identity))) {
        /* No identity holds an invisible character (record_input.c refuses
         * them): a look-alike of an account is no way in. */
        core_problem_field(&c->problem, "identity", "validation_match_invalid",
                           "Must be in a valid format.", NULL);
    }
    if (!json_is_string(password) || json_string_length(password) == 0 ||
        json_string_length(password) > 255)
        core_problem_field(&c->problem, "password", "validation_required", "Cannot be blank.",
                           NULL);
    if (core_problem_has_fields(&c->problem)) {
        core_problem_message(&c->problem, "An error occurred while validating the submitted data.");
        return api_call_fail(c, RC_INVALID);
    }
    const char *id_text = json_string_value(identity);
    if (api_ratelimit_identity(c, limits, col->id, id_text))
        return RC_OK; /* 429 written */
    const char *only = json_string_value(json_object_get(c->body, "identityField"));
    if (only) {
        bool known = false;
        for (size_t i = 0; i < col->identity_field_count && !known; i++)
            known = strcmp(col->identity_fields[i], only) == 0;
        if (!known) {
            core_problem_field(&c->problem, "identityField", "validation_in_invalid",
                               "Must be a valid value.", NULL);
            core_problem_message(&c->problem,
                                 "An error occurred while validating the submitted data.");
            return api_call_fail(c, RC_INVALID);
        }
    }
    struct login *l = arena_alloc(req->arena, sizeof(*l));
    memset(l, 0, sizeof(*l));
    l->call = c;
    l->col = col;
    arena_defer(req->arena, login_release, l);
    for (size_t i = 0; i < col->identity_field_count && !l->record; i++) {
        const char *field = col->identity_fields[i];
        if (only && strcmp(only, field) != 0)
            continue;
        if (strcmp(field, "email") == 0 &&
            !email_is_valid((struct str){id_text, json_string_length(identity)}))
            continue; /* not an address: no account has it as its email */
        enum rc rc = api_auth_find_identity(c, col, field, id_text, &l->record);
        if (rc) /* not "Failed to authenticate": the password was never checked */
            return api_call_fail(c, rc);
    }
    if (l->record) {
        const char *phc = json_string_value(json_object_get(l->record, "password"));
        l->phc = phc && phc[0] ? xstrdup(phc) : NULL;
        if (!l->phc) {
            json_decref(l->record); /* an account without a password cannot log in with one */
            l->record = NULL;
        }
    }
    l->password = xstrdup(json_string_value(password));
    api_call_defer(c); /* its budget pauses: the queue is not its cost */
    if (net_offload_submit(c->aw->core.app->offload, c->aw->core.mailbox, login_work, login_done,
                           l) != RC_OK) {
        api_call_fail(c, RC_BUSY);
        http_req_resume(req);
    }
    return RC_OK;
}

enum rc api_auth_refresh(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_auth_same_collection_or_fail(c, &col))
        return RC_OK;
    if (!api_auth_rule_or_fail(c, col, c->auth.id, "default"))
        return RC_OK;
    json_t *record = json_incref(c->auth.record);
    enum rc rc;
    if (c->auth.is_refreshable) {
        rc = api_auth_write_token(c, col, record, true, 0, (struct str){0});
    } else {
        /* spec §6.4: an impersonation token is not renewed; the same token
         * comes back with the record as it is now. */
        rc = write_same_token(c, col, record);
    }
    json_decref(record);
    return rc;
}

enum rc api_auth_impersonate(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    const struct core_collection *col;
    if (api_auth_collection_or_fail(c, &col))
        return RC_OK;
    if (api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    json_t *duration = json_object_get(c->body, "duration");
    int64_t seconds = json_is_integer(duration) ? json_integer_value(duration) : 0;
    if (duration && !json_is_null(duration) && !json_is_integer(duration)) {
        /* A number of seconds, nothing else (PocketBase fails to decode it). */
        core_problem_field(&c->problem, "duration", "validation_invalid_value",
                           "Must be a whole number of seconds.", NULL);
        core_problem_message(&c->problem, "An error occurred while loading the submitted data.");
        return api_call_fail(c, RC_INVALID);
    }
    if (seconds < 0 || seconds > 10 * 365 * 86400) {
        core_problem_field(&c->problem, "duration", "validation_min_greater_equal_than_required",
                           "Must be no less than 0.", NULL);
        core_problem_message(&c->problem, "An error occurred while validating the submitted data.");
        return api_call_fail(c, RC_INVALID);
    }
    json_t *record = NULL;
    if (core_record_load(c->aw->core.db, col, http_req_param(req, "id"), &record) != RC_OK)
        return api_call_fail(c, RC_NOT_FOUND);
    /* The response speaks as the impersonated record, not the superuser. */
    enum rc rc = api_auth_write_token(c, col, record, false, seconds, (struct str){0});
    json_decref(record);
    return rc;
}
