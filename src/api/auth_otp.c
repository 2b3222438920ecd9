/* auth_otp.c -- one-time passwords by email (spec §6.8): request-otp and
 * auth-with-otp; and, tarmac's, by phone: request-otp with {phone} (E.164)
 * finds the account by its phone field and texts the code through an `sms`
 * job (core/notify/sms.h). A number no account holds gets a code all the
 * same when the collection lets accounts sign up (auth_otp_signup.c): its
 * OTP names no record (CORE_OTP_SIGNUP_REF) and auth-with-otp makes the
 * account before signing in.
 *
 * A code is a few random digits mailed to the account's address and kept
 * in the `_otps` system collection only as an HMAC (keyed by the
 * collection's secret; core/auth/otp.h), so the table alone does not give
 * the codes away. A request for an unknown email gets an
 * otpId too (never stored): the answer does not reveal accounts. A code
 * works once, until the collection's OTP duration passes; attempts count
 * against the per-identity rate limit, keyed by the otpId. */
#include "api/handlers.h"

#include <stdio.h>
#include <string.h>

#include "api/auth_int.h"
#include "api/errors.h"
#include "api/ratelimit.h"
#include "base/alloc.h"
#include "base/chrono.h"
#include "base/secure.h"
#include "core/record/exec_job.h"
#include "core/app.h"
#include "core/auth/otp.h"
#include "core/jobs/jobs_admin.h"
#include "core/jobs/runner.h"
#include "core/notify/sms.h"
#include "core/settings/settings.h"
#include "core/record/record_write.h"

struct otp_request {
    struct api_call *call;
    const struct core_collection *col;
    json_t *record; /* the account, for the template's {RECORD:*} */
    struct core_exec_job exec;
    struct core_jobs_action sms; /* by phone: the text's job */
    bool is_phone;
    char otp_id[16];
    char code[24];
    char to[256];
};

static void otp_release(void *ctx)
{
    struct otp_request *o = ctx;
    core_exec_job_cleanup(&o->exec);
    core_jobs_action_cleanup(&o->sms);
    json_decref(o->record);
    secure_zero(o->code, sizeof(o->code));
}

/* The start both OTP endpoints share: the path's auth collection, which
 * must allow OTP (403 otherwise), and the body. RC_OK, or the error
 * response is written. */
static enum rc otp_collection_or_fail(struct api_call *c, const struct core_collection **col)
{
    if (api_auth_collection_or_fail(c, col))
        return RC_INVALID;
    if (!(*col)->is_otp) {
        api_error_write(c->req, 403,
                        "The collection is not configured to allow OTP authentication.");
        return RC_INVALID;
    }
    return api_call_body_or_fail(c, "An error occurred while loading the submitted data.");
}

static void write_otp_id(struct api_call *c, const char *otp_id)
{
    http_resp_start(c->req, 200, "application/json");
    struct buf *out = http_resp_body(c->req);
    (void)buf_append_cstr(out, "{\"otpId\":\"");
    (void)buf_append_cstr(out, otp_id);
    (void)buf_append_cstr(out, "\"}");
}

static void text_queued(struct core_jobs_action *a)
{
    struct otp_request *o = a->ctx;
    struct api_call *c = o->call;
    if (!a->rc)
        core_jobs_wake(c->aw->core.app->jobs);
    if (!http_req_is_gone(c->req)) {
        if (a->rc)
            api_call_fail(c, a->rc);
        else
            write_otp_id(c, o->otp_id);
    }
    http_req_resume(c->req);
}

/* By phone: the code goes out as an `sms` job (core/notify/sms.h). */
static bool queue_text(struct otp_request *o)
{
    struct api_call *c = o->call;
    const char *app = core_app_settings(c->aw->core.app)->app_name;
    char text[320];
    snprintf(text, sizeof(text), "%.200s: your code is %s", app, o->code);
    json_t *body =
        json_pack("{s:s, s:{s:s, s:s}}", "kind", "sms", "payload", "to", o->to, "text", text);
    secure_zero(text, sizeof(text));
    enum rc rc = core_jobs_enqueue_parse(body, &o->sms, &c->problem);
    json_decref(body);
    if (rc)
        return false;
    o->sms.done = text_queued;
    o->sms.ctx = o;
    core_jobs_action_submit(&c->aw->core, &o->sms);
    return true;
}

static void otp_stored(struct core_exec_job *job)
{
    struct otp_request *o =
        (struct otp_request *)((char *)job - offsetof(struct otp_request, exec));
    struct api_call *c = o->call;
    if (job->rc == RC_OK && o->is_phone) {
        if (queue_text(o))
            return; /* answered when the job is queued */
        job->rc = RC_INTERNAL;
    } else if (job->rc == RC_OK) {
        struct core_mail_placeholder extra[] = {{"{OTP}", o->code}, {"{OTP_ID}", o->otp_id}};
        (void)core_app_send_auth_mail(&c->aw->core, o->col, CORE_MAIL_OTP, o->record, o->to, extra,
                                      2);
    }
    if (!http_req_is_gone(c->req)) {
        if (job->rc)
            api_call_fail(c, job->rc);
        else
            write_otp_id(c, o->otp_id);
    }
    http_req_resume(c->req);
}

enum rc api_auth_request_otp(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (otp_collection_or_fail(c, &col))
        return RC_OK;
    /* tarmac's phone login: {phone} instead of {email}, the code by SMS. */
    const char *phone = json_object_get(c->body, "email")
                            ? NULL
                            : json_string_value(json_object_get(c->body, "phone"));
    const char *email = NULL;
    if (phone) {
        if (!core_sms_is_e164(phone))
            core_problem_field(&c->problem, "phone", "validation_invalid_phone",
                               "Must be a phone number in E.164 form (+ then 7 to 15 digits).",
                               NULL);
        else if (!core_collection_field(col, STR_LIT("phone")))
            core_problem_field(&c->problem, "phone", "validation_not_supported",
                               "The collection has no phone field.", NULL);
        else if (!core_app_settings(c->aw->core.app)->sms_provider[0])
            core_problem_field(&c->problem, "phone", "validation_not_supported",
                               "No SMS provider is configured (settings sms.provider).", NULL);
        if (core_problem_has_fields(&c->problem)) {
            core_problem_message(&c->problem,
                                 "An error occurred while validating the submitted data.");
            return api_call_fail(c, RC_INVALID);
        }
    } else {
        email = api_auth_email_or_fail(c, "email");
        if (!email)
            return RC_OK;
    }
    struct otp_request *o = arena_alloc(req->arena, sizeof(*o));
    memset(o, 0, sizeof(*o));
    o->call = c;
    o->is_phone = phone != NULL;
    arena_defer(req->arena, otp_release, o);
    secure_random_id(o->otp_id, 15);
    json_t *record;
    enum rc rc = phone ? api_auth_find_identity(c, col, "phone", phone, &record)
                       : api_auth_find_identity(c, col, "email", email, &record);
    if (rc)
        return api_call_fail(c, rc);
    /* A new number: a sign-up code when the collection lets one sign up;
     * the answer is the same either way, so it tells no one which numbers
     * have accounts. */
    bool is_signup = !record && phone && api_auth_otp_is_signup_open(col);
    if (!record && !is_signup) {
        write_otp_id(c, o->otp_id); /* the same answer as for an account */
        return RC_OK;
    }
    int len = col->otp_length > 0 && col->otp_length < 20 ? col->otp_length : 8;
    secure_random_string(STR_LIT("0123456789"), o->code, (size_t)len);
    snprintf(o->to, sizeof(o->to), "%s",
             phone ? phone : json_string_value(json_object_get(record, "email")));
    char digest[65];
    core_otp_digest(col, o->otp_id, o->code, digest);
    core_otp_store_job(col, o->otp_id,
                       record ? json_string_value(json_object_get(record, "id"))
                              : CORE_OTP_SIGNUP_REF,
                       digest, o->to, &o->exec);
    o->exec.done = otp_stored;
    o->col = col;
    o->record = record; /* released with o */
    api_call_defer(c);  /* its budget pauses: the queue is not its cost */
    core_exec_submit(&c->aw->core, &o->exec);
    return RC_OK;
}

/* The login: the code is checked on the loop (an HMAC, microseconds), the
 * OTP deleted by the writer, then the auth response written. */
struct otp_login {
    struct api_call *call;
    const struct core_collection *col;
    struct core_exec_job exec;
    json_t *record;
    bool is_email_proven;
    struct core_write_job verify;
    struct core_auth root;
    struct core_request as_root;
};

static void login_release(void *ctx)
{
    struct otp_login *l = ctx;
    core_exec_job_cleanup(&l->exec);
    core_write_job_cleanup(&l->verify);
    json_decref(l->record);
}

static void respond(struct otp_login *l)
{
    struct api_call *c = l->call;
    json_t *fresh = NULL;
    const char *id = json_string_value(json_object_get(l->record, "id"));
    if (http_req_is_gone(c->req)) {
        http_req_resume(c->req);
    } else if (core_record_load(c->aw->core.db, l->col, str_from_cstr(id ? id : ""), &fresh) ==
               RC_OK) {
        api_auth_signin(c, l->col, fresh, "otp", (struct str){0}); /* resumes */
        json_decref(fresh);
    } else {
        api_call_fail(c, RC_INTERNAL);
        http_req_resume(c->req);
    }
}

static void verified_done(struct core_write_job *job)
{
    respond((struct otp_login *)((char *)job - offsetof(struct otp_login, verify)));
}

static void otp_deleted(struct core_exec_job *job)
{
    struct otp_login *l = (struct otp_login *)((char *)job - offsetof(struct otp_login, exec));
    if (job->rc || job->changes != 1) {
        /* Used by a concurrent login in the meantime: a code works once. */
        core_problem_message(&l->call->problem, "Invalid or expired OTP");
        if (!http_req_is_gone(l->call->req))
            api_call_fail(l->call, RC_INVALID);
        http_req_resume(l->call->req);
        return;
    }
    if (l->is_email_proven && !json_is_true(json_object_get(l->record, "verified"))) {
        /* The code reached the account's address: it is verified (as PocketBase). */
        l->root.is_superuser = true;
        l->as_root = l->call->core;
        l->as_root.auth = &l->root;
        l->verify.kind = CORE_WRITE_UPDATE;
        l->verify.schema = l->call->core.schema;
        l->verify.c = l->col;
        l->verify.request = &l->as_root;
        l->verify.id = xstrdup(json_string_value(json_object_get(l->record, "id")));
        l->verify.body = json_pack("{s:b}", "verified", 1);
        l->verify.done = verified_done;
        core_problem_init(&l->verify.problem);
        core_record_submit(&l->call->aw->core, &l->verify);
        return;
    }
    respond(l);
}

enum rc api_auth_with_otp(struct http_req *req, void *ctx)
{
    const struct api_limits *limits = ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (otp_collection_or_fail(c, &col))
        return RC_OK;
    const char *otp_id = json_string_value(json_object_get(c->body, "otpId"));
    const char *code = json_string_value(json_object_get(c->body, "password"));
    if (!otp_id || !otp_id[0])
        core_problem_field(&c->problem, "otpId", "validation_required", "Cannot be blank.", NULL);
    if (!code || !code[0])
        core_problem_field(&c->problem, "password", "validation_required", "Cannot be blank.",
                           NULL);
    json_t *create_data = json_object_get(c->body, "createData");
    if (create_data && !json_is_null(create_data) && !json_is_object(create_data))
        core_problem_field(&c->problem, "createData", "validation_invalid_value",
                           "Must be an object.", NULL);
    if (core_problem_has_fields(&c->problem)) {
        core_problem_message(&c->problem, "An error occurred while validating the submitted data.");
        return api_call_fail(c, RC_INVALID);
    }
    if (api_ratelimit_identity(c, limits, col->id, otp_id))
        return RC_OK; /* 429 written */
    char record_id[64] = "", sent_to[256] = "";
    bool ok = core_otp_check(&c->aw->core, col, otp_id, code, record_id, sent_to);
    if (ok && strcmp(record_id, CORE_OTP_SIGNUP_REF) == 0) {
        api_auth_otp_signup(c, col, otp_id, sent_to); /* answers */
        return RC_OK;
    }
    json_t *record = NULL;
    if (ok)
        ok = core_record_load(c->aw->core.db, col, str_from_cstr(record_id), &record) == RC_OK;
    if (!ok) {
        /* PocketBase's one answer for an unknown, expired, spent or wrong code. */
        core_problem_message(&c->problem, "Invalid or expired OTP");
        return api_call_fail(c, RC_INVALID);
    }
    struct otp_login *l = arena_alloc(req->arena, sizeof(*l));
    memset(l, 0, sizeof(*l));
    l->call = c;
    l->col = col;
    l->record = record;
    const char *email = json_string_value(json_object_get(record, "email"));
    l->is_email_proven = email && strcasecmp(email, sent_to) == 0;
    arena_defer(req->arena, login_release, l);
    core_otp_spend_job(otp_id, &l->exec);
    l->exec.done = otp_deleted;
    api_call_defer(c); /* its budget pauses: the queue is not its cost */
    core_exec_submit(&c->aw->core, &l->exec);
    return RC_OK;
}
