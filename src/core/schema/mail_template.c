/* mail_template.c -- see mail_template.h. */
#include "core/schema/mail_template.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

/* The defaults. The placeholders and the dashboard routes of the links are
 * the wire contract (apps keep them when they edit a template); the wording
 * is ours. */
static const struct {
    const char *path;
    const char *subject;
    const char *body;
} defaults[CORE_MAIL_KIND_COUNT] = {
    [CORE_MAIL_VERIFICATION] =
        {
            "verificationTemplate",
            "Verify your {APP_NAME} email",
            "<p>Hello,</p>\n"
            "<p>Thanks for signing up to {APP_NAME}. Please confirm that this address is "
            "yours:</p>\n"
            "<p>\n"
            "  <a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-verification/{TOKEN}\" "
            "target=\"_blank\" rel=\"noopener\">Verify my email</a>\n"
            "</p>\n"
            "<p><i>If you did not create an account, you can ignore this email.</i></p>\n"
            "<p>\n"
            "  Thanks,<br/>\n"
            "  The {APP_NAME} team\n"
            "</p>",
        },
    [CORE_MAIL_RESET_PASSWORD] =
        {
            "resetPasswordTemplate",
            "Reset your {APP_NAME} password",
            "<p>Hello,</p>\n"
            "<p>We were asked to reset the password of your {APP_NAME} account. Choose a new "
            "one here:</p>\n"
            "<p>\n"
            "  <a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}\" "
            "target=\"_blank\" rel=\"noopener\">Choose a new password</a>\n"
            "</p>\n"
            "<p><i>If you did not ask for it, you can ignore this email: your password stays "
            "as it is.</i></p>\n"
            "<p>\n"
            "  Thanks,<br/>\n"
            "  The {APP_NAME} team\n"
            "</p>",
        },
    [CORE_MAIL_CONFIRM_EMAIL_CHANGE] =
        {
            "confirmEmailChangeTemplate",
            "Confirm your new {APP_NAME} email address",
            "<p>Hello,</p>\n"
            "<p>Please confirm that your {APP_NAME} account should use this address from now "
            "on:</p>\n"
            "<p>\n"
            "  <a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}\" "
            "target=\"_blank\" rel=\"noopener\">Confirm my new email</a>\n"
            "</p>\n"
            "<p><i>If you did not ask to change your address, you can ignore this "
            "email.</i></p>\n"
            "<p>\n"
            "  Thanks,<br/>\n"
            "  The {APP_NAME} team\n"
            "</p>",
        },
    [CORE_MAIL_OTP] =
        {
            "otp.emailTemplate",
            "Your {APP_NAME} one-time password",
            "<p>Hello,</p>\n"
            "<p>Your one-time password is: <strong>{OTP}</strong></p>\n"
            "<p><i>If you did not ask for it, you can ignore this email.</i></p>\n"
            "<p>\n"
            "  Thanks,<br/>\n"
            "  The {APP_NAME} team\n"
            "</p>",
        },
};

const char *core_mail_template_path(enum core_mail_kind k)
{
    return defaults[k].path;
}

void core_mail_template_set_default(struct core_mail_template *t, enum core_mail_kind k)
{
    t->subject = xstrdup(defaults[k].subject);
    t->body = xstrdup(defaults[k].body);
}

void core_mail_template_copy(struct core_mail_template *dst, const struct core_mail_template *src)
{
    dst->subject = src->subject ? xstrdup(src->subject) : NULL;
    dst->body = src->body ? xstrdup(src->body) : NULL;
}

void core_mail_template_cleanup(struct core_mail_template *t)
{
    xfree(t->subject);
    xfree(t->body);
    t->subject = NULL;
    t->body = NULL;
}

/* One line of text: no control character (CR and LF above all, which would
 * end the Subject header), nor DEL. */
static bool is_one_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/* The part at key of v: the new value, or NULL to keep the old one (absent,
 * or refused with an error added when from_client). */
static char *read_part(json_t *v, const char *key, const char *path, bool is_subject,
                       bool from_client, struct core_problem *p)
{
    json_t *s = json_object_get(v, key);
    if (!s)
        return NULL;
    const char *why = NULL, *code = "validation_invalid_value";
    size_t n = json_string_length(s);
    if (!json_is_string(s)) {
        why = "Must be a string.";
    } else if (n == 0) {
        why = "Cannot be blank.";
        code = "validation_required";
    } else if (n > (is_subject ? CORE_MAIL_SUBJECT_MAX : CORE_MAIL_BODY_MAX)) {
        why = is_subject ? "Must be at most 998 bytes." : "Must be at most 256 KiB.";
        code = "validation_length_too_long";
    } else if (is_subject && !is_one_line(json_string_value(s), n)) {
        why = "Must be one line, without control characters.";
    }
    if (why) {
        if (from_client) {
            char at[96];
            snprintf(at, sizeof(at), "%s.%s", path, key);
            core_problem_field(p, at, code, why, NULL);
        }
        return NULL;
    }
    return xstrndup(json_string_value(s), n);
}

void core_mail_template_parse(json_t *v, const char *path, struct core_mail_template *t,
                              bool from_client, struct core_problem *p)
{
    if (!v || json_is_null(v))
        return;
    if (!json_is_object(v)) {
        if (from_client)
            core_problem_field(p, path, "validation_invalid_value",
                               "Must be an object with subject and body.", NULL);
        return;
    }
    char *subject = read_part(v, "subject", path, true, from_client, p);
    char *body = read_part(v, "body", path, false, from_client, p);
    if (subject) {
        xfree(t->subject);
        t->subject = subject;
    }
    if (body) {
        xfree(t->body);
        t->body = body;
    }
}

void core_mail_template_write(struct jsonw *w, const char *key, const struct core_mail_template *t)
{
    jsonw_key_cstr(w, key);
    jsonw_object_begin(w);
    jsonw_key_cstr(w, "subject");
    jsonw_string_cstr(w, t->subject ? t->subject : "");
    jsonw_key_cstr(w, "body");
    jsonw_string_cstr(w, t->body ? t->body : "");
    jsonw_object_end(w);
}
