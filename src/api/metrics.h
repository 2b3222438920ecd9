/* metrics.h -- GET /api/metrics, Prometheus text format 0.0.4 (layer: api).
 *
 * The HTTP families come from http/metrics (per-worker shards), the rest
 * from core/metrics; realtime messages are counted here, where they are
 * framed. The same text is served without auth by --metrics-addr. */
#ifndef TARMAC_API_METRICS_H
#define TARMAC_API_METRICS_H

#include "base/buf.h"
#include "base/rc.h"

struct core_app;
struct http_req;
struct http_router;

/* GET /api/metrics: 401 without a token, 403 for a non-superuser. ctx is the
 * router (for the route patterns). */
enum rc api_metrics(struct http_req *req, void *ctx);
/* Writes every family into out; any thread. */
void api_metrics_render(struct buf *out, const struct http_router *router, struct core_app *app);
/* Counts one realtime message sent (SSE or WebSocket); any worker. */
void api_metrics_realtime_sent(void);

#endif
