/* email_kind.c -- see email_kind.h. */
#include "core/jobs/email_kind.h"

#include <stdio.h>

#include "base/rc.h"
#include "net/mailer.h"

static const char *str_of(json_t *payload, const char *key)
{
    return json_string_value(json_object_get(payload, key));
}

const char *core_job_email_check(json_t *payload)
{
    json_t *html = json_object_get(payload, "html");
    if (html && !json_is_null(html) && !json_is_string(html))
        return "payload.html must be a string";
    switch (net_mailer_check(str_of(payload, "to"), str_of(payload, "subject"),
                             str_of(payload, "text"), str_of(payload, "html"))) {
    case RC_OK: return NULL;
    case RC_TOO_LARGE: return "the mail is too large (a subject of 998 bytes, bodies of 1 MiB)";
    default:
        return "payload needs to (one plain address), subject (one line) and text (UTF-8); "
               "html is optional";
    }
}

json_t *core_job_email_payload(const char *to, const char *subject, const char *text,
                               const char *html)
{
    json_t *p = json_pack("{s:s, s:s, s:s}", "to", to, "subject", subject, "text", text);
    if (p && html)
        json_object_set_new(p, "html", json_string(html));
    return p;
}

void core_job_email_run(const struct core_job_env *env, const struct core_job *job,
                        struct core_job_result *res)
{
    const char *why = core_job_email_check(job->payload);
    if (why) {
        res->outcome = CORE_JOB_DEAD;
        snprintf(res->error, sizeof(res->error), "%s", why);
        return;
    }
    if (!env->mailer) {
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error), "no mailer in this process");
        return;
    }
    char err[sizeof(res->error)];
    switch (net_mailer_deliver(env->mailer, str_of(job->payload, "to"),
                               str_of(job->payload, "subject"), str_of(job->payload, "text"),
                               str_of(job->payload, "html"), err, sizeof(err))) {
    case NET_MAIL_SENT:
    case NET_MAIL_LOGGED: res->outcome = CORE_JOB_DONE; return;
    case NET_MAIL_TRANSIENT: res->outcome = CORE_JOB_RETRY; break;
    case NET_MAIL_REFUSED: res->outcome = CORE_JOB_DEAD; break;
    }
    snprintf(res->error, sizeof(res->error), "%s", err);
}
