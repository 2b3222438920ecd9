/* auth_signin.c -- what every sign-in does once its credentials succeeded
 * (password, OTP, OAuth2), as PocketBase's recordAuthResponse: the
 * authRule, the scripts' before_auth hooks, MFA, the new-origin alert, the
 * auth response, the after_auth hooks.
 *
 * MFA (spec §6.9, core/auth/mfa.h): when the collection's mfa applies to the
 * record, a sign-in without mfaId leaves an `_mfas` session and answers 401
 * {"mfaId"}; one with mfaId (query first, then body, as PocketBase reads it)
 * must name a live session of this record from another method, which it
 * consumes before signing in. The alert (core/auth_alert.h) records the
 * client's origin and, for a new device, enqueues the mail in the same
 * transaction; its failure is logged, never the client's. Each step that
 * writes waits for the writer, then goes on from its callback on the same
 * loop; the request stays deferred until the last one answers. */
#include "api/handlers.h"

#include <string.h>

#include "api/auth_int.h"
#include "api/errors.h"
#include "base/log.h"
#include "core/auth/mfa.h"
#include "core/auth_alert.h"
#include "core/hooks/hooks.h"
#include "core/record/exec_job.h"

/* One sign-in past its credentials, in the request's arena. */
struct signin {
    struct api_call *call;
    const struct core_collection *col;
    json_t *record; /* a reference, dropped with the request */
    const char *id; /* inside record */
    const char *method;
    struct str meta;                  /* in the arena; empty but for OAuth2 */
    char mfa_id[CORE_MFA_ID_LEN + 1]; /* a session this sign-in started */
    struct core_exec_job mfa;         /* starting or ending a session */
    struct core_auth_alert_job alert; /* the origin and its mail */
};

static void release(void *ctx)
{
    struct signin *s = ctx;
    core_exec_job_cleanup(&s->mfa);
    core_auth_alert_job_cleanup(&s->alert);
    json_decref(s->record);
}

/* The scripts' before_auth hooks may refuse the sign-in (their status,
 * message and field errors); false when they did and the answer is written. */
static bool before_auth_or_fail(struct api_call *c, const struct core_collection *col,
                                json_t *record, const char *method)
{
    struct core_problem p;
    core_problem_init(&p);
    int status = 500;
    enum rc rc = core_hooks_auth(false, col, method, record, &p, &status);
    if (rc) {
        http_resp_start(c->req, status, "application/json");
        api_error_render(http_resp_body(c->req), status, p.message[0] ? p.message : NULL, p.data);
    }
    core_problem_cleanup(&p);
    return rc == RC_OK;
}

/* Answers a 400 with message and resumes. */
static void refuse(struct signin *s, const char *message)
{
    core_problem_message(&s->call->problem, message);
    api_call_fail(s->call, RC_INVALID);
    api_call_resume(s->call);
}

/* True when the client is still there; otherwise the request is resumed
 * (and ends) and the sign-in goes no further. */
/* The last step: the token, then the after_auth hooks. */
static void answer(struct signin *s)
{
    struct api_call *c = s->call;
    enum rc rc = api_auth_write_token(c, s->col, s->record, true, 0, s->meta);
    if (!rc && http_resp_is_started(c->req)) {
        struct core_problem p;
        core_problem_init(&p);
        int status;
        (void)core_hooks_auth(true, s->col, s->method, s->record, &p, &status);
        core_problem_cleanup(&p);
    }
    api_call_resume(c);
}

static void alerted(struct core_auth_alert_job *job)
{
    struct signin *s = job->ctx;
    if (job->rc)
        log_warn("msg=\"sign-in origin not recorded\" collection=%s rc=%s", s->col->name,
                 rc_name(job->rc));
    if (api_call_reenter(s->call))
        answer(s);
}

/* After MFA: the origin (and maybe the alert mail) when authAlert is on. */
static void after_mfa(struct signin *s)
{
    struct api_call *c = s->call;
    if (!s->col->auth_alert.is_enabled) {
        answer(s);
        return;
    }
    struct str ip = str_from_cstr(c->req->remote_addr ? c->req->remote_addr : "");
    enum rc rc = core_auth_alert_prepare(&c->aw->core, s->col, s->record, ip,
                                         http_req_header(c->req, "user-agent"), &s->alert);
    if (rc)
        log_warn("msg=\"sign-in alert not rendered\" collection=%s rc=%s", s->col->name,
                 rc_name(rc)); /* the origin is still recorded */
    s->alert.done = alerted;
    s->alert.ctx = s;
    core_auth_alert_submit(&c->aw->core, &s->alert);
}

/* A first factor: the session is stored, the client is told its id. */
static void mfa_started(struct core_exec_job *job)
{
    struct signin *s = job->ctx;
    if (!api_call_reenter(s->call))
        return;
    if (job->rc) {
        api_call_fail(s->call, job->rc);
    } else {
        /* PocketBase's body here is {"mfaId"}, not the error shape. */
        struct buf *out = api_call_start(s->call, 401, "application/json");
        (void)buf_append_cstr(out, "{\"mfaId\":\"");
        (void)buf_append_cstr(out, s->mfa_id);
        (void)buf_append_cstr(out, "\"}");
    }
    api_call_resume(s->call);
}

/* A second factor consumed its session: signed in, unless a concurrent one
 * got there first (a session works once). */
static void mfa_ended(struct core_exec_job *job)
{
    struct signin *s = job->ctx;
    if (!api_call_reenter(s->call))
        return;
    if (job->rc) {
        api_call_fail(s->call, job->rc);
        api_call_resume(s->call);
    } else if (job->changes != 1) {
        refuse(s, "Invalid or expired MFA session.");
    } else {
        after_mfa(s);
    }
}

/* An expired session named by a second factor is deleted, then refused. */
static void mfa_expired(struct core_exec_job *job)
{
    struct signin *s = job->ctx;
    if (api_call_reenter(s->call))
        refuse(s, "Invalid or expired MFA session.");
}

/* The mfaId a second factor sends: the query's, else the body's. NULL with
 * the 400 written when the body's is not a string. */
static bool read_mfa_id(struct signin *s, struct str *out)
{
    struct api_call *c = s->call;
    *out = api_call_query(c, "mfaId");
    if (out->len)
        return true;
    json_t *v = json_object_get(c->body, "mfaId");
    if (v && !json_is_null(v) && !json_is_string(v)) {
        refuse(s, "Failed to read MFA Id.");
        return false;
    }
    *out = (struct str){json_string_value(v), json_string_length(v)};
    return true;
}

static void check_mfa(struct signin *s)
{
    struct api_call *c = s->call;
    bool is_wanted = false;
    if (s->col->mfa.is_enabled) {
        if (s->col->mfa.rule && s->col->mfa.rule[0])
            api_call_request_data(c, s->method);
        if (core_mfa_applies(&c->core, s->col, s->id, &is_wanted)) {
            /* A rule that cannot be evaluated refuses rather than skips MFA. */
            log_warn("msg=\"mfa rule failed\" collection=%s", s->col->name);
            refuse(s, "Failed to authenticate.");
            return;
        }
    }
    if (!is_wanted) {
        after_mfa(s);
        return;
    }
    struct str given;
    if (!read_mfa_id(s, &given))
        return;
    s->mfa.ctx = s;
    if (!given.len) {
        core_mfa_start_job(s->col, s->id, s->method, s->mfa_id, &s->mfa);
        s->mfa.done = mfa_started;
        core_exec_submit(&c->aw->core, &s->mfa);
        return;
    }
    if (given.len > 64) {
        refuse(s, "Invalid or expired MFA session."); /* no id is that long */
        return;
    }
    const char *mfa_id = arena_strdup(c->req->arena, given).ptr;
    switch (core_mfa_check(&c->aw->core, s->col, mfa_id, s->id, s->method)) {
    case CORE_MFA_UNKNOWN: refuse(s, "Invalid or expired MFA session."); return;
    case CORE_MFA_OTHER: refuse(s, "Invalid MFA session."); return;
    case CORE_MFA_SAME_METHOD: refuse(s, "A different authentication method is required."); return;
    case CORE_MFA_EXPIRED:
        core_mfa_end_job(mfa_id, &s->mfa);
        s->mfa.done = mfa_expired;
        break;
    case CORE_MFA_PASS:
        core_mfa_end_job(mfa_id, &s->mfa);
        s->mfa.done = mfa_ended;
        break;
    }
    core_exec_submit(&c->aw->core, &s->mfa);
}

void api_auth_signin(struct api_call *c, const struct core_collection *col, json_t *record,
                     const char *method, struct str meta)
{
    if (api_call_is_gone(c)) {
        api_call_resume(c);
        return;
    }
    /* Often reached from a deferred step's completion (a password hashed,
     * a code spent): its reads and writes are charged to it again. */
    api_call_enter(c);
    struct signin *s = arena_alloc(c->req->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->call = c;
    s->col = col;
    s->record = json_incref(record);
    s->id = json_string_value(json_object_get(record, "id"));
    s->method = method;
    s->meta = meta.len ? arena_strdup(c->req->arena, meta) : (struct str){0};
    arena_defer(c->req->arena, release, s);
    if (!s->id || !api_auth_rule_or_fail(c, col, s->id, method) ||
        !before_auth_or_fail(c, col, record, method)) {
        api_call_resume(c);
        return;
    }
    check_mfa(s);
}
