/* notify.c -- notifications (layer: api; core/notify/push.h does the work).
 *
 *   POST /api/notify               superusers: {users | filter, title + body? |
 *                                  template + record? | locales, data?,
 *                                  channels? (push, inbox, sms, email; default
 *                                  push), category?, urgent?, runAt?, dedupeKey?}
 *                                  enqueues a `notify` job (201 with the job,
 *                                  as POST /api/jobs answers)
 *   GET  /api/notify/webpush-key   anyone: {publicKey}, the VAPID key a web
 *                                  app passes to pushManager.subscribe()
 *                                  (404 while Web Push is off) */
#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/handlers.h"
#include "base/webpush.h"
#include "core/app.h"
#include "core/notify/push.h"
#include "core/notify/template.h"
#include "core/settings/settings.h"
#include "http/req.h"

/* The fields the queue cannot check: the channels (a field error of
 * their own), the filter (compiled over users), the template (it exists)
 * and the record it renders (its collection). false with the problem
 * set. */
static bool fields_ok(struct api_call *c)
{
    json_t *channels = json_object_get(c->body, "channels");
    bool is_ok = !channels || (json_is_array(channels) && json_array_size(channels) > 0);
    size_t i;
    json_t *v;
    json_array_foreach(channels, i, v)
    {
        is_ok = is_ok && core_notify_is_channel(json_string_value(v));
    }
    if (!is_ok)
        core_problem_field(&c->problem, "channels", "validation_invalid_value",
                           "The channels are push, inbox, sms and email.", NULL);
    const char *filter = json_string_value(json_object_get(c->body, "filter"));
    char err[256] = "";
    if (filter && filter[0] && core_notify_filter_check(c->core.schema, filter, err, sizeof(err))) {
        char msg[320];
        snprintf(msg, sizeof(msg), "Invalid filter: %s", err);
        core_problem_field(&c->problem, "filter", "validation_invalid_filter", msg, NULL);
    }
    const char *tmpl = json_string_value(json_object_get(c->body, "template"));
    if (tmpl && core_template_exists(c->aw->core.db, tmpl) != RC_OK)
        core_problem_field(&c->problem, "template", "validation_invalid_value",
                           "No template of that name (_notifyTemplates).", NULL);
    const char *col =
        json_string_value(json_object_get(json_object_get(c->body, "record"), "collection"));
    if (col && !core_schema_find(c->core.schema, str_from_cstr(col)))
        core_problem_field(&c->problem, "record", "validation_invalid_value",
                           "No collection of that name.", NULL);
    if (!core_problem_has_fields(&c->problem))
        return true;
    core_problem_message(&c->problem, "Failed to send the notification.");
    return false;
}

enum rc api_notify(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    if (api_call_body_or_fail(c, "Failed to load the submitted data."))
        return RC_OK;
    if (!fields_ok(c))
        return api_call_fail(c, RC_INVALID);
    /* The job's own options go beside its payload. */
    json_t *payload = json_deep_copy(c->body);
    json_t *job = json_pack("{s:s}", "kind", "notify");
    static const char *const own[] = {"runAt", "dedupeKey"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        json_t *v = json_object_get(payload, own[i]);
        if (v)
            json_object_set(job, own[i], v);
        json_object_del(payload, own[i]);
    }
    json_object_set_new(job, "payload", payload);
    enum rc rc = api_jobs_submit(c, job, "Failed to send the notification.");
    json_decref(job);
    return rc;
}

enum rc api_notify_webpush_key(struct http_req *req, void *ctx)
{
    (void)ctx;
    const struct core_settings *s = core_app_settings(api_worker_of(req)->core.app);
    struct buf key;
    buf_init(&key, 256);
    if (!s->push.is_webpush || webpush_vapid_public(str_from_cstr(s->push.vapid_key), &key)) {
        buf_cleanup(&key);
        api_error_write(req, 404, "Web Push is not enabled (settings push.webPush).");
        return RC_OK;
    }
    http_resp_start(req, 200, "application/json");
    struct buf *out = http_resp_body(req);
    enum rc rc = buf_append_cstr(out, "{\"publicKey\":\"");
    if (!rc)
        rc = buf_append(out, key.data, key.len);
    if (!rc)
        rc = buf_append_cstr(out, "\"}");
    buf_cleanup(&key);
    return rc;
}
