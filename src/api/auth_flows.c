/* auth_flows.c -- the mail-based auth flows of spec §6.5-§6.8: email
 * verification, password reset, email change, one-time passwords.
 *
 * Every request-* answers 204 (or, for OTP, an otpId) whether or not the
 * account exists, so the endpoints do not reveal accounts. Tokens are the
 * record's own kind-specific JWTs (core/auth.h): a password or email change
 * rotates tokenKey and so ends them. Record changes are writer jobs made as
 * a superuser of the collection would (the token or code is the proof);
 * password hashing and checking run on the offload pool. Mails go through
 * the collection's templates (core/auth/mail.h) and the job queue's email
 * kind (to the log when no SMTP host is set). */
#include "api/handlers.h"

#include <stdio.h>
#include <string.h>

#include "api/auth_int.h"
#include "api/errors.h"
#include "api/ratelimit.h"
#include "base/alloc.h"
#include "base/chrono.h"
#include "base/email.h"
#include "base/log.h"
#include "base/secure.h"
#include "core/record/exec_job.h"
#include "core/credential/password.h"
#include "core/record/record_write.h"
#include "core/credential/token.h"
#include "net/mailer.h"
#include "net/offload.h"

/* -------------------------------------------------------------------------
 * Shared pieces
 * ------------------------------------------------------------------------- */

/* Mails a token through the collection's template of kind: the record is
 * the auth record (for {RECORD:*}), to the address the mail goes to. */
static void mail_token(struct api_call *c, const struct core_collection *col,
                       enum core_mail_kind kind, json_t *record, const char *to,
                       const struct buf *token)
{
    char *t = xstrndup(token->data, token->len);
    struct core_mail_placeholder extra[] = {{"{TOKEN}", t}};
    (void)core_app_send_auth_mail(&c->aw->core, col, kind, record, to, extra, 1);
    xfree(t);
}

const char *api_auth_email_or_fail(struct api_call *c, const char *key)
{
    json_t *v = json_object_get(c->body, key);
    const char *email = json_string_value(v);
    if (!email || !email[0]) {
        core_problem_field(&c->problem, key, "validation_required", "Cannot be blank.", NULL);
    } else if (!email_is_valid((struct str){email, json_string_length(v)})) {
        core_problem_field(&c->problem, key, "validation_is_email",
                           "Must be a valid email address.", NULL);
    }
    if (core_problem_has_fields(&c->problem)) {
        core_problem_message(&c->problem, "An error occurred while validating the submitted data.");
        api_call_fail(c, RC_INVALID);
        return NULL;
    }
    return email;
}

static void no_content(struct api_call *c)
{
    http_resp_start(c->req, 204, NULL);
}

/* A record change in flight, made with the rights of a superuser. */
struct flow {
    struct api_call *call;
    const struct core_collection *col;
    json_t *record; /* the record the token/code names, every field */
    struct core_auth root;
    struct core_request as_root;
    struct core_write_job job;
    struct core_exec_job exec;
    char *secret; /* a password to hash or check (wiped) */
    char *stored_phc;
    struct buf hash;
    enum rc work_rc;
    int step; /* what the completion does next */
    char otp_id[16];
};

static void flow_release(void *ctx)
{
    struct flow *f = ctx;
    json_decref(f->record);
    core_write_job_cleanup(&f->job);
    core_exec_job_cleanup(&f->exec);
    if (f->secret) {
        secure_zero(f->secret, strlen(f->secret));
        xfree(f->secret);
    }
    xfree(f->stored_phc);
    buf_cleanup(&f->hash);
}

static struct flow *flow_new(struct api_call *c, const struct core_collection *col, json_t *record)
{
    struct flow *f = arena_alloc(c->req->arena, sizeof(*f));
    memset(f, 0, sizeof(*f));
    f->call = c;
    f->col = col;
    f->record = record;
    f->root.is_superuser = true;
    f->as_root = c->core;
    f->as_root.auth = &f->root;
    core_problem_init(&f->job.problem);
    buf_init(&f->hash, 256);
    arena_defer(c->req->arena, flow_release, f);
    return f;
}

static void update_done(struct core_write_job *job)
{
    struct flow *f = (struct flow *)((char *)job - offsetof(struct flow, job));
    struct api_call *c = f->call;
    if (!http_req_is_gone(c->req)) {
        if (job->rc) {
            api_call_take_problem(c, &job->problem);
            api_call_fail(c, job->rc);
        } else {
            no_content(c);
        }
    }
    http_req_resume(c->req);
}

/* Writes body into the flow's record as a superuser would; 204 when done. */
static void submit_update(struct flow *f, json_t *body)
{
    f->job.kind = CORE_WRITE_UPDATE;
    f->job.schema = f->call->core.schema;
    f->job.c = f->col;
    f->job.request = &f->as_root;
    f->job.id = xstrdup(json_string_value(json_object_get(f->record, "id")));
    f->job.body = body; /* takes it */
    f->job.done = update_done;
    if (f->hash.len)
        core_write_job_add_hash(&f->job, "password", buf_str(&f->hash));
    core_record_submit(&f->call->aw->core, &f->job);
}

static enum rc token_or_fail(struct api_call *c, const char *kind,
                             const struct core_collection *col, json_t **record,
                             struct core_token_claims *claims)
{
    const char *token = json_string_value(json_object_get(c->body, "token"));
    const struct core_collection *tcol = NULL;
    if (!token ||
        core_auth_verify_kind(&c->aw->core, c->core.schema, str_from_cstr(token), kind,
                              chrono_real_ms() / 1000, &tcol, record, claims) != RC_OK ||
        tcol != col) {
        if (*record) {
            json_decref(*record);
            *record = NULL;
            core_token_claims_cleanup(claims);
        }
        core_problem_field(&c->problem, "token",
                           token ? "validation_invalid_token" : "validation_required",
                           token ? "Invalid or expired token." : "Cannot be blank.", NULL);
        core_problem_message(&c->problem, "An error occurred while validating the submitted data.");
        api_call_fail(c, RC_INVALID);
        return RC_INVALID;
    }
    return RC_OK;
}

/* The token's email claim must still be the record's email. */
static bool email_claim_matches(const struct core_token_claims *claims, json_t *record)
{
    const char *email = json_string_value(json_object_get(record, "email"));
    return claims->email.ptr && email && str_eq_nocase(claims->email, str_from_cstr(email));
}

/* The start every confirm-* shares: the auth collection, the body and a
 * valid token of kind. *email_ok: the token's email claim is still the
 * record's; new_email (may be NULL) gets the newEmail claim. RC_OK, or the
 * error response is written. */
/* PocketBase: superusers are verified by definition, so both verification
 * routes of _superusers are a 400 before anything else is looked at. */
static bool superusers_verified_or_fail(struct api_call *c, const struct core_collection *col,
                                        const char *kind)
{
    if (strcmp(kind, "verification") != 0 || strcmp(col->name, "_superusers") != 0)
        return false;
    api_error_write(c->req, 400, "All superusers are verified by default.");
    return true;
}

static enum rc confirm_start(struct http_req *req, const char *kind, struct api_call **cp,
                             const struct core_collection **col, json_t **record, bool *email_ok,
                             json_t **new_email)
{
    struct api_call *c = api_call_new(req);
    *cp = c;
    if (api_auth_collection_or_fail(c, col) || superusers_verified_or_fail(c, *col, kind) ||
        api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_INVALID;
    struct core_token_claims claims;
    if (token_or_fail(c, kind, *col, record, &claims))
        return RC_INVALID;
    *email_ok = email_claim_matches(&claims, *record);
    if (new_email)
        *new_email = claims.new_email.ptr && claims.new_email.len
                         ? json_stringn(claims.new_email.ptr, claims.new_email.len)
                         : NULL;
    core_token_claims_cleanup(&claims);
    return RC_OK;
}

/* A token mail request as request-verification and request-password-reset
 * share it: find the account by the body's email and, when it exists (and,
 * with only_unverified, is not verified yet), mail it a token of kind. The
 * answer is 204 either way, so accounts are not revealed. */
struct token_mail {
    const char *kind;
    enum core_token_kind token; /* its duration is the collection's option */
    bool only_unverified;
    enum core_mail_kind mail; /* the collection's template */
};

static enum rc request_token_mail(struct http_req *req, const struct token_mail *m)
{
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_auth_collection_or_fail(c, &col) || superusers_verified_or_fail(c, col, m->kind) ||
        api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    const char *email = api_auth_email_or_fail(c, "email");
    if (!email)
        return RC_OK;
    json_t *record;
    enum rc rc = api_auth_find_identity(c, col, "email", email, &record);
    if (rc)
        return api_call_fail(c, rc);
    if (record && !(m->only_unverified && json_is_true(json_object_get(record, "verified")))) {
        struct buf token;
        buf_init(&token, 8192);
        const char *to = json_string_value(json_object_get(record, "email"));
        if (core_auth_issue_kind(col, record, m->kind,
                                 chrono_real_ms() / 1000 + col->tokens[m->token].duration_s, to,
                                 NULL, &token) == RC_OK)
            mail_token(c, col, m->mail, record, to, &token);
        buf_cleanup(&token);
    }
    json_decref(record);
    no_content(c);
    return RC_OK;
}

/* -------------------------------------------------------------------------
 * Verification (§6.5)
 * ------------------------------------------------------------------------- */

enum rc api_auth_request_verification(struct http_req *req, void *ctx)
{
    (void)ctx;
    static const struct token_mail verification = {
        .kind = "verification",
        .token = CORE_TOKEN_VERIFICATION,
        .only_unverified = true,
        .mail = CORE_MAIL_VERIFICATION,
    };
    return request_token_mail(req, &verification);
}

enum rc api_auth_confirm_verification(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c;
    const struct core_collection *col;
    json_t *record = NULL;
    bool matches;
    if (confirm_start(req, "verification", &c, &col, &record, &matches, NULL))
        return RC_OK;
    if (!matches) {
        json_decref(record);
        core_problem_field(&c->problem, "token", "validation_token_email_mismatch",
                           "The token email does not match the record email.", NULL);
        core_problem_message(&c->problem, "An error occurred while validating the submitted data.");
        return api_call_fail(c, RC_INVALID);
    }
    if (json_is_true(json_object_get(record, "verified"))) {
        json_decref(record);
        no_content(c);
        return RC_OK;
    }
    struct flow *f = flow_new(c, col, record);
    api_call_defer(c); /* its budget pauses: the queue is not its cost */
    submit_update(f, json_pack("{s:b}", "verified", 1));
    return RC_OK;
}

/* -------------------------------------------------------------------------
 * Password reset (§6.6)
 * ------------------------------------------------------------------------- */

enum rc api_auth_request_password_reset(struct http_req *req, void *ctx)
{
    (void)ctx;
    static const struct token_mail password_reset = {
        .kind = "passwordReset",
        .token = CORE_TOKEN_PASSWORD_RESET,
        .only_unverified = false,
        .mail = CORE_MAIL_RESET_PASSWORD,
    };
    return request_token_mail(req, &password_reset);
}

static void reset_hashed(enum rc rc, void *ctx)
{
    struct flow *f = ctx;
    struct api_call *c = f->call;
    if (rc || f->work_rc) {
        if (!http_req_is_gone(c->req))
            api_call_fail(c, rc ? rc : f->work_rc);
        http_req_resume(c->req);
        return;
    }
    /* The mail reached its owner: the address is proven too. */
    submit_update(f, json_pack("{s:s, s:s, s:b}", "password", f->secret, "passwordConfirm",
                               f->secret, "verified", 1));
}

static void hash_work(void *ctx)
{
    struct flow *f = ctx;
    struct core_app *app = f->call->aw->core.app;
    struct core_password_params params = {.m_kib = app->password_m_kib, .t = app->password_t};
    f->work_rc = core_password_hash(str_from_cstr(f->secret), params, &f->hash);
}

enum rc api_auth_confirm_password_reset(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c;
    const struct core_collection *col;
    json_t *record = NULL;
    bool matches;
    if (confirm_start(req, "passwordReset", &c, &col, &record, &matches, NULL))
        return RC_OK;
    /* Validate the new password as a create would (length, confirmation). */
    json_t *body = json_pack("{s:O?, s:O?}", "password", json_object_get(c->body, "password"),
                             "passwordConfirm", json_object_get(c->body, "passwordConfirm"));
    struct core_record_input in = {0};
    struct core_request as_user = c->core; /* not a superuser: passwordConfirm is required */
    enum rc rc = core_record_input_build(&as_user, col, body, record, &in, &c->problem);
    json_decref(body);
    if (!matches)
        core_problem_field(&c->problem, "token", "validation_token_email_mismatch",
                           "The token email does not match the record email.", NULL);
    if (!in.password && !core_problem_has_fields(&c->problem))
        core_problem_field(&c->problem, "password", "validation_required", "Cannot be blank.",
                           NULL);
    if (rc || core_problem_has_fields(&c->problem)) {
        core_record_input_cleanup(&in);
        json_decref(record);
        core_problem_message(&c->problem, "An error occurred while validating the submitted data.");
        return api_call_fail(c, RC_INVALID);
    }
    struct flow *f = flow_new(c, col, record);
    f->secret = xstrdup(in.password);
    core_record_input_cleanup(&in);
    api_call_defer(c); /* its budget pauses: the queue is not its cost */
    if (net_offload_submit(c->aw->core.app->offload, c->aw->core.mailbox, hash_work, reset_hashed,
                           f) != RC_OK) {
        api_call_fail(c, RC_BUSY);
        http_req_resume(req);
    }
    return RC_OK;
}

/* -------------------------------------------------------------------------
 * Email change (§6.7)
 * ------------------------------------------------------------------------- */

enum rc api_auth_request_email_change(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_auth_same_collection_or_fail(c, &col))
        return RC_OK;
    if (api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    const char *new_email = api_auth_email_or_fail(c, "newEmail");
    if (!new_email)
        return RC_OK;
    json_t *taken;
    enum rc rc = api_auth_find_identity(c, col, "email", new_email, &taken);
    if (rc)
        return api_call_fail(c, rc);
    if (taken) {
        json_decref(taken);
        core_problem_field(&c->problem, "newEmail", "validation_invalid_new_email",
                           "Invalid new email address.", NULL);
        core_problem_message(&c->problem, "An error occurred while validating the submitted data.");
        return api_call_fail(c, RC_INVALID);
    }
    struct buf token;
    buf_init(&token, 8192);
    const char *current = json_string_value(json_object_get(c->auth.record, "email"));
    if (core_auth_issue_kind(col, c->auth.record, "emailChange",
                             chrono_real_ms() / 1000 +
                                 col->tokens[CORE_TOKEN_EMAIL_CHANGE].duration_s,
                             current ? current : "", new_email, &token) == RC_OK) {
        mail_token(c, col, CORE_MAIL_CONFIRM_EMAIL_CHANGE, c->auth.record, new_email, &token);
    }
    buf_cleanup(&token);
    no_content(c);
    return RC_OK;
}

static void verify_work(void *ctx)
{
    struct flow *f = ctx;
    f->work_rc = core_password_verify(str_from_cstr(f->secret),
                                      str_from_cstr(f->stored_phc ? f->stored_phc : ""));
}

static void email_change_checked(enum rc rc, void *ctx)
{
    struct flow *f = ctx;
    struct api_call *c = f->call;
    if (rc || f->work_rc) {
        if (!http_req_is_gone(c->req)) {
            if (rc) {
                api_call_fail(c, rc);
            } else {
                core_problem_field(&c->problem, "password", "validation_invalid_password",
                                   "Missing or invalid auth record password.", NULL);
                core_problem_message(&c->problem,
                                     "An error occurred while validating the submitted data.");
                api_call_fail(c, RC_INVALID);
            }
        }
        http_req_resume(c->req);
        return;
    }
    const char *new_email = json_string_value(json_object_get(f->record, "_newEmail"));
    submit_update(f, json_pack("{s:s, s:b}", "email", new_email ? new_email : "", "verified", 1));
}

enum rc api_auth_confirm_email_change(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c;
    const struct core_collection *col;
    json_t *record = NULL;
    json_t *new_email = NULL;
    bool matches;
    if (confirm_start(req, "emailChange", &c, &col, &record, &matches, &new_email))
        return RC_OK;
    matches = matches && new_email;
    if (new_email)
        json_object_set_new(record, "_newEmail", new_email);
    const char *password = json_string_value(json_object_get(c->body, "password"));
    if (!matches || !password || !password[0]) {
        json_decref(record);
        if (!matches)
            core_problem_field(&c->problem, "token", "validation_invalid_token_claims",
                               "Invalid token claims.", NULL);
        if (!password || !password[0])
            core_problem_field(&c->problem, "password", "validation_required", "Cannot be blank.",
                               NULL);
        core_problem_message(&c->problem, "An error occurred while validating the submitted data.");
        return api_call_fail(c, RC_INVALID);
    }
    struct flow *f = flow_new(c, col, record);
    f->secret = xstrdup(password);
    const char *phc = json_string_value(json_object_get(record, "password"));
    f->stored_phc = xstrdup(phc ? phc : "");
    api_call_defer(c); /* its budget pauses: the queue is not its cost */
    if (net_offload_submit(c->aw->core.app->offload, c->aw->core.mailbox, verify_work,
                           email_change_checked, f) != RC_OK) {
        api_call_fail(c, RC_BUSY);
        http_req_resume(req);
    }
    return RC_OK;
}
