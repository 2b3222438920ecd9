/* auth_otp_signup.c -- sign-up by phone (tarmac's, issue #17): the second
 * half of a sign-up code's auth-with-otp (auth_otp.c does request-otp and
 * the code check).
 *
 * request-otp texts a code to a number no account holds when the
 * collection has a phone field and a createRule that is not null (a null
 * one lets only superusers create: no sign-up, and no text, as for any
 * unknown address). Its `_otps` row names no record: recordRef is
 * CORE_OTP_SIGNUP_REF, sentTo the number. The createRule itself can only be
 * judged with the new record, so it runs here, as PocketBase runs it for an
 * OAuth2 sign-up: the account is made by the records API's own create
 * (core_record_save_*: createRule with @request.context "otp" as the
 * requester, field validation, unique indexes, the scripts' hooks, realtime)
 * from the body's createData with phone set to the number texted, then
 * signed in (api_auth_signin) with meta {"isNew": true}.
 *
 *   - the record: createData (an object, or absent); its phone is always the
 *     number the code went to and its verified is the server's: true when
 *     the account has no email (its one identity, the number, is proven),
 *     false when createData gives one (that address is not: the usual
 *     verification mail proves it), as PocketBase marks an OAuth2 sign-up
 *     verified when its email is the provider's, even an empty one;
 *   - the password: createData's password and passwordConfirm when given
 *     (validated as for any create), else a random one;
 *   - the order: the input is validated first (a field error, or a
 *     createRule that is null by now, answers 400 and leaves the code
 *     usable), then the code is spent (a code works once, a spent one is
 *     "Invalid or expired OTP"), then the create runs (a createRule or
 *     unique index that refuses it answers 400, and the code is gone);
 *   - a refused sign-up: 400 naming phone (validation_signup_not_allowed)
 *     when the createRule refuses it or became null; the create's own field
 *     errors otherwise. Only a client that holds the texted code learns it;
 *     request-otp answers the same for every number;
 *   - two sign-ups of one number at once: the create is guarded inside the
 *     writer's transaction (core_save_input.sole_field: no other record may
 *     hold the number; a unique index on phone does the same), so one
 *     account is made; the other sign-up, whose code is just as right, signs
 *     in to it with {"isNew": false}, as does one whose number got an
 *     account between request-otp and auth-with-otp. */
#include <stdio.h>
#include <string.h>

#include "api/auth_int.h"
#include "api/call.h"
#include "api/errors.h"
#include "base/alloc.h"
#include "core/auth/otp.h"
#include "core/notify/sms.h"
#include "core/record/exec_job.h"
#include "core/record/record_save.h"

#define SIGNUP_REFUSED                                                                             \
    "No account has this phone number and the collection's createRule does not let one be made."

/* A sign-up in flight, in the request's arena. */
struct signup {
    struct api_call *call;
    const struct core_collection *col;
    char phone[32];
    struct core_save *save; /* NULL: the number has an account already */
    struct core_exec_job spend;
    json_t *record; /* the account signed in (owned) */
};

static void signup_release(void *ctx)
{
    struct signup *s = ctx;
    core_exec_job_cleanup(&s->spend);
    json_decref(s->record);
}

bool api_auth_otp_is_signup_open(const struct core_collection *col)
{
    return col->rules[CORE_RULE_CREATE] && strcmp(col->name, "_superusers") != 0 &&
           core_collection_field(col, STR_LIT("phone"));
}

static void fail_resumed(struct api_call *c, enum rc rc)
{
    api_call_fail(c, rc);
    api_call_resume(c);
}

/* The create's failure as the answer: a refusal of the rule (a null
 * createRule, or one that does not pass: no field named) names phone. */
static void fail_create(struct api_call *c, enum rc rc)
{
    bool is_rule =
        rc == RC_FORBIDDEN ||
        (rc == RC_INVALID && !core_problem_has_fields(&c->problem) &&
         (!c->problem.message[0] || strcmp(c->problem.message, "Failed to create record.") == 0));
    if (is_rule) {
        core_problem_cleanup(&c->problem);
        core_problem_init(&c->problem);
        core_problem_message(&c->problem, "Failed to create record.");
        core_problem_field(&c->problem, "phone", "validation_signup_not_allowed", SIGNUP_REFUSED,
                           NULL);
        rc = RC_INVALID;
    }
    api_call_fail(c, rc);
}

static void sign_in(struct signup *s, bool is_new)
{
    api_auth_signin(s->call, s->col, s->record, "otp",
                    is_new ? STR_LIT("{\"isNew\":true}") : STR_LIT("{\"isNew\":false}"));
}

/* The number has an account (made by a concurrent sign-up, or meanwhile):
 * the code proved it, so sign in to it. */
static void sign_in_existing(struct signup *s)
{
    struct api_call *c = s->call;
    enum rc rc = api_auth_find_identity(c, s->col, "phone", s->phone, &s->record);
    if (rc || !s->record) {
        fail_resumed(c, rc ? rc : RC_INTERNAL);
        return;
    }
    sign_in(s, false); /* resumes */
}

static bool is_phone_taken(const struct core_problem *p)
{
    const char *code =
        json_string_value(json_object_get(json_object_get(p->data, "phone"), "code"));
    return code && strcmp(code, "validation_not_unique") == 0;
}

static void created(struct core_save *save, void *ctx)
{
    struct signup *s = ctx;
    struct api_call *c = s->call;
    if (!api_call_reenter(c))
        return;
    enum rc rc = core_record_save_rc(save);
    if (rc == RC_INVALID && is_phone_taken(core_record_save_problem(save))) {
        sign_in_existing(s);
        return;
    }
    if (rc) {
        api_call_take_problem(c, core_record_save_problem(save));
        fail_create(c, rc);
        api_call_resume(c);
        return;
    }
    /* the new id only: the auth response reads the record back whole */
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
    sign_in(s, true); /* resumes */
}

static void spent(struct core_exec_job *job)
{
    struct signup *s = (struct signup *)((char *)job - offsetof(struct signup, spend));
    struct api_call *c = s->call;
    if (!api_call_reenter(c))
        return;
    if (job->rc || job->changes != 1) {
        /* used by a concurrent auth-with-otp in the meantime: a code works once */
        core_problem_message(&c->problem, "Invalid or expired OTP");
        fail_resumed(c, RC_INVALID);
        return;
    }
    if (!s->save) {
        sign_in(s, false); /* resumes */
        return;
    }
    enum rc rc = core_record_save_start(s->save, created, NULL, s);
    if (rc)
        fail_resumed(c, rc); /* the pool is full: 503 */
}

/* The new account's body from createData (see the top of the file). */
static json_t *signup_body(json_t *create_data, const char *phone)
{
    json_t *body = json_is_object(create_data) ? json_deep_copy(create_data) : json_object();
    json_object_set_new(body, "phone", json_string(phone));
    json_object_del(body, "verified");
    json_object_set_new(body, "verified",
                        json_string_length(json_object_get(body, "email")) ? json_false()
                                                                           : json_true());
    if (!json_object_get(body, "password"))
        api_auth_random_password(body);
    return body;
}

/* Validates the new account and compiles its rule (no write yet): false
 * when refused, with the answer written. */
static bool prepare_create(struct signup *s)
{
    struct api_call *c = s->call;
    json_t *body = signup_body(json_object_get(c->body, "createData"), s->phone);
    json_decref(c->body);
    c->body = body;
    api_call_request_data(c, "otp");
    c->core.is_manager = true; /* verified above is the server's */
    struct core_save_input in = {
        .kind = CORE_WRITE_CREATE, .c = s->col, .body = c->body, .sole_field = "phone"};
    enum rc rc = core_record_save_prepare(&c->core, &in, &c->problem, &s->save);
    if (rc) {
        fail_create(c, rc);
        return false;
    }
    return true;
}

void api_auth_otp_signup(struct api_call *c, const struct core_collection *col, const char *otp_id,
                         const char *phone)
{
    struct signup *s = arena_alloc(c->req->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->call = c;
    s->col = col;
    arena_defer(c->req->arena, signup_release, s);
    if (!core_sms_is_e164(phone) || !core_collection_field(col, STR_LIT("phone"))) {
        /* the phone field went since the code was sent: no account can
         * hold the number (a createRule that became null refuses below) */
        core_problem_message(&c->problem, "Invalid or expired OTP");
        api_call_fail(c, RC_INVALID);
        return;
    }
    snprintf(s->phone, sizeof(s->phone), "%s", phone);
    core_otp_spend_job(otp_id, &s->spend); /* copies otp_id, which lives in c->body */
    s->spend.done = spent;
    enum rc rc = api_auth_find_identity(c, col, "phone", s->phone, &s->record);
    if (rc) {
        api_call_fail(c, rc);
        return;
    }
    if (!s->record && !prepare_create(s))
        return;
    api_call_defer(c);
    core_exec_submit(&c->aw->core, &s->spend);
}
