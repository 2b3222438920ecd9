/* metrics_listen.c -- --metrics-addr: GET /metrics without auth on a separate
 * listener, served by the main thread's loop (which otherwise only waits for
 * signals), so a scrape never queues behind client requests and the port can
 * stay on a private interface. One request per connection: read a head (at
 * most 8 KiB, 5 s), answer, close. Rendering only reads counters. */
#include "cli/metrics_listen.h"

#include <stdio.h>
#include <string.h>

#include "api/metrics.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"

#define HEAD_MAX 8192
#define READ_TIMEOUT_MS 5000

struct cli_metrics_listener {
    uv_tcp_t tcp;
    const struct http_router *router;
    struct core_app *app;
};

struct scrape {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write;
    struct cli_metrics_listener *l;
    char head[HEAD_MAX];
    size_t len;
    struct buf out;
    int closing; /* handles still to close */
};

static void on_handle_closed(uv_handle_t *h)
{
    struct scrape *s = h->data;
    if (--s->closing == 0) {
        buf_cleanup(&s->out);
        xfree(s);
    }
}

static void finish(struct scrape *s)
{
    if (s->closing)
        return;
    s->closing = 2;
    uv_close((uv_handle_t *)&s->timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->tcp, on_handle_closed);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    finish(w->data);
}

static void respond(struct scrape *s)
{
    uv_read_stop((uv_stream_t *)&s->tcp);
    bool is_metrics =
        strncmp(s->head, "GET /metrics ", 13) == 0 || strncmp(s->head, "GET /metrics?", 13) == 0;
    struct buf body;
    buf_init(&body, (size_t)64 << 20);
    if (is_metrics)
        api_metrics_render(&body, s->l->router, s->l->app);
    else
        (void)buf_append(&body, "not found\n", 10);
    char head[256];
    int n =
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                 is_metrics ? "200 OK" : "404 Not Found",
                 is_metrics ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain", body.len);
    (void)buf_append(&s->out, head, (size_t)n);
    (void)buf_append(&s->out, body.data, body.len);
    buf_cleanup(&body);
    uv_buf_t b = uv_buf_init((char *)s->out.data, (unsigned)s->out.len);
    s->write.data = s;
    if (uv_write(&s->write, (uv_stream_t *)&s->tcp, &b, 1, on_written) != 0)
        finish(s);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    struct scrape *s = h->data;
    b->base = s->head + s->len;
    b->len = HEAD_MAX - 1 - s->len;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    struct scrape *s = st->data;
    if (n < 0) {
        finish(s);
        return;
    }
    s->len += (size_t)n;
    s->head[s->len] = '\0';
    if (strstr(s->head, "\r\n\r\n"))
        respond(s);
    else if (s->len >= HEAD_MAX - 1)
        finish(s);
}

static void on_timeout(uv_timer_t *t)
{
    finish(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct cli_metrics_listener *l = server->data;
    if (status < 0)
        return;
    struct scrape *s = xcalloc(1, sizeof(*s));
    s->l = l;
    buf_init(&s->out, (size_t)64 << 20);
    uv_tcp_init(server->loop, &s->tcp);
    uv_timer_init(server->loop, &s->timer);
    s->tcp.data = s;
    s->timer.data = s;
    if (uv_accept(server, (uv_stream_t *)&s->tcp) != 0) {
        finish(s);
        return;
    }
    uv_timer_start(&s->timer, on_timeout, READ_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
}

enum rc cli_metrics_listen(uv_loop_t *loop, const char *host, int port,
                           const struct http_router *router, struct core_app *app,
                           struct cli_metrics_listener **out)
{
    struct sockaddr_storage ss;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
        return RC_INVALID;
    struct cli_metrics_listener *l = xcalloc(1, sizeof(*l));
    l->router = router;
    l->app = app;
    uv_tcp_init(loop, &l->tcp);
    l->tcp.data = l;
    int err = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
    if (!err)
        err = uv_listen((uv_stream_t *)&l->tcp, 128, on_connection);
    if (err) {
        log_error("msg=\"cannot listen for metrics\" addr=%s port=%d err=%s", host, port,
                  uv_strerror(err));
        uv_close((uv_handle_t *)&l->tcp, (uv_close_cb)xfree);
        return RC_IO;
    }
    *out = l;
    return RC_OK;
}

int cli_metrics_port(struct cli_metrics_listener *l)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void cli_metrics_close(struct cli_metrics_listener *l)
{
    if (l)
        uv_close((uv_handle_t *)&l->tcp, (uv_close_cb)xfree);
}
