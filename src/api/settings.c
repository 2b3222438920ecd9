/* settings.c -- the settings endpoints (spec §9.3), for superusers: GET and
 * PATCH /api/settings (core/settings/settings.h: the model, its checks and
 * the locked values; core/settings_change.h: the change as a writer job,
 * applied live; GET's answer also lists in "secretsSet" the write-only
 * secrets that hold a value, never the values), POST
 * /api/settings/test/email and /test/s3, and POST
 * /api/settings/apple/generate-client-secret.
 *
 * Sign in with Apple wants its client secret as an ES256 JWT signed with the
 * developer's .p8 key (core_oauth2_apple_secret); as in PocketBase, the
 * dashboard or a script asks for one here and stores it as the apple
 * provider's clientSecret. The key is used for the one signature and never
 * kept. The input is checked as PocketBase's form checks it (team and key
 * ids of 10 characters, a PKCS #8 PEM, a duration up to ~6 months, Apple's
 * limit). The signature takes ~50 µs: it runs on the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/call.h"
#include "api/handlers.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "base/jsonw.h"
#include "base/secure.h"
#include "base/email.h"
#include "core/auth/oauth2.h"
#include "core/app.h"
#include "core/files/storage.h"
#include "core/settings_change.h"
#include "net/offload.h"

#define APPLE_MAX_DURATION_S 15777000 /* Apple refuses secrets valid longer (~6 months) */

/* The string at key of the body; "" (and a field error when present but
 * not a string) otherwise. */
static const char *body_string(struct api_call *c, const char *key)
{
    json_t *v = json_object_get(c->body, key);
    if (v && !json_is_null(v) && !json_is_string(v))
        core_problem_field(&c->problem, key, "validation_invalid_value", "Must be a string.", NULL);
    return json_is_string(v) ? json_string_value(v) : "";
}

static void check_id(struct api_call *c, const char *key, const char *v)
{
    if (!v[0])
        core_problem_field(&c->problem, key, "validation_required", "Cannot be blank.", NULL);
    else if (strlen(v) != 10)
        core_problem_field(&c->problem, key, "validation_length_invalid",
                           "The length must be exactly 10.", NULL);
}

/* PocketBase's pattern: -----BEGIN PRIVATE KEY---- ... -----END PRIVATE KEY----- */
static bool looks_like_pkcs8(const char *pem)
{
    const char *begin = strstr(pem, "-----BEGIN PRIVATE KEY----");
    return begin && strstr(begin + 26, "-----END PRIVATE KEY-----");
}

enum rc api_settings_apple_secret(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    if (api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    const char *client_id = body_string(c, "clientId");
    const char *team_id = body_string(c, "teamId");
    const char *key_id = body_string(c, "keyId");
    const char *pem = body_string(c, "privateKey");
    if (!client_id[0])
        core_problem_field(&c->problem, "clientId", "validation_required", "Cannot be blank.",
                           NULL);
    check_id(c, "teamId", team_id);
    check_id(c, "keyId", key_id);
    if (!pem[0])
        core_problem_field(&c->problem, "privateKey", "validation_required", "Cannot be blank.",
                           NULL);
    else if (!looks_like_pkcs8(pem))
        core_problem_field(&c->problem, "privateKey", "validation_match_invalid",
                           "Must be in a valid format.", NULL);
    /* Seconds; a form sends text, and a whole number in it counts as the
     * number. Absent, null or "" is blank (0); anything else is below 1. */
    json_t *duration = json_object_get(c->body, "duration");
    json_int_t seconds = -1;
    uint64_t v;
    if (!duration || json_is_null(duration) ||
        (json_is_string(duration) && !json_string_length(duration)))
        seconds = 0;
    else if (json_is_integer(duration))
        seconds = json_integer_value(duration);
    else if (json_is_string(duration) &&
             strspn(json_string_value(duration), "0123456789") == json_string_length(duration))
        seconds =
            !str_to_u64(str_from_cstr(json_string_value(duration)), &v) || v > APPLE_MAX_DURATION_S
                ? APPLE_MAX_DURATION_S + 1 /* past u64 too: too long */
                : (json_int_t)v;
    if (seconds == 0)
        core_problem_field(&c->problem, "duration", "validation_required", "Cannot be blank.",
                           NULL);
    else if (seconds < 0)
        core_problem_field(&c->problem, "duration", "validation_min_greater_equal_than_required",
                           "Must be no less than 1.", NULL);
    else if (seconds > APPLE_MAX_DURATION_S)
        core_problem_field(&c->problem, "duration", "validation_max_less_equal_than_required",
                           "Must be no greater than 15777000.", NULL);
    if (core_problem_has_fields(&c->problem)) {
        core_problem_message(&c->problem, "Invalid client secret data.");
        return api_call_fail(c, RC_INVALID);
    }
    struct buf secret;
    buf_init(&secret, 8192);
    enum rc rc = core_oauth2_apple_secret(team_id, key_id, client_id, str_from_cstr(pem),
                                          (int64_t)seconds, chrono_real_ms() / 1000, &secret);
    if (rc) {
        buf_cleanup(&secret);
        core_problem_field(&c->problem, "privateKey", "validation_invalid_key",
                           "Not an unencrypted EC P-256 private key (Apple's .p8 file).", NULL);
        core_problem_message(&c->problem, "Failed to generate client secret.");
        return api_call_fail(c, RC_INVALID);
    }
    struct buf *body = api_call_start(c, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, body);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "secret");
    jsonw_string(&w, buf_str(&secret));
    jsonw_object_end(&w);
    rc = jsonw_finish(&w);
    secure_zero(secret.data, secret.len);
    buf_cleanup(&secret);
    return rc;
}

/* -------------------------------------------------------------------------
 * GET and PATCH /api/settings
 * ------------------------------------------------------------------------- */

/* The secrets GET leaves out (the keys of value that the public copy pub
 * lacks) that hold something: their dotted paths appended to out, so a
 * client can say "set" or "not set" without ever seeing one. */
static void secrets_set(json_t *value, json_t *pub, const char *prefix, json_t *out)
{
    const char *k;
    json_t *v;
    json_object_foreach(value, k, v)
    {
        char path[160];
        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", k);
        json_t *p = json_object_get(pub, k);
        if (p && json_is_object(v))
            secrets_set(v, p, path, out);
        else if (!p && ((json_is_string(v) && json_string_length(v)) ||
                        (json_is_array(v) && json_array_size(v))))
            json_array_append_new(out, json_string(path));
    }
}

static enum rc write_settings(struct api_call *c)
{
    const struct core_settings *s = core_app_settings(c->aw->core.app);
    json_t *o = core_settings_public(s);
    /* tarmac's, beside "locked": which write-only secrets are set. */
    json_t *set = json_array();
    secrets_set(s->value, o, "", set);
    json_object_set_new(o, "secretsSet", set);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return RC_INTERNAL;
    struct buf *out = api_call_start(c, 200, "application/json");
    enum rc rc = buf_append(out, text, strlen(text));
    xfree(text);
    return rc;
}

enum rc api_settings_view(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    return write_settings(c);
}

static void change_done(struct core_settings_change *ch, enum rc rc)
{
    struct api_call *c = ch->ctx;
    if (api_call_reenter(c)) {
        if (rc) {
            api_call_take_problem(c, &ch->problem);
            api_call_fail(c, rc);
        } else if (write_settings(c) != RC_OK) {
            api_call_fail(c, RC_INTERNAL);
        }
        api_call_resume(c);
    }
    core_settings_change_free(ch);
}

enum rc api_settings_update(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    if (api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    /* GET's own key, sent back by a client that PATCHes what it read. */
    if (json_is_object(c->body))
        json_object_del(c->body, "secretsSet");
    api_call_defer(c);
    (void)core_settings_change_submit(&c->aw->core, c->body, change_done, c);
    return RC_OK;
}

/* -------------------------------------------------------------------------
 * POST /api/settings/test/email and /test/s3
 * ------------------------------------------------------------------------- */

enum rc api_settings_test_email(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    if (api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    const char *email = body_string(c, "email");
    const char *tmpl = body_string(c, "template");
    const char *collection = body_string(c, "collection");
    /* PocketBase's TestEmailSend form (forms/test_email_send.go). */
    const struct core_collection *col =
        core_schema_find(c->core.schema, str_from_cstr(collection[0] ? collection : "_superusers"));
    if (strlen(collection) > 255 || !col || col->type != CORE_COLLECTION_AUTH)
        core_problem_field(&c->problem, "collection", "validation_invalid_auth_collection",
                           "Must be a valid auth collection id or name.", NULL);
    if (!email[0])
        core_problem_field(&c->problem, "email", "validation_required", "Cannot be blank.", NULL);
    else if (strlen(email) > 255)
        core_problem_field(&c->problem, "email", "validation_length_out_of_range",
                           "The length must be between 1 and 255.", NULL);
    else if (!email_is_valid(str_from_cstr(email)))
        core_problem_field(&c->problem, "email", "validation_is_email",
                           "must be a valid email address", NULL);
    static const char *const names[] = {"verification", "password-reset", "email-change", "otp",
                                        "login-alert"};
    bool is_known = false;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        is_known = is_known || strcmp(tmpl, names[i]) == 0;
    if (!tmpl[0])
        core_problem_field(&c->problem, "template", "validation_required", "Cannot be blank.",
                           NULL);
    else if (!is_known)
        core_problem_field(&c->problem, "template", "validation_in_invalid",
                           "Must be a valid value.", NULL);
    if (core_problem_has_fields(&c->problem)) {
        core_problem_message(&c->problem, "Failed to send the test email.");
        return api_call_fail(c, RC_INVALID);
    }
    /* Queued as an `email` job, as every mail of the app: the SMTP outcome
     * is in the job's record (GET /api/jobs), not in this answer. */
    enum rc rc = core_settings_test_mail(&c->aw->core, col, tmpl, email);
    if (rc) {
        core_problem_message(&c->problem, "Failed to send the test email.");
        return api_call_fail(c, rc == RC_BUSY ? RC_BUSY : RC_INVALID);
    }
    api_call_start(c, 204, NULL);
    return RC_OK;
}

struct s3_test {
    struct api_call *call;
    const struct net_s3_config *s3;
    enum rc rc;
    char error[600];
};

static void s3_test_work(void *ctx)
{
    struct s3_test *t = ctx;
    t->rc = core_storage_s3_check(t->s3, t->error, sizeof(t->error));
}

static void s3_test_done(enum rc rc, void *ctx)
{
    struct s3_test *t = ctx;
    struct api_call *c = t->call;
    if (!api_call_reenter(c))
        return;
    if (!rc)
        rc = t->rc;
    if (rc == RC_BUSY) {
        api_call_fail(c, rc);
    } else if (rc) {
        char msg[700];
        snprintf(msg, sizeof(msg), "Failed to test the S3 filesystem. Raw error: \n%s",
                 t->error[0] ? t->error : rc_text(rc));
        core_problem_message(&c->problem, msg);
        api_call_fail(c, RC_INVALID);
    } else {
        api_call_start(c, 204, NULL);
    }
    api_call_resume(c);
}

enum rc api_settings_test_s3(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    if (api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    const char *fs = body_string(c, "filesystem");
    if (!fs[0])
        core_problem_field(&c->problem, "filesystem", "validation_required", "Cannot be blank.",
                           NULL);
    else if (strcmp(fs, "storage") != 0 && strcmp(fs, "backups") != 0)
        core_problem_field(&c->problem, "filesystem", "validation_in_invalid",
                           "Must be a valid value.", NULL);
    if (core_problem_has_fields(&c->problem)) {
        core_problem_message(&c->problem, "Failed to test the S3 filesystem.");
        return api_call_fail(c, RC_INVALID);
    }
    const struct core_settings *st = core_app_settings(c->aw->core.app);
    const struct core_settings_s3 *s3 = strcmp(fs, "backups") == 0 ? &st->backups_s3 : &st->s3;
    if (!s3->is_enabled) {
        core_problem_message(&c->problem, "Failed to test the S3 filesystem. Raw error: \nS3 "
                                          "storage filesystem is not enabled");
        return api_call_fail(c, RC_INVALID);
    }
    /* The round trips run on the pool; the snapshot (and so s3's strings)
     * lives until the app closes. */
    struct s3_test *t = arena_alloc(c->req->arena, sizeof(*t));
    memset(t, 0, sizeof(*t));
    t->call = c;
    t->s3 = &s3->cfg;
    api_call_defer(c);
    enum rc rc = net_offload_submit(c->aw->core.app->offload, c->aw->core.mailbox, s3_test_work,
                                    s3_test_done, t);
    if (rc) {
        api_call_enter(c);
        api_call_fail(c, rc);
        api_call_resume(c);
    }
    return RC_OK;
}
