/* inbound.c -- POST /api/webhooks/{name}: verified inbound webhooks (layer:
 * api; core/jobs/inbound.h does the checking).
 *
 * The signature is checked over the raw body before anything is decoded; a
 * bad one is 401 and stores nothing. A valid event is created as a record of
 * the endpoint's collection, through the same write as the records API, as
 * a superuser would (the signature is the authorization), so rules of
 * realtime subscribers, realtime itself and outbound webhooks see it. The
 * record gets payload (the body as JSON, or as text when it is not JSON),
 * and eventId and source (the endpoint's name) when the collection has
 * those fields (a form body, Twilio's, is stored as an object of its
 * fields). A replay (a timestamp outside the tolerance, or an event id
 * the collection already holds) is refused: 401 and 409, nothing stored. A
 * unique index on eventId closes the window between two concurrent
 * replays. */
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/handlers.h"
#include "api/records.h"
#include "base/chrono.h"
#include "base/log.h"
#include "core/app.h"
#include "core/jobs/inbound.h"
#include "http/req.h"

static struct str header_of(void *ctx, const char *name)
{
    return http_req_header(ctx, name);
}

/* The URL the sender called, for the schemes that sign it (twilio): the
 * settings' meta.appURL (the public address: behind a proxy, the proxy's)
 * and the request's path and query as they came; empty without an
 * appURL. */
static void public_url(struct api_call *c, struct buf *out)
{
    const char *app_url = core_app_settings(c->aw->core.app)->app_url;
    size_t n = app_url ? strlen(app_url) : 0;
    if (!n)
        return;
    while (n && app_url[n - 1] == '/')
        n--;
    struct http_req *req = c->req;
    (void)buf_append(out, app_url, n);
    (void)buf_append(out, req->path.ptr, req->path.len);
    if (req->query_string.len) {
        (void)buf_append(out, "?", 1);
        (void)buf_append(out, req->query_string.ptr, req->query_string.len);
    }
}

enum rc api_webhooks_inbound(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    struct str name = http_req_param(req, "name");
    struct core_inbound cfg;
    enum rc rc = core_inbound_find(&c->aw->core, name, &cfg);
    if (rc == RC_NOT_FOUND)
        return api_call_fail(c, RC_NOT_FOUND);
    if (rc)
        return api_call_fail(c, rc);
    char event_id[256];
    const char *why = "";
    struct buf url;
    buf_init(&url, 16384);
    public_url(c, &url);
    rc = core_inbound_verify(&cfg, header_of, req, req->body, buf_str(&url),
                             chrono_real_ms() / 1000, event_id, &why);
    buf_cleanup(&url);
    if (rc) {
        log_info("msg=\"inbound webhook refused\" name=%.*s reason=\"%s\"", (int)name.len, name.ptr,
                 why);
        if (rc == RC_UNAUTHORIZED) {
            api_error_write(req, 401, "Invalid or expired webhook signature.");
            return RC_OK;
        }
        return api_call_fail(c, RC_INTERNAL);
    }
    const struct core_collection *col =
        core_schema_find(c->core.schema, str_from_cstr(cfg.collection));
    if (!col) {
        log_warn("msg=\"inbound webhook names a missing collection\" name=%.*s collection=%s",
                 (int)name.len, name.ptr, cfg.collection);
        return api_call_fail(c, RC_INTERNAL);
    }
    if (core_inbound_is_seen(&c->aw->core, col, str_from_cstr(event_id))) {
        api_error_write(req, 409, "The event was received already.");
        return RC_OK;
    }
    json_t *payload = core_inbound_payload(&cfg, req->body);
    json_t *body = json_object();
    json_object_set_new(body, "payload", payload ? payload : json_null());
    if (event_id[0] && core_collection_field(col, STR_LIT("eventId")))
        json_object_set_new(body, "eventId", json_string(event_id));
    if (core_collection_field(col, STR_LIT("source")))
        json_object_set_new(body, "source", json_stringn(name.ptr, name.len));
    json_decref(c->body);
    c->body = body;
    c->core.filter_request.body = c->body;
    c->auth.is_superuser = true; /* the signature authorized the write */
    return api_records_write(c, col, CORE_WRITE_CREATE, (struct str){NULL, 0});
}
