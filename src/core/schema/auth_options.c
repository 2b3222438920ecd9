/* auth_options.c -- see auth_options.h. */
#include "core/schema/auth_options.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "core/problem.h"

static const char default_alert_subject[] = "Login from a new location";
static const char default_alert_body[] =
    "<p>Hello,</p>\n"
    "<p>Your {APP_NAME} account was just signed in to from a new location:</p>\n"
    "<p><em>{ALERT_INFO}</em></p>\n"
    "<p><strong>If this wasn't you, change your {APP_NAME} password right away: that also "
    "signs out every other session.</strong></p>\n"
    "<p>If it was you, you can ignore this email.</p>\n"
    "<p>Thanks,<br/>{APP_NAME} team</p>";

static void error_at(struct core_problem *p, const char *prefix, const char *key, const char *code,
                     const char *message)
{
    char path[96];
    snprintf(path, sizeof(path), "%s.%s", prefix, key);
    core_problem_field(p, path, code, message, NULL);
}

/* The value at key of obj when it has the type want (JSON_TRUE: a boolean),
 * NULL when absent or null; a value of another type is refused at
 * prefix.key (and NULL returned). */
static json_t *typed(json_t *obj, const char *key, json_type want, const char *what,
                     const char *prefix, struct core_problem *p)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (json_typeof(v) == want || (want == JSON_TRUE && json_is_boolean(v)))
        return v;
    error_at(p, prefix, key, "validation_invalid_value", what);
    return NULL;
}

/* The option object itself: absent or null changes nothing; anything but an
 * object is refused at key. */
static bool is_object_or_fail(json_t *in, const char *key, struct core_problem *p)
{
    if (!in || json_is_null(in))
        return false;
    if (json_is_object(in))
        return true;
    core_problem_field(p, key, "validation_invalid_value", "Must be an object.", NULL);
    return false;
}

static void replace_string(char **slot, json_t *v)
{
    if (!json_is_string(v))
        return;
    xfree(*slot);
    *slot = xstrndup(json_string_value(v), json_string_length(v));
}

void core_mfa_options_parse(json_t *in, struct core_mfa_options *o, bool from_client,
                            struct core_problem *p)
{
    if (!o->rule) {
        o->is_enabled = false;
        o->duration_s = 600;
        o->rule = xstrdup("");
    }
    if (!is_object_or_fail(in, "mfa", p))
        return;
    json_t *enabled = typed(in, "enabled", JSON_TRUE, "Must be a boolean.", "mfa", p);
    if (enabled)
        o->is_enabled = json_is_true(enabled);
    json_t *duration =
        typed(in, "duration", JSON_INTEGER, "Must be a whole number of seconds.", "mfa", p);
    if (duration)
        o->duration_s = json_integer_value(duration);
    replace_string(&o->rule, typed(in, "rule", JSON_STRING, "Must be a string.", "mfa", p));
    if (json_is_null(json_object_get(in, "rule"))) {
        xfree(o->rule);
        o->rule = xstrdup("");
    }
    /* As PocketBase: the duration matters (and is checked) only when on. */
    if (!from_client || !o->is_enabled)
        return;
    if (o->duration_s == 0)
        error_at(p, "mfa", "duration", "validation_required", "Cannot be blank.");
    else if (o->duration_s < CORE_MFA_DURATION_MIN)
        error_at(p, "mfa", "duration", "validation_min_greater_equal_than_required",
                 "Must be no less than 10.");
    else if (o->duration_s > CORE_MFA_DURATION_MAX)
        error_at(p, "mfa", "duration", "validation_max_less_equal_than_required",
                 "Must be no greater than 86400.");
}

void core_auth_alert_options_parse(json_t *in, struct core_auth_alert_options *o, bool from_client,
                                   struct core_problem *p)
{
    if (!o->email.subject) {
        o->is_enabled = true;
        o->email.subject = xstrdup(default_alert_subject);
        o->email.body = xstrdup(default_alert_body);
    }
    if (!is_object_or_fail(in, "authAlert", p))
        return;
    json_t *enabled = typed(in, "enabled", JSON_TRUE, "Must be a boolean.", "authAlert", p);
    if (enabled)
        o->is_enabled = json_is_true(enabled);
    core_mail_template_parse(json_object_get(in, "emailTemplate"), "authAlert.emailTemplate",
                             &o->email, from_client, p);
}

void core_mfa_options_write(struct jsonw *w, const struct core_mfa_options *o)
{
    jsonw_key_cstr(w, "mfa");
    jsonw_object_begin(w);
    jsonw_key_cstr(w, "enabled");
    jsonw_bool(w, o->is_enabled);
    jsonw_key_cstr(w, "duration");
    jsonw_int(w, o->duration_s);
    jsonw_key_cstr(w, "rule");
    jsonw_string_cstr(w, o->rule ? o->rule : "");
    jsonw_object_end(w);
}

void core_auth_alert_options_write(struct jsonw *w, const struct core_auth_alert_options *o)
{
    jsonw_key_cstr(w, "authAlert");
    jsonw_object_begin(w);
    jsonw_key_cstr(w, "enabled");
    jsonw_bool(w, o->is_enabled);
    core_mail_template_write(w, "emailTemplate", &o->email);
    jsonw_object_end(w);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void core_mfa_options_copy(struct core_mfa_options *to, const struct core_mfa_options *from)
{
    *to = *from;
    to->rule = dup_or_null(from->rule);
}

void core_auth_alert_options_copy(struct core_auth_alert_options *to,
                                  const struct core_auth_alert_options *from)
{
    *to = *from;
    core_mail_template_copy(&to->email, &from->email);
}

void core_mfa_options_cleanup(struct core_mfa_options *o)
{
    xfree(o->rule);
    memset(o, 0, sizeof(*o));
}

void core_auth_alert_options_cleanup(struct core_auth_alert_options *o)
{
    core_mail_template_cleanup(&o->email);
    memset(o, 0, sizeof(*o));
}
