/* mail_template.h -- the mail templates of an auth collection (layer: core).
 *
 * PocketBase's verificationTemplate, resetPasswordTemplate,
 * confirmEmailChangeTemplate, otp.emailTemplate and authAlert.emailTemplate:
 * each a {subject, body} pair, the body HTML, both with placeholders
 * ({APP_NAME}, {APP_URL}, {TOKEN}, {OTP}, {OTP_ID}, {ALERT_INFO},
 * {RECORD:field}) that core/auth/mail.h fills in when a mail is sent. This
 * file reads, checks and writes a template's JSON (every one of them:
 * authAlert's too, schema/auth_options.c) and holds the defaults of the
 * four kinds a collection keeps in its `mail` array (the links of the first
 * three go to the dashboard's pages, {APP_URL}/_/#/auth/confirm-verification/
 * {TOKEN} and likewise, as PocketBase's do; authAlert's is its own). */
#ifndef TARMAC_CORE_MAIL_TEMPLATE_H
#define TARMAC_CORE_MAIL_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>

#include "base/jsonw.h"
#include "core/problem.h"

enum core_mail_kind {
    CORE_MAIL_VERIFICATION,
    CORE_MAIL_RESET_PASSWORD,
    CORE_MAIL_CONFIRM_EMAIL_CHANGE,
    CORE_MAIL_OTP,
    CORE_MAIL_KIND_COUNT
};

/* Longest template parts accepted from a client, in bytes: a subject is one
 * header line (RFC 5322's 998), a body far more than a mail needs. */
#define CORE_MAIL_SUBJECT_MAX 998
#define CORE_MAIL_BODY_MAX (256 * 1024)

struct core_mail_template {
    char *subject; /* plain text, one line */
    char *body;    /* HTML */
};

/* The option's key in a collection's JSON: "verificationTemplate",
 * "resetPasswordTemplate", "confirmEmailChangeTemplate", "otp.emailTemplate"
 * (a dotted path: it sits inside otp). */
const char *core_mail_template_path(enum core_mail_kind k);
/* Sets t to a copy of kind k's default (t must hold nothing). */
void core_mail_template_set_default(struct core_mail_template *t, enum core_mail_kind k);
/* Sets dst to a copy of src (dst must hold nothing). */
void core_mail_template_copy(struct core_mail_template *dst, const struct core_mail_template *src);
/* Frees what t holds and leaves it empty. */
void core_mail_template_cleanup(struct core_mail_template *t);

/* Reads {subject, body} from v over t; a key that is absent keeps t's value.
 * from_client: a superuser's input, checked (an object; each part a
 * non-empty string, the subject one line of at most CORE_MAIL_SUBJECT_MAX
 * bytes without control characters, the body at most CORE_MAIL_BODY_MAX
 * bytes), errors added to p at path (core_mail_template_path) + ".subject"
 * or ".body", t unchanged by a refused part. Not from_client (loading what
 * was stored): whatever does not pass is left at t's value. v NULL or JSON
 * null keeps t. */
void core_mail_template_parse(json_t *v, const char *path, struct core_mail_template *t,
                              bool from_client, struct core_problem *p);
/* Writes "<key>": {"subject": ..., "body": ...}. */
void core_mail_template_write(struct jsonw *w, const char *key, const struct core_mail_template *t);

#endif
