/* metrics.c -- see metrics.h. */
#include "api/metrics.h"

#include "api/call.h"
#include "api/worker.h"
#include "base/metrics.h"
#include "core/logs.h"
#include "core/metrics.h"
#include "http/metrics.h"
#include "http/req.h"

/* Shared by the workers: one relaxed add per message framed. A fan-out
 * already writes a socket per message, which costs far more. */
static uint64_t realtime_sent;

void api_metrics_realtime_sent(void)
{
    metrics_add_shared(&realtime_sent, 1);
}

void api_metrics_render(struct buf *out, const struct http_router *router, struct core_app *app)
{
    http_metrics_write(out, router);
    metrics_text_header(out, "tarmac_realtime_messages_total", "counter",
                        "Realtime messages sent to clients (SSE and WebSocket).");
    metrics_text_sample_u64(out, "tarmac_realtime_messages_total", NULL,
                            metrics_read(&realtime_sent));
    metrics_text_header(out, "tarmac_request_log_dropped_total", "counter",
                        "Request log entries dropped because the log's queue was full.");
    metrics_text_sample_u64(out, "tarmac_request_log_dropped_total", NULL, core_logs_dropped());
    core_metrics_write(app, out);
}

enum rc api_metrics(struct http_req *req, void *ctx)
{
    struct api_call *c = api_call_new(req);
    enum rc rc = api_call_require_auth_or_fail(c, true);
    if (rc)
        return rc;
    http_resp_start(req, 200, "text/plain; version=0.0.4; charset=utf-8");
    http_resp_add_header(req, "Cache-Control", STR_LIT("no-store"));
    struct buf *b = http_resp_body(req);
    api_metrics_render(b, ctx, api_worker_of(req)->core.app);
    return RC_OK;
}
