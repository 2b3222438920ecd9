/* health.c -- GET /api/health (spec §9.2). The cheapest route there is: it is
 * the probe a load balancer polls, so on SQLite it does no I/O and allocates
 * nothing; on PostgreSQL it makes one round trip to say whether the
 * database answers. */
#include "api/handlers.h"

#include "api/call.h"
#include "base/jsonw.h"
#include "core/app.h"
#include "core/backup/backup.h"
#include "http/req.h"

/* The first of the configured header and the usual proxy headers the request
 * carries: a hint for an operator that the server sits behind a proxy it may
 * not trust yet (PocketBase's dashboard shows it). */
static const char *possible_proxy_header(const struct http_req *req)
{
    static const char *const common[] = {"CF-Connecting-IP", "Fly-Client-IP", "X-Forwarded-For",
                                         "X-Real-IP", "Forwarded"};
    const char *configured_header =
        core_app_settings(api_worker_of((struct http_req *)req)->core.app)->proxy.header;
    if (configured_header[0] && http_req_header(req, configured_header).ptr)
        return configured_header;
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        if (http_req_header(req, common[i]).ptr)
            return common[i];
    }
    return "";
}

enum rc api_health(struct http_req *req, void *ctx)
{
    (void)ctx;
    static const char body[] = "{\"message\":\"API is healthy.\",\"code\":200,\"data\":{}}";
    static const char down[] = "{\"message\":\"API is healthy.\",\"code\":200,"
                               "\"data\":{\"database\":\"unavailable\"}}";
    http_resp_start(req, 200, "application/json");
    /* On PostgreSQL the probe asks the database (one round trip, the loop
     * not blocked): the process is up either way (200, as the contract
     * says), and data says when the database is not. */
    if (!core_worker_db_is_up(&api_worker_of(req)->core))
        return buf_append(http_resp_body(req), down, sizeof(down) - 1);
    if (!http_req_header(req, "authorization").ptr)
        return buf_append(http_resp_body(req), body, sizeof(body) - 1);
    /* Superusers also get what an operator checks (spec §9.2). */
    struct api_call *c = api_call_new(req);
    if (!c->auth.is_superuser)
        return buf_append(http_resp_body(req), body, sizeof(body) - 1);
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "message");
    jsonw_string_cstr(&w, "API is healthy.");
    jsonw_key_cstr(&w, "code");
    jsonw_int(&w, 200);
    jsonw_key_cstr(&w, "data");
    jsonw_object_begin(&w);
    /* PocketBase's: no backup or restore is running now. */
    struct core_backups *b = c->aw->core.app->backups;
    jsonw_key_cstr(&w, "canBackup");
    jsonw_bool(&w, b && !core_backups_is_busy(b));
    jsonw_key_cstr(&w, "realIP");
    jsonw_string_cstr(&w, req->remote_addr ? req->remote_addr : "");
    jsonw_key_cstr(&w, "possibleProxyHeader");
    jsonw_string_cstr(&w, possible_proxy_header(req));
    jsonw_object_end(&w);
    jsonw_object_end(&w);
    return jsonw_finish(&w);
}
