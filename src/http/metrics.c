/* metrics.c -- see metrics.h. */
#include "http/metrics.h"

#include <string.h>
#include <uv.h>

#include "base/alloc.h"
#include "http/parse.h"
#include "http/router.h"

#define MAX_SHARDS 1024

static uv_once_t once = UV_ONCE_INIT;
static uv_mutex_t lock;
static struct http_metrics_shard *shards[MAX_SHARDS];
static size_t shard_count;

static void init_lock(void)
{
    uv_mutex_init(&lock);
}

struct http_metrics_shard *http_metrics_shard_new(size_t route_count)
{
    uv_once(&once, init_lock);
    struct http_metrics_shard *m =
        xcalloc(1, sizeof(*m) + (route_count + 1) * sizeof(struct http_metrics_route));
    m->route_count = route_count;
    uv_mutex_lock(&lock);
    if (shard_count < MAX_SHARDS)
        shards[shard_count++] = m;
    uv_mutex_unlock(&lock);
    return m;
}

void http_metrics_free_all(void)
{
    uv_once(&once, init_lock);
    uv_mutex_lock(&lock);
    for (size_t i = 0; i < shard_count; i++)
        xfree(shards[i]);
    shard_count = 0;
    uv_mutex_unlock(&lock);
}

void http_metrics_response(struct http_metrics_shard *m, unsigned route_id, int status, uint64_t us,
                           uint64_t bytes_in, uint64_t bytes_out)
{
    if (route_id > m->route_count)
        route_id = 0;
    struct http_metrics_route *r = &m->routes[route_id];
    int cls = status / 100 - 1;
    metrics_add(&r->by_class[cls >= 0 && cls < 5 ? cls : 4], 1);
    metrics_hist_observe(&r->latency, us);
    metrics_add(&m->bytes_in, bytes_in);
    metrics_add(&m->bytes_out, bytes_out);
}

void http_metrics_write(struct buf *out, const struct http_router *router)
{
    uv_once(&once, init_lock);
    size_t routes = http_router_route_count(router);
    struct http_metrics_route *sum = xcalloc(routes + 1, sizeof(*sum));
    uint64_t totals[6] = {0};
    uv_mutex_lock(&lock);
    for (size_t i = 0; i < shard_count; i++) {
        const struct http_metrics_shard *m = shards[i];
        totals[0] += metrics_read(&m->bytes_in);
        totals[1] += metrics_read(&m->bytes_out);
        totals[2] += metrics_read(&m->conns_opened);
        totals[3] += metrics_read(&m->conns_closed);
        totals[4] += metrics_read(&m->streams_opened);
        totals[5] += metrics_read(&m->streams_closed);
        size_t n = m->route_count < routes ? m->route_count : routes;
        for (size_t r = 0; r <= n; r++) {
            for (int c = 0; c < 5; c++)
                sum[r].by_class[c] += metrics_read(&m->routes[r].by_class[c]);
            metrics_hist_sum(&sum[r].latency, &m->routes[r].latency);
        }
    }
    uv_mutex_unlock(&lock);

    static const char *const classes[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    metrics_text_header(out, "tarmac_http_requests_total", "counter",
                        "HTTP responses by route pattern, method and status class.");
    for (size_t r = 0; r <= routes; r++) {
        enum http_method method = HTTP_METHOD_OTHER;
        const char *pattern = http_router_route_pattern(router, (unsigned)r, &method);
        const char *mname = pattern ? http_method_name(method) : "";
        for (int c = 0; c < 5; c++) {
            if (!sum[r].by_class[c])
                continue;
            const char *labels[] = {
                "route", pattern ? pattern : "none", "method", mname, "code", classes[c], NULL};
            metrics_text_sample_u64(out, "tarmac_http_requests_total", labels, sum[r].by_class[c]);
        }
    }
    metrics_text_header(out, "tarmac_http_request_duration_seconds", "histogram",
                        "Time from a complete request head to its response queued, by route.");
    for (size_t r = 0; r <= routes; r++) {
        uint64_t n = 0;
        for (int c = 0; c < 5; c++)
            n += sum[r].by_class[c];
        if (!n)
            continue;
        enum http_method method = HTTP_METHOD_OTHER;
        const char *pattern = http_router_route_pattern(router, (unsigned)r, &method);
        const char *labels[] = {"route", pattern ? pattern : "none", "method",
                                pattern ? http_method_name(method) : "", NULL};
        metrics_text_hist(out, "tarmac_http_request_duration_seconds", labels, &sum[r].latency);
    }
    xfree(sum);
    metrics_text_header(out, "tarmac_http_request_bytes_total", "counter",
                        "Bytes of request heads and bodies read.");
    metrics_text_sample_u64(out, "tarmac_http_request_bytes_total", NULL, totals[0]);
    metrics_text_header(out, "tarmac_http_response_bytes_total", "counter",
                        "Bytes of response heads, bodies and stream data queued.");
    metrics_text_sample_u64(out, "tarmac_http_response_bytes_total", NULL, totals[1]);
    metrics_text_header(out, "tarmac_http_connections_open", "gauge",
                        "TCP connections open (streams included).");
    metrics_text_sample_u64(out, "tarmac_http_connections_open", NULL,
                            totals[2] > totals[3] ? totals[2] - totals[3] : 0);
    metrics_text_header(out, "tarmac_http_connections_total", "counter",
                        "TCP connections accepted.");
    metrics_text_sample_u64(out, "tarmac_http_connections_total", NULL, totals[2]);
    metrics_text_header(out, "tarmac_http_streams_open", "gauge",
                        "SSE and WebSocket streams open.");
    metrics_text_sample_u64(out, "tarmac_http_streams_open", NULL,
                            totals[4] > totals[5] ? totals[4] - totals[5] : 0);
}
