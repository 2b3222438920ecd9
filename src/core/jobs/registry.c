/* registry.c -- see registry.h. The table of kinds. */
#include "core/jobs/registry.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

#include "core/jobs/email_kind.h"
#include "core/jobs/embed_kind.h"
#include "core/problem.h"
#include "core/jobs/http_kind.h"
#include "core/jobs/report.h"
#include "core/jobs/thumbs_kind.h"
#include "core/jobs/webhook.h"

static const struct core_job_kind kinds[] = {
    {.name = "webhook",
     .retry = {10, 1000, 60 * 60 * 1000},
     .prepare = core_webhook_prepare,
     .complete = core_webhook_complete,
     .raw_payload = true,
     .batch_end = core_webhook_batch_end},
    {.name = "http",
     .retry = {5, 1000, 60 * 60 * 1000},
     .prepare = core_job_http_prepare,
     .complete = core_job_http_complete},
    /* An SMTP outage of a day is survived: 1 s doubling to 1 h, 30 attempts. */
    {.name = "email",
     .retry = {30, 1000, 60 * 60 * 1000},
     .run = core_job_email_run,
     .check = core_job_email_check},
    /* A CSV export (report.h): a bad filter or field is dead at once; an
     * I/O or database error is tried again a few times. */
    {.name = "report",
     .retry = {3, 10 * 1000, 10 * 60 * 1000},
     .run = core_job_report_run,
     .check = core_job_report_check},
    /* Thumbnails ahead of the first view (thumbs_kind.h): the files route
     * makes any that are missing anyway, so a few tries are enough. */
    {.name = "thumbs",
     .retry = {3, 5 * 1000, 5 * 60 * 1000},
     .run = core_job_thumbs_run,
     .check = core_job_thumbs_check},
    /* A record's vector from its text (embed_kind.h): a provider down for
     * an hour is survived (5 s doubling to 10 min, 12 attempts). */
    {.name = "embed",
     .retry = {12, 5 * 1000, 10 * 60 * 1000},
     .prepare = core_job_embed_prepare,
     .complete = core_job_embed_complete,
     .check = core_job_embed_check},
};

static core_job_kind_fallback_fn *fallback;
/* Kinds of folders after jobs/ (core/notify), added at start (core_job_kinds_add). */
static const struct core_job_kind *added[8];
static size_t added_count;

void core_job_kinds_add(const struct core_job_kind *k)
{
    for (size_t i = 0; i < added_count; i++) {
        if (added[i] == k)
            return;
    }
    if (added_count < sizeof(added) / sizeof(added[0]))
        added[added_count++] = k;
}

void core_job_call_cleanup(struct core_job_call *call)
{
    for (size_t i = 0; i < NET_HTTP_OUT_MAX_HEADERS; i++)
        xfree(call->owned[i]);
    xfree(call->body);
    call->body = NULL;
    memset(call->owned, 0, sizeof(call->owned));
}

struct net_http_out_req *core_job_call_to_provider(struct core_job_call *call,
                                                   const struct core_job_env *env,
                                                   const char *method, const char *url,
                                                   struct buf *resp)
{
    call->req = (struct net_http_out_req){.method = method ? method : "POST",
                                          .url = url,
                                          .body = str_from_cstr(call->body),
                                          .timeout_ms = env->http_timeout_ms,
                                          .allow_private_network = true,
                                          .response = resp};
    return &call->req;
}

void core_job_call_add_line(struct core_job_call *call, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    struct net_http_out_req *req = &call->req;
    if (n < 0 || req->header_count >= NET_HTTP_OUT_MAX_HEADERS)
        return;
    char *line = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(line, (size_t)n + 1, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < NET_HTTP_OUT_MAX_HEADERS; i++) {
        if (!call->owned[i]) {
            call->owned[i] = line;
            req->headers[req->header_count++] = line;
            return;
        }
    }
    xfree(line);
}

const struct core_job_kind *core_job_kind_builtin_at(size_t i)
{
    size_t n = sizeof(kinds) / sizeof(kinds[0]);
    return i < n ? &kinds[i] : i - n < added_count ? added[i - n] : NULL;
}

const struct core_job_kind *core_job_kind_builtin(struct str name)
{
    const struct core_job_kind *k;
    for (size_t i = 0; (k = core_job_kind_builtin_at(i)) != NULL; i++) {
        if (strlen(k->name) == name.len && memcmp(k->name, name.ptr, name.len) == 0)
            return k;
    }
    return NULL;
}

const struct core_job_kind *core_job_kind_find(struct str name)
{
    const struct core_job_kind *k = core_job_kind_builtin(name);
    return k || !fallback ? k : fallback(name);
}

void core_job_kinds_set_fallback(core_job_kind_fallback_fn *fn)
{
    fallback = fn;
}

const struct core_job_kind *core_job_kind_check(const char *kind, json_t *payload,
                                                struct core_problem *p)
{
    const struct core_job_kind *k = kind ? core_job_kind_find(str_from_cstr(kind)) : NULL;
    if (json_is_null(payload))
        payload = NULL;
    const char *why = NULL;
    if (!k)
        core_problem_field(p, "kind", "validation_invalid_value", "Unknown job kind.", NULL);
    if (payload && !json_is_object(payload))
        core_problem_field(p, "payload", "validation_invalid_value", "Must be an object.", NULL);
    else if (k && k->check && (why = k->check(payload)) != NULL)
        core_problem_field(p, "payload", "validation_invalid_value", why, NULL);
    return k;
}
