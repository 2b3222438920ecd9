/* server.c -- see server.h.
 *
 * Connection states: HEAD (waiting for or reading a head), BODY (reading the
 * body of a parsed head), CLOSED (a response that ends the connection was
 * queued; input is ignored). A request runs inside on_data, synchronously: its
 * response is queued before the next pipelined request is looked at, which
 * keeps responses in request order without a queue. */
#include "http/server.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/fault.h"
#include "base/log.h"
#include "http/chunked.h"
#include "http/metrics.h"
#include "http/proxy.h"
#include "net/conn.h"
#include "net/worker.h"

#define ARENA_BLOCK 4096
/* Output past this much pending pauses reading (a pipelining client that does
 * not read its responses must not make us buffer without bound). */
#define OUTPUT_HIGH_WATER (1u << 20)
/* After a response that closes the connection, how long to discard input. */
#define LINGER_MS 2000
#define ACCESS_LOG_FLUSH_BYTES 65536

/* HEAD: waiting for or reading a head; BODY: reading a body; WAITING: a
 * handler deferred its response (http_req_defer); SENDING: a response head
 * is queued and its body is pulled from a source (http_req_body_source),
 * reading paused; CLOSED: the response that ends the connection is queued;
 * STREAM: the connection was handed to a stream owner (http_req_stream). */
enum conn_state { CONN_HEAD, CONN_BODY, CONN_WAITING, CONN_SENDING, CONN_CLOSED, CONN_STREAM };

struct http_conn {
    struct net_conn *nc;
    struct http_server *server;
    enum conn_state state;
    size_t head_scanned;    /* http_find_head_end's progress over the pending head */
    bool is_head_started;   /* bytes of the next head have arrived */
    bool is_target_checked; /* the pending head was checked for a 414 */
    char remote_addr[48];   /* the peer's IP, text */
    char client_addr[48];   /* the request's client behind a trusted proxy (http/proxy.h) */
    uint8_t peer_ip[16];    /* the peer's IP (cidr.h form), when has_peer_ip */
    bool has_peer_ip;       /* whether each request asks the trusted proxies of now (a
                               settings change applies to open connections too) */
    uint64_t head_len;      /* bytes of the current request's head, for metrics */
    bool is_keep_alive;     /* of the current request */
    bool has_served;        /* at least one response was queued */
    bool is_chunked;
    unsigned defers;                        /* http_req_defer() calls not yet resumed */
    bool is_in_handler;                     /* a handler runs: a resume now only undoes its defer */
    bool is_admitting;                      /* the admission deferred: its resume routes */
    struct http_stream *stream;             /* set by http_req_stream(), until the stream starts */
    const struct http_body_ops *source_ops; /* set by http_req_body_source() */
    void *source_ctx;
    uint64_t source_length;    /* the Content-Length of a sourced body */
    uint64_t source_remaining; /* bytes still to push */
    bool is_pulling;           /* a pull is out, not answered yet */
    bool is_source_close;      /* close once the sourced body is sent */
    bool is_source_chunked;    /* HTTP_BODY_LENGTH_UNKNOWN to an HTTP/1.1 client */
    uint64_t body_remaining;   /* Content-Length bytes still to read */
    uint64_t body_due_ms;      /* uv_now() by which the body must be in; 0 = no deadline */
    struct http_chunked chunked;
    struct arena arena;
    struct buf body;
    struct buf resp_body;
    struct http_req req;
};

struct http_server {
    struct net_worker *worker;
    const struct http_server_config *cfg;
    bool is_draining;
    size_t deferred_count; /* requests waiting for http_req_resume() */
    uint64_t request_seq;  /* request ids: random start, then counting */
    int64_t date_second;   /* the second date_header was made for */
    char date_header[40];  /* "Date: ...\r\n" */
    size_t date_header_len;
    int64_t log_second;
    char log_time[24]; /* "2026-11-25T07:50:08." */
    struct buf access_log;
    struct http_metrics_shard *metrics; /* this worker's counters (http/metrics.h) */
};

/* -------------------------------------------------------------------------
 * Server state
 * ------------------------------------------------------------------------- */

struct http_server *http_server_new(struct net_worker *w, const struct http_server_config *cfg)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    s->worker = w;
    s->cfg = cfg;
    s->date_second = -1;
    s->log_second = -1;
    /* Request ids need only be unique, not secret: time and worker id suffice. */
    s->request_seq = ((uint64_t)chrono_real_ms() << 20) ^ ((uint64_t)w->id << 60);
    buf_init(&s->access_log, 1u << 20);
    s->metrics = http_metrics_shard_new(http_router_route_count(cfg->router));
    return s;
}

/* The trusted proxies now (the settings may replace them at any time). */
static const struct http_proxy_config *proxy_config(const struct http_server *s)
{
    return s->cfg->proxy ? atomic_load_explicit(&s->cfg->proxy->current, memory_order_acquire)
                         : NULL;
}

static void flush_access_log(struct http_server *s)
{
    if (s->access_log.len) {
        log_emit(s->access_log.data, s->access_log.len);
        buf_reset(&s->access_log);
    }
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    flush_access_log(s);
    buf_cleanup(&s->access_log);
    xfree(s);
}

void http_server_tick(struct http_server *s)
{
    flush_access_log(s);
}

static void refresh_clock(struct http_server *s, int64_t now_ms)
{
    int64_t sec = now_ms / 1000;
    if (sec == s->date_second)
        return;
    s->date_second = sec;
    char d[30];
    int n = chrono_format_http_date(sec, d);
    s->date_header_len =
        (size_t)snprintf(s->date_header, sizeof(s->date_header), "Date: %.*s\r\n", n, d);
}

/* -------------------------------------------------------------------------
 * Request set-up and teardown
 * ------------------------------------------------------------------------- */

static struct str rebase(struct str s, const char *from, size_t len, const char *to)
{
    if (s.ptr >= from && s.ptr <= from + len)
        s.ptr = to + (s.ptr - from);
    return s;
}

static bool is_request_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

static void assign_request_id(struct http_conn *hc)
{
    struct http_req *req = &hc->req;
    struct str given = http_req_header(req, "x-request-id");
    bool ok = given.ptr && given.len > 0 && given.len < sizeof(req->request_id);
    for (size_t i = 0; ok && i < given.len; i++)
        ok = is_request_id_char(given.ptr[i]);
    if (ok) {
        memcpy(req->request_id, given.ptr, given.len);
        req->request_id[given.len] = '\0';
        return;
    }
    static const char hex[] = "0123456789abcdef";
    uint64_t v = ++hc->server->request_seq;
    for (int i = 15; i >= 0; i--) {
        req->request_id[i] = hex[v & 15];
        v >>= 4;
    }
    req->request_id[16] = '\0';
}

/* A blank request, for errors found before a head could be read. */
static void init_request(struct http_conn *hc)
{
    struct http_req *req = &hc->req;
    memset(req, 0, sizeof(*req));
    req->arena = &hc->arena;
    req->method = HTTP_METHOD_GET;
    req->method_name = STR_LIT("-");
    req->path = STR_LIT("-");
    req->version_minor = 1;
    req->resp.body = &hc->resp_body;
    req->remote_addr = hc->remote_addr;
    req->peer_addr = hc->remote_addr;
    req->start_ns = chrono_mono_ns();
}

/* Copies the head into the arena so the request outlives the read buffer. */
static void setup_request(struct http_conn *hc, const char *data, const struct http_parsed *p)
{
    init_request(hc);
    struct http_req *req = &hc->req;
    char *copy = arena_alloc(&hc->arena, p->head_len);
    memcpy(copy, data, p->head_len);
    size_t n = p->head_len;
    req->method = p->method_id;
    req->method_name = rebase(p->method, data, n, copy);
    req->target = rebase(p->target, data, n, copy);
    req->path = rebase(p->path, data, n, copy);
    req->query_string = rebase(p->query, data, n, copy);
    req->version_minor = p->version_minor;
    req->header_count = p->header_count;
    req->headers = arena_alloc(&hc->arena, (p->header_count ? p->header_count : 1) *
                                               sizeof(struct http_header));
    for (size_t i = 0; i < p->header_count; i++) {
        req->headers[i].name = rebase(p->headers[i].name, data, n, copy);
        req->headers[i].value = rebase(p->headers[i].value, data, n, copy);
    }
    assign_request_id(hc);
    hc->head_len = p->head_len;
    hc->is_keep_alive = p->is_keep_alive;
    const struct http_proxy_config *pc = hc->has_peer_ip ? proxy_config(hc->server) : NULL;
    if (pc && http_proxy_is_trusted(pc, hc->peer_ip) &&
        http_proxy_client_ip(pc, req, hc->client_addr))
        req->remote_addr = hc->client_addr;
}

static void finish_request(struct http_conn *hc)
{
    arena_reset(&hc->arena);
    /* Give back memory a large body or response took; keep small buffers. */
    if (hc->body.cap > 65536)
        buf_cleanup(&hc->body);
    else
        buf_reset(&hc->body);
    if (hc->resp_body.cap > 65536)
        buf_cleanup(&hc->resp_body);
    else
        buf_reset(&hc->resp_body);
    memset(&hc->req, 0, sizeof(hc->req));
}

static void free_conn(struct http_conn *hc)
{
    arena_cleanup(&hc->arena);
    buf_cleanup(&hc->body);
    buf_cleanup(&hc->resp_body);
    xfree(hc);
}

/* -------------------------------------------------------------------------
 * Responses
 * ------------------------------------------------------------------------- */

static bool status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

/* A fixed-capacity line being assembled with plain copies: the hot path
 * formats every response head and log line, and snprintf's format parsing was
 * a visible share of a request's CPU time in perf. */
struct line {
    char *p;
    size_t len;
    size_t cap;
};

static void put_bytes(struct line *l, const char *s, size_t n)
{
    if (n > l->cap - l->len)
        n = l->cap - l->len; /* cut, never overflow; callers size lines generously */
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void put_cstr(struct line *l, const char *s)
{
    put_bytes(l, s, strlen(s));
}

static void put_str(struct line *l, struct str s)
{
    put_bytes(l, s.ptr, s.len);
}

static void put_u64(struct line *l, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_bytes(l, tmp + i, sizeof(tmp) - i);
}

static void log_request(struct http_conn *hc, uint64_t body_bytes)
{
    struct http_server *s = hc->server;
    struct http_req *req = &hc->req;
    if (!s->cfg->is_access_log)
        return;
    int64_t now = chrono_real_ms();
    if (now / 1000 != s->log_second) {
        s->log_second = now / 1000;
        char full[32];
        chrono_format_rfc3339_ms(now, full);
        memcpy(s->log_time, full, 20); /* up to and including the '.' */
        s->log_time[20] = '\0';
    }
    uint64_t us = (chrono_mono_ns() - req->start_ns) / 1000;
    char buf[512];
    struct line l = {buf, 0, sizeof(buf)};
    char ms[3] = {(char)('0' + now % 1000 / 100), (char)('0' + now % 100 / 10),
                  (char)('0' + now % 10)};
    put_cstr(&l, "t=");
    put_bytes(&l, s->log_time, 20);
    put_bytes(&l, ms, 3);
    put_cstr(&l, "Z level=info msg=request method=");
    put_str(&l, req->method_name);
    put_cstr(&l, " path=");
    /* The path holds only visible ASCII (the parser saw to it); cap its length. */
    put_bytes(&l, req->path.ptr, req->path.len > 256 ? 256 : req->path.len);
    put_cstr(&l, " status=");
    put_u64(&l, (uint64_t)req->resp.status);
    put_cstr(&l, " bytes=");
    put_u64(&l, body_bytes);
    put_cstr(&l, " us=");
    put_u64(&l, us);
    put_cstr(&l, " ip=");
    put_cstr(&l, req->remote_addr && req->remote_addr[0] ? req->remote_addr : "-");
    put_cstr(&l, " rid=");
    put_cstr(&l, req->request_id);
    put_bytes(&l, "\n", 1);
    if (s->access_log.len + l.len > ACCESS_LOG_FLUSH_BYTES)
        flush_access_log(s);
    (void)buf_append(&s->access_log, l.p, l.len);
}

/* Queues bytes of a body of unknown length: one chunk (RFC 9112 §7.1), or
 * the bytes as they are when the body ends with the connection. */
static enum rc write_chunk(struct http_conn *hc, const void *p, size_t len)
{
    if (!hc->is_source_chunked || len == 0)
        return len ? net_conn_write(hc->nc, p, len) : RC_OK;
    char size[24];
    int n = snprintf(size, sizeof(size), "%zx\r\n", len);
    enum rc rc = net_conn_write(hc->nc, size, (size_t)n);
    if (!rc)
        rc = net_conn_write(hc->nc, p, len);
    if (!rc)
        rc = net_conn_write(hc->nc, "\r\n", 2);
    return rc;
}

/* Serializes the response into the connection's output. */
static void write_response(struct http_conn *hc, bool is_close)
{
    struct http_server *s = hc->server;
    struct http_req *req = &hc->req;
    struct http_resp *resp = &req->resp;
    struct net_conn *nc = hc->nc;
    refresh_clock(s, chrono_real_ms());
    if (s->cfg->cors)
        http_cors_add_headers(s->cfg->cors, req);

    char head[1024];
    struct line l = {head, 0, sizeof(head)};
    put_cstr(&l, "HTTP/1.1 ");
    put_u64(&l, (uint64_t)resp->status);
    put_bytes(&l, " ", 1);
    put_cstr(&l, http_status_text(resp->status));
    put_bytes(&l, "\r\n", 2);
    put_bytes(&l, s->date_header, s->date_header_len);
    bool has_body = status_has_body(resp->status);
    bool is_unknown = hc->source_ops && hc->source_length == HTTP_BODY_LENGTH_UNKNOWN;
    /* A sourced body is written later, by http_body_push(); one of unknown
     * length starts with what the handler left in the body buffer. */
    uint64_t body_len = !has_body        ? 0
                        : is_unknown     ? resp->body->len
                        : hc->source_ops ? hc->source_length
                                         : resp->body->len;
    if (resp->content_type.len && has_body) {
        put_cstr(&l, "Content-Type: ");
        put_str(&l, resp->content_type);
        put_bytes(&l, "\r\n", 2);
    }
    if (has_body && is_unknown) {
        if (hc->is_source_chunked)
            put_cstr(&l, "Transfer-Encoding: chunked\r\n");
    } else if (has_body && !hc->stream) {
        put_cstr(&l, "Content-Length: ");
        put_u64(&l, body_len);
        put_bytes(&l, "\r\n", 2);
    }
    put_cstr(&l, "Vary: Origin\r\nX-Request-Id: ");
    put_cstr(&l, req->request_id);
    put_bytes(&l, "\r\n", 2);
    if (is_close)
        put_cstr(&l, "Connection: close\r\n");
    else if (req->version_minor == 0 && !hc->stream)
        put_cstr(&l, "Connection: keep-alive\r\n"); /* a stream ends with the connection */
    for (size_t i = 0; i < resp->header_count; i++) {
        const struct http_header *hd = &resp->headers[i];
        /* Handler headers can be long (a CORS header list): write them
         * straight to the connection rather than through the fixed line. */
        if (hd->name.len + hd->value.len + 4 > l.cap - l.len - 2) {
            if (net_conn_write(nc, l.p, l.len) != RC_OK)
                goto nomem;
            l.len = 0;
        }
        if (hd->name.len + hd->value.len + 4 > l.cap - 2) {
            if (net_conn_write(nc, hd->name.ptr, hd->name.len) || net_conn_write(nc, ": ", 2) ||
                net_conn_write(nc, hd->value.ptr, hd->value.len) || net_conn_write(nc, "\r\n", 2))
                goto nomem;
            continue;
        }
        put_str(&l, hd->name);
        put_bytes(&l, ": ", 2);
        put_str(&l, hd->value);
        put_bytes(&l, "\r\n", 2);
    }
    put_bytes(&l, "\r\n", 2);
    if (net_conn_write(nc, l.p, l.len) != RC_OK)
        goto nomem;
    if (body_len && req->method != HTTP_METHOD_HEAD && is_unknown &&
        write_chunk(hc, resp->body->data, (size_t)body_len) != RC_OK)
        goto nomem;
    if (body_len && req->method != HTTP_METHOD_HEAD && !hc->source_ops &&
        net_conn_write(nc, resp->body->data, (size_t)body_len) != RC_OK)
        goto nomem;
    log_request(hc, body_len);
    uint64_t exec_ns = chrono_mono_ns() - req->start_ns;
    if (s->cfg->on_response)
        s->cfg->on_response(req, exec_ns);
    http_metrics_response(s->metrics, req->route_id, resp->status, exec_ns / 1000,
                          hc->head_len + req->body.len, l.len + body_len);
    hc->head_len = 0;
    return;
nomem:
    log_warn("msg=\"response dropped: out of memory\" rid=%s", req->request_id);
    net_conn_close(nc);
}

/* Queues the current response's head (and its body unless a source
 * follows) and frees the request. Returns whether the connection must close
 * once the response is out. */
static bool queue_response(struct http_conn *hc)
{
    struct http_req *req = &hc->req;
    /* A body of unknown length to an HTTP/1.0 client ends with the connection. */
    bool is_close = !hc->is_keep_alive || req->resp.is_close || hc->server->is_draining ||
                    (hc->source_ops && hc->source_length == HTTP_BODY_LENGTH_UNKNOWN &&
                     !hc->is_source_chunked && req->method != HTTP_METHOD_HEAD);
    write_response(hc, is_close);
    finish_request(hc);
    hc->has_served = true;
    hc->head_scanned = 0;
    hc->is_head_started = false;
    hc->is_target_checked = false;
    return is_close;
}

/* The response is queued whole: close after it, or wait for the next head. */
static void await_next_request(struct http_conn *hc, bool is_close)
{
    if (is_close) {
        hc->state = CONN_CLOSED;
        net_conn_set_deadline(hc->nc, 0);
        net_conn_close_after_write(hc->nc, LINGER_MS);
        return;
    }
    hc->state = CONN_HEAD;
    net_conn_set_deadline(hc->nc, hc->server->cfg->idle_timeout_ms);
}

/* Ends the current request: the response is queued; decide what comes next. */
static void complete_request(struct http_conn *hc)
{
    await_next_request(hc, queue_response(hc));
}

/* -------------------------------------------------------------------------
 * Sourced bodies (see server.h)
 * ------------------------------------------------------------------------- */

/* Tells the owner the source is done with and forgets it. */
static void end_source(struct http_conn *hc, bool is_complete)
{
    const struct http_body_ops *ops = hc->source_ops;
    void *ctx = hc->source_ctx;
    hc->source_ops = NULL;
    hc->source_ctx = NULL;
    hc->is_pulling = false;
    if (ops)
        ops->on_end(ctx, is_complete);
}

static void pull_body(struct http_conn *hc)
{
    if (hc->is_pulling || !hc->source_ops || !hc->nc || hc->nc->is_closing)
        return;
    hc->is_pulling = true;
    hc->source_ops->pull(hc->source_ctx, (struct http_body_source *)hc);
}

/* Queues the head, frees the request, and asks for the first bytes. Reading
 * stays paused until the body is sent, which keeps pipelined responses in
 * order. */
static void start_source(struct http_conn *hc)
{
    hc->source_remaining = hc->source_length;
    hc->state = CONN_SENDING;
    hc->is_source_close = queue_response(hc);
    net_conn_set_deadline(hc->nc, 0); /* net/'s write-stall timeout still applies */
    net_conn_pause(hc->nc);
    net_conn_flush(hc->nc);
    if (hc->source_length == HTTP_BODY_LENGTH_UNKNOWN)
        net_conn_want_drain(hc->nc); /* its first bytes are out with the head: more once read */
    else
        pull_body(hc);
}

/* The whole body is queued: the request is over. */
static void finish_source(struct http_conn *hc)
{
    end_source(hc, true);
    await_next_request(hc, hc->is_source_close || hc->server->is_draining);
    if (hc->state == CONN_HEAD)
        net_conn_resume(hc->nc); /* hands over pipelined bytes that wait */
}

/* Ends a request whose response is set: queues it whole, or its head when a
 * body source follows. */
static void respond(struct http_conn *hc)
{
    struct http_req *req = &hc->req;
    if (hc->source_ops && req->method != HTTP_METHOD_HEAD && status_has_body(req->resp.status) &&
        hc->source_length > 0) {
        start_source(hc);
        return;
    }
    complete_request(hc); /* a HEAD still gets the source's Content-Length */
    end_source(hc, true);
}

void http_req_body_source(struct http_req *req, uint64_t length, const struct http_body_ops *ops,
                          void *ctx)
{
    struct http_conn *hc = list_entry(req, struct http_conn, req);
    hc->source_ops = ops;
    hc->source_ctx = ctx;
    hc->source_length = length;
    hc->is_source_chunked = length == HTTP_BODY_LENGTH_UNKNOWN && req->version_minor >= 1;
    if (length != HTTP_BODY_LENGTH_UNKNOWN)
        buf_reset(&hc->resp_body); /* an unknown length starts with what it holds */
}

uint64_t http_body_remaining(const struct http_body_source *src)
{
    return ((const struct http_conn *)src)->source_remaining;
}

void http_body_push(struct http_body_source *src, const void *p, size_t len)
{
    struct http_conn *hc = (struct http_conn *)src;
    hc->is_pulling = false;
    if (!hc->nc || hc->nc->is_closing)
        return; /* on_close comes and ends the source */
    if (hc->source_length == HTTP_BODY_LENGTH_UNKNOWN) {
        if (write_chunk(hc, p, len) != RC_OK) {
            log_warn("msg=\"response body dropped: out of memory\"");
            net_conn_close(hc->nc);
            return;
        }
        net_conn_flush(hc->nc);
        net_conn_want_drain(hc->nc);
        return;
    }
    if (len > hc->source_remaining)
        len = (size_t)hc->source_remaining; /* never more than Content-Length said */
    if (net_conn_write(hc->nc, p, len) != RC_OK) {
        log_warn("msg=\"response body dropped: out of memory\"");
        net_conn_close(hc->nc);
        return;
    }
    hc->source_remaining -= len;
    net_conn_flush(hc->nc);
    if (hc->source_remaining == 0) {
        finish_source(hc);
        return;
    }
    /* The next pull once the socket took this: at most one piece is held. */
    net_conn_want_drain(hc->nc);
}

void http_body_end(struct http_body_source *src, const void *p, size_t len)
{
    struct http_conn *hc = (struct http_conn *)src;
    hc->is_pulling = false;
    if (!hc->nc || hc->nc->is_closing || hc->source_length != HTTP_BODY_LENGTH_UNKNOWN)
        return;
    if (write_chunk(hc, p, len) != RC_OK ||
        (hc->is_source_chunked && net_conn_write(hc->nc, "0\r\n\r\n", 5) != RC_OK)) {
        log_warn("msg=\"response body dropped: out of memory\"");
        net_conn_close(hc->nc);
        return;
    }
    net_conn_flush(hc->nc);
    if (hc->nc->is_closing)
        return; /* on_close ends the source */
    finish_source(hc);
}

void http_body_fail(struct http_body_source *src)
{
    struct http_conn *hc = (struct http_conn *)src;
    hc->is_pulling = false;
    if (hc->nc)
        net_conn_close(hc->nc); /* a short body must not pass for a whole one */
}

/* Answers with an error and closes: the framing can no longer be trusted. */
static void fail_connection(struct http_conn *hc, int status, const char *message)
{
    if (hc->state == CONN_HEAD)
        init_request(hc);
    hc->req.resp.header_count = 0;
    buf_reset(&hc->resp_body);
    hc->server->cfg->write_error(&hc->req, status, message);
    hc->is_keep_alive = false;
    complete_request(hc);
}

/* -------------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------------- */

/* A connection handed to a stream owner. It replaces the connection's
 * struct http_conn (over a kilobyte of request state an idle subscriber does
 * not need) as the net_conn's owner once the head is queued. */
struct http_stream {
    struct net_conn *nc; /* NULL once the connection is closed */
    struct http_server *server;
    const struct http_stream_ops *ops;
    void *ctx;
    char remote_addr[48];
};

static size_t on_stream_data(struct net_conn *nc, const char *data, size_t len)
{
    struct http_stream *st = nc->owner;
    return st->ops->on_data ? st->ops->on_data(st->ctx, data, len) : len;
}

static void on_stream_eof(struct net_conn *nc)
{
    net_conn_close(nc); /* a stream's reader left: nobody reads the rest */
}

static void on_stream_timeout(struct net_conn *nc)
{
    net_conn_close(nc); /* streams set no deadline; be safe */
}

static void on_stream_close(struct net_conn *nc)
{
    struct http_stream *st = nc->owner;
    metrics_add(&st->server->metrics->conns_closed, 1);
    metrics_add(&st->server->metrics->streams_closed, 1);
    st->nc = NULL;
    st->ops->on_close(st->ctx);
    xfree(st);
}

static const struct net_conn_ops stream_conn_ops = {
    .on_data = on_stream_data,
    .on_eof = on_stream_eof,
    .on_timeout = on_stream_timeout,
    .on_close = on_stream_close,
};

/* Writes the stream's head (and first bytes) and hands the connection to
 * the stream. hc is retired (CONN_STREAM, no nc): on_data, on whose stack
 * this runs, frees it when it returns. */
static void start_stream(struct http_conn *hc)
{
    struct http_stream *st = hc->stream;
    struct net_conn *nc = hc->nc;
    write_response(hc, false);
    finish_request(hc);
    hc->state = CONN_STREAM;
    metrics_add(&hc->server->metrics->streams_opened, 1);
    hc->stream = NULL;
    hc->nc = NULL;
    nc->owner = st;
    nc->ops = &stream_conn_ops;
    net_conn_set_deadline(nc, 0);
    if (st->ops->on_start)
        st->ops->on_start(st->ctx);
    net_conn_flush(nc);
    net_conn_trim(nc); /* most subscribers then wait long for their first event */
}

/* The handler asked for a stream but did not answer: its owner is told the
 * connection is not its, and the request is answered as usual. */
static void drop_stream(struct http_conn *hc)
{
    struct http_stream *st = hc->stream;
    hc->stream = NULL;
    if (!st)
        return;
    st->ops->on_close(st->ctx);
    xfree(st);
}

struct http_stream *http_req_stream(struct http_req *req, const struct http_stream_ops *ops,
                                    void *ctx)
{
    struct http_conn *hc = list_entry(req, struct http_conn, req);
    struct http_stream *st = xcalloc(1, sizeof(*st));
    st->nc = hc->nc;
    st->server = hc->server;
    st->ops = ops;
    st->ctx = ctx;
    snprintf(st->remote_addr, sizeof(st->remote_addr), "%s", req->remote_addr);
    hc->stream = st;
    return st;
}

enum rc http_stream_write(struct http_stream *st, const void *p, size_t len)
{
    if (!st->nc || st->nc->is_closing)
        return RC_IO;
    enum rc rc = net_conn_write(st->nc, p, len);
    if (!rc) {
        metrics_add(&st->server->metrics->bytes_out, len);
        net_conn_flush(st->nc);
    }
    return rc;
}

size_t http_stream_pending(const struct http_stream *st)
{
    return st->nc ? net_conn_pending_output(st->nc) : 0;
}

void http_stream_close(struct http_stream *st)
{
    if (st->nc && !st->nc->is_closing)
        net_conn_close_after_write(st->nc, LINGER_MS);
}

void http_stream_abort(struct http_stream *st)
{
    if (st->nc)
        net_conn_close(st->nc);
}

struct net_worker *http_stream_worker(const struct http_stream *st)
{
    return st->server->worker;
}

const char *http_stream_remote_addr(const struct http_stream *st)
{
    return st->remote_addr;
}

/* -------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------- */

/* What a handler returned: a deferred response waits (true: nothing more
 * to do now), a stream starts (true), anything else is the response,
 * rendered here when the handler failed without one. */
static bool run_handler(struct http_conn *hc, enum rc rc)
{
    struct http_req *req = &hc->req;
    const struct http_server_config *cfg = hc->server->cfg;
    if (hc->defers && rc == RC_OK) {
        /* The response comes later, from http_req_resume(); meanwhile
         * nothing more is read, which keeps pipelined responses in order. */
        hc->state = CONN_WAITING;
        hc->server->deferred_count++;
        net_conn_set_deadline(hc->nc, 0);
        net_conn_pause(hc->nc);
        return true;
    }
    hc->defers = 0;
    if (hc->stream && rc == RC_OK && http_resp_is_started(req)) {
        start_stream(hc);
        return true;
    }
    drop_stream(hc);
    if (rc && hc->source_ops)
        end_source(hc, false);
    if (!http_resp_is_started(req)) {
        int status = rc && cfg->status_of ? cfg->status_of(rc) : 500;
        if (status >= 500)
            log_error("msg=\"handler failed\" rc=%s rid=%s", rc_name(rc), req->request_id);
        cfg->write_error(req, status, NULL);
    } else if (rc) {
        /* Responded and failed afterwards (e.g. the body could not grow). */
        buf_reset(req->resp.body);
        req->resp.header_count = 0;
        cfg->write_error(req, cfg->status_of ? cfg->status_of(rc) : 500, NULL);
    }
    return false;
}

static void route_request(struct http_conn *hc);

static void dispatch(struct http_conn *hc)
{
    fault_request_begin(); /* test builds: a fault armed for the next request (base/fault.h) */
    struct http_req *req = &hc->req;
    const struct http_server_config *cfg = hc->server->cfg;
    req->body = buf_str(&hc->body);
    if (req->method == HTTP_METHOD_OPTIONS) {
        http_cors_preflight(cfg->cors, req);
        complete_request(hc);
        return;
    }
    if (cfg->admit) {
        hc->is_in_handler = true;
        bool is_admitted = cfg->admit(req, cfg->admit_ctx);
        hc->is_in_handler = false;
        if (!is_admitted || http_resp_is_started(req)) {
            hc->defers = 0;
            complete_request(hc);
            return;
        }
        if (hc->defers) {
            /* The decision comes later (a counter kept elsewhere):
             * http_req_resume() routes the request, or sends the refusal. */
            hc->is_admitting = true;
            hc->state = CONN_WAITING;
            hc->server->deferred_count++;
            net_conn_set_deadline(hc->nc, 0);
            net_conn_pause(hc->nc);
            return;
        }
    }
    route_request(hc);
}

/* A request past its admission: routed and handled (or answered 404/405). */
static void route_request(struct http_conn *hc)
{
    struct http_req *req = &hc->req;
    const struct http_server_config *cfg = hc->server->cfg;
    struct http_route_match m;
    enum http_route_result r =
        http_router_match(cfg->router, req->method, req->path, req->arena, &m);
    if ((r == HTTP_ROUTE_NOT_FOUND || r == HTTP_ROUTE_METHOD_NOT_ALLOWED) && cfg->fallback) {
        hc->is_in_handler = true;
        enum rc rc = cfg->invoke ? cfg->invoke(cfg->fallback, req, NULL) : cfg->fallback(req, NULL);
        hc->is_in_handler = false;
        if (rc != RC_NOT_FOUND || hc->defers || http_resp_is_started(req)) {
            if (run_handler(hc, rc))
                return;
            respond(hc);
            return;
        }
    }
    switch (r) {
    case HTTP_ROUTE_FOUND: {
        memcpy(req->params, m.params, m.param_count * sizeof(m.params[0]));
        req->route_id = m.route_id;
        req->param_count = m.param_count;
        hc->is_in_handler = true;
        enum rc rc = cfg->invoke ? cfg->invoke(m.handler, req, m.ctx) : m.handler(req, m.ctx);
        hc->is_in_handler = false;
        if (run_handler(hc, rc))
            return;
        break;
    }
    case HTTP_ROUTE_NOT_FOUND: cfg->write_error(req, 404, NULL); break;
    case HTTP_ROUTE_METHOD_NOT_ALLOWED: {
        char allow[96];
        size_t n = http_router_format_allow(m.allowed, allow);
        cfg->write_error(req, 405, "Method not allowed.");
        http_resp_add_header(req, "Allow", (struct str){allow, n});
        break;
    }
    case HTTP_ROUTE_BAD_PATH:
        cfg->write_error(req, 400, "Malformed percent-encoding in the path.");
        break;
    }
    respond(hc);
}

/* -------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------- */

/* The next body bytes are due within the body timeout, and the whole body by
 * its deadline: a client sending a byte just before each timeout would
 * otherwise hold the connection for as long as it likes. */
static void arm_body_timer(struct http_conn *hc)
{
    uint64_t ms = hc->server->cfg->body_timeout_ms;
    if (hc->body_due_ms) {
        uint64_t now = uv_now(&hc->nc->worker->loop);
        uint64_t left = hc->body_due_ms > now ? hc->body_due_ms - now : 1;
        if (left < ms)
            ms = left;
    }
    net_conn_set_deadline(hc->nc, ms);
}

/* Starts the body of a parsed head; returns false when the connection failed. */
static bool start_body(struct http_conn *hc, const struct http_parsed *p, bool has_more_input)
{
    const struct http_server_config *cfg = hc->server->cfg;
    hc->state = CONN_BODY; /* from here on, errors keep the request for the log */
    if (p->has_content_length && p->content_length > cfg->max_body) {
        fail_connection(hc, 413, NULL);
        return false;
    }
    hc->is_chunked = p->is_chunked;
    if (p->is_chunked) {
        http_chunked_init(&hc->chunked);
    } else {
        hc->body_remaining = p->content_length;
        /* Reserve once; client-chosen size, so a failure is a 503, not an abort. */
        if (buf_reserve(&hc->body, (size_t)p->content_length) != RC_OK) {
            fail_connection(hc, 503, "Not enough memory for the request body.");
            return false;
        }
    }
    if (p->expects_continue && !has_more_input) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        (void)net_conn_write(hc->nc, cont, sizeof(cont) - 1);
        net_conn_flush(hc->nc);
    }
    hc->body_due_ms =
        cfg->body_deadline_ms ? uv_now(&hc->nc->worker->loop) + cfg->body_deadline_ms : 0;
    arm_body_timer(hc);
    return true;
}

/* Reads body bytes; returns bytes used. Dispatches when the body is complete. */
static size_t read_body(struct http_conn *hc, const char *data, size_t len)
{
    if (hc->is_chunked) {
        size_t used = 0;
        enum http_chunked_result r = http_chunked_decode(&hc->chunked, data, len, &used, &hc->body);
        switch (r) {
        case HTTP_CHUNKED_DONE: dispatch(hc); break;
        case HTTP_CHUNKED_PARTIAL: arm_body_timer(hc); break;
        case HTTP_CHUNKED_BAD: fail_connection(hc, 400, "Malformed chunked body."); break;
        case HTTP_CHUNKED_TOO_LARGE: fail_connection(hc, 413, NULL); break;
        case HTTP_CHUNKED_NOMEM:
            fail_connection(hc, 503, "Not enough memory for the request body.");
            break;
        }
        return used;
    }
    size_t n = len < hc->body_remaining ? len : (size_t)hc->body_remaining;
    (void)buf_append(&hc->body, data, n); /* reserved in start_body */
    hc->body_remaining -= n;
    if (hc->body_remaining == 0)
        dispatch(hc);
    else
        arm_body_timer(hc);
    return n;
}

/* Reads one head; returns bytes used, 0 when it is not complete yet. */
static size_t read_head(struct http_conn *hc, const char *data, size_t len, bool *wait)
{
    const struct http_server_config *cfg = hc->server->cfg;
    if (!hc->is_head_started) {
        hc->is_head_started = true;
        net_conn_set_deadline(hc->nc, cfg->header_timeout_ms);
    }
    size_t end = http_find_head_end(data, len, &hc->head_scanned);
    struct http_parsed p;
    const char *why = NULL;
    if (!end) {
        /* A partial head can already break a limit. Each check scans the
         * input, so each runs once per head, not once per read. */
        if (len > cfg->limits.max_header_bytes) {
            enum http_parse_result r = http_parse_request(data, len, &cfg->limits, &p, &why);
            fail_connection(hc, r == HTTP_PARSE_URI_TOO_LONG ? 414 : 431,
                            r == HTTP_PARSE_URI_TOO_LONG ? why
                                                         : "Request header section too large.");
            return 0;
        }
        if (len > cfg->limits.max_target + 64 && !hc->is_target_checked) {
            hc->is_target_checked = true;
            if (!memchr(data, '\n', len)) {
                fail_connection(hc, 414, "Request target too long.");
                return 0;
            }
        }
        *wait = true;
        return 0;
    }
    enum http_parse_result r = http_parse_request(data, end, &cfg->limits, &p, &why);
    if (r != HTTP_PARSE_DONE) {
        fail_connection(hc, r == HTTP_PARSE_PARTIAL ? 400 : http_parse_status(r),
                        why ? why : "Malformed request.");
        return 0;
    }
    setup_request(hc, data, &p);
    if (p.is_chunked || p.content_length > 0) {
        if (!start_body(hc, &p, len > p.head_len))
            return 0;
        return p.head_len;
    }
    dispatch(hc);
    return p.head_len;
}

/* HEAD and BODY read requests; WAITING and SENDING hold the rest until the
 * response is out, CLOSED ignores it, and a STREAM's bytes are not HTTP. */
static bool is_reading_requests(const struct http_conn *hc)
{
    return hc->state == CONN_HEAD || hc->state == CONN_BODY;
}

static size_t on_data(struct net_conn *nc, const char *data, size_t len)
{
    struct http_conn *hc = nc->owner;
    size_t off = 0;
    while (off < len && !nc->is_closing && is_reading_requests(hc)) {
        if (net_conn_pending_output(nc) > OUTPUT_HIGH_WATER) {
            /* Resume when the peer has read what we wrote. */
            net_conn_pause(nc);
            net_conn_want_drain(nc);
            break;
        }
        if (hc->state == CONN_HEAD) {
            bool wait = false;
            size_t used = read_head(hc, data + off, len - off, &wait);
            if (wait || used == 0)
                break;
            off += used;
            if (!is_reading_requests(hc))
                break;
        } else {
            off += read_body(hc, data + off, len - off);
            if (hc->state != CONN_HEAD)
                break;
        }
    }
    if (hc->state == CONN_CLOSED)
        return len; /* nothing more will be read from it */
    if (hc->state == CONN_STREAM) {
        /* The connection is the stream's now (start_stream). Bytes that came
         * with the request that started it (a WebSocket client's first
         * frames) are the stream's too, not HTTP's. */
        free_conn(hc);
        if (off < len && !nc->is_closing)
            off += nc->ops->on_data(nc, data + off, len - off);
        return off;
    }
    return off;
}

static void on_drain(struct net_conn *nc)
{
    struct http_conn *hc = nc->owner;
    if (hc->state == CONN_SENDING) {
        pull_body(hc); /* the last piece is written: the next one */
        return;
    }
    net_conn_resume(nc);
}

static void on_eof(struct net_conn *nc)
{
    /* Every complete request was answered inside on_data; what is left is
     * output still queued. A half-closed peer may still read it. */
    net_conn_close_after_write(nc, 1);
}

static void on_timeout(struct net_conn *nc)
{
    struct http_conn *hc = nc->owner;
    if (hc->state == CONN_HEAD && nc->in.len == 0) {
        net_conn_close(nc); /* no byte of a request came: nothing to answer */
        return;
    }
    if (hc->state == CONN_CLOSED) {
        net_conn_close(nc);
        return;
    }
    fail_connection(hc, 408, "Request timed out.");
    net_conn_flush(nc);
}

static void on_close(struct net_conn *nc)
{
    struct http_conn *hc = nc->owner;
    metrics_add(&hc->server->metrics->conns_closed, 1);
    if (hc->state == CONN_WAITING) {
        /* A deferred request still holds hc: http_req_resume() frees it. */
        hc->nc = NULL;
        return;
    }
    hc->nc = NULL;
    end_source(hc, false); /* a body cut short (SENDING) */
    drop_stream(hc);
    free_conn(hc);
}

static struct http_conn *conn_of(struct http_req *req)
{
    return list_entry(req, struct http_conn, req);
}

void http_req_defer(struct http_req *req)
{
    conn_of(req)->defers++;
}

struct net_worker *http_req_worker(struct http_req *req)
{
    return conn_of(req)->server->worker;
}

bool http_req_is_gone(struct http_req *req)
{
    return conn_of(req)->nc == NULL;
}

/* A deferred admission decided: the refusal it wrote goes out, or the
 * request is routed now, as dispatch() would have; then reading goes on
 * as after any deferred response. */
static void admitted(struct http_conn *hc)
{
    struct net_conn *nc = hc->nc;
    hc->state = CONN_HEAD;
    if (http_resp_is_started(&hc->req))
        complete_request(hc);
    else
        route_request(hc);
    if (hc->state == CONN_WAITING || hc->state == CONN_SENDING)
        return; /* their own resume or finish_source() reads on */
    if (hc->state == CONN_STREAM) {
        free_conn(hc); /* as on_data does: the connection is the stream's */
        net_conn_resume(nc);
        return;
    }
    net_conn_flush(nc);
    if (hc->state == CONN_HEAD)
        net_conn_resume(nc); /* hands over pipelined bytes that wait */
}

void http_req_resume(struct http_req *req)
{
    struct http_conn *hc = conn_of(req);
    struct http_server *s = hc->server;
    if (hc->defers)
        hc->defers--;
    if (hc->is_in_handler || hc->defers) {
        /* Answered before its handler returned (the work it deferred for
         * finished at once): the handler's return sends it as any other.
         * Or another defer still holds it. */
        return;
    }
    s->deferred_count--;
    if (hc->is_admitting) {
        hc->is_admitting = false;
        if (!hc->nc) {
            free_conn(hc); /* the client left while we waited */
            return;
        }
        admitted(hc);
        return;
    }
    if (!hc->nc) {
        end_source(hc, false);
        free_conn(hc); /* the client left while we worked */
        return;
    }
    if (!http_resp_is_started(req)) {
        end_source(hc, false);
        s->cfg->write_error(req, 500, NULL);
    }
    hc->state = CONN_HEAD;
    respond(hc);
    if (hc->state == CONN_SENDING)
        return; /* finish_source() resumes reading */
    struct net_conn *nc = hc->nc;
    net_conn_flush(nc);
    if (hc->state == CONN_HEAD)
        net_conn_resume(nc); /* hands over pipelined bytes that wait */
}

void http_req_finish(struct http_req *req, enum rc rc)
{
    struct http_conn *hc = conn_of(req);
    if ((rc == RC_OK && hc->defers > 1) || !hc->nc) {
        http_req_resume(req); /* its own defer answers; or the client left */
        return;
    }
    hc->server->deferred_count--;
    hc->defers = 0;
    struct net_conn *nc = hc->nc;
    hc->state = CONN_HEAD;
    if (run_handler(hc, rc)) {
        net_conn_resume(nc); /* a stream took the connection */
        return;
    }
    respond(hc);
    if (hc->state == CONN_SENDING)
        return;
    net_conn_flush(nc);
    if (hc->state == CONN_HEAD)
        net_conn_resume(nc);
}

bool http_server_is_busy(const struct http_server *s)
{
    return s->deferred_count > 0;
}

static const struct net_conn_ops http_conn_ops = {
    .on_data = on_data,
    .on_eof = on_eof,
    .on_drain = on_drain,
    .on_timeout = on_timeout,
    .on_close = on_close,
};

void http_server_take_conn(struct http_server *s, struct net_conn *nc)
{
    struct http_conn *hc = xcalloc(1, sizeof(*hc));
    hc->nc = nc;
    hc->server = s;
    hc->state = CONN_HEAD;
    metrics_add(&s->metrics->conns_opened, 1);
    arena_init(&hc->arena, ARENA_BLOCK);
    buf_init(&hc->body, s->cfg->max_body);
    buf_init(&hc->resp_body, (size_t)1 << 34);
    nc->owner = hc;
    nc->ops = &http_conn_ops;
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&nc->tcp, (struct sockaddr *)&ss, &len) == 0) {
        uint8_t a[16];
        if (cidr_ip_of_sockaddr((struct sockaddr *)&ss, a)) {
            cidr_format_ip(a, hc->remote_addr);
            memcpy(hc->peer_ip, a, sizeof(hc->peer_ip));
            hc->has_peer_ip = true;
        }
    }
    /* A new connection must send its first request within the header timeout. */
    hc->is_head_started = true;
    net_conn_set_deadline(nc, s->cfg->header_timeout_ms);
    if (s->is_draining)
        hc->is_keep_alive = false;
}

void http_server_drain(struct http_server *s)
{
    s->is_draining = true;
    struct net_worker *w = s->worker;
    for (struct list_node *n = w->conns.next; n != &w->conns; n = n->next) {
        struct net_conn *nc = list_entry(n, struct net_conn, link);
        if (!nc->owner || nc->is_closing)
            continue;
        if (nc->ops == &stream_conn_ops) {
            net_conn_close_after_write(nc, LINGER_MS); /* streams never end on their own */
            continue;
        }
        struct http_conn *hc = nc->owner;
        /* Between requests with nothing buffered: safe to close now. A
         * connection that has not sent its first request yet (perhaps just
         * accepted from the backlog) is given the chance to. */
        if (hc->has_served && hc->state == CONN_HEAD && nc->in.len == 0 &&
            net_conn_pending_output(nc) == 0)
            net_conn_close(nc);
    }
}
