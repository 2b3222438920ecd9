/* conn.c -- see conn.h. */
#include "net/conn.h"

#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "net/worker.h"

/* Bytes of input a connection may hold unconsumed. The owner refuses heads
 * past its own limit before this is reached; this is the backstop. */
#define CONN_MAX_INPUT (1u << 20)
/* Output may grow large (a big response); its real bound is the response size. */
#define CONN_MAX_OUTPUT ((size_t)1 << 34)
#define CONN_READ_CHUNK 16384

static void on_closed(uv_handle_t *h)
{
    struct net_conn *c = h->data;
    struct net_worker *w = c->worker;
    if (c->ops && c->ops->on_close)
        c->ops->on_close(c);
    list_remove(&c->link);
    w->conn_count--;
    if (c->holds_addr_slot)
        net_conn_limit_put_addr(w->limit, &c->addr_key);
    if (c->holds_slot)
        net_conn_limit_put(w->limit);
    buf_cleanup(&c->in);
    buf_cleanup(&c->out);
    buf_cleanup(&c->wbuf);
    xfree(c);
}

void net_conn_close(struct net_conn *c)
{
    if (c->is_closing)
        return;
    c->is_closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

struct net_conn *net_conn_new(struct net_worker *w)
{
    struct net_conn *c = xcalloc(1, sizeof(*c));
    c->worker = w;
    c->id = ++w->next_conn_id;
    buf_init(&c->in, CONN_MAX_INPUT);
    buf_init(&c->out, CONN_MAX_OUTPUT);
    buf_init(&c->wbuf, CONN_MAX_OUTPUT);
    uv_tcp_init(&w->loop, &c->tcp);
    c->tcp.data = c;
    list_push_back(&w->conns, &c->link);
    w->conn_count++;
    return c;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    (void)suggested;
    struct net_conn *c = h->data;
    if (c->in.len == 0 || c->is_lingering) {
        out->base = c->worker->read_buf;
        out->len = sizeof(c->worker->read_buf);
        return;
    }
    /* Unconsumed bytes exist: read behind them so the owner sees one run. */
    if (buf_reserve(&c->in, CONN_READ_CHUNK) != RC_OK) {
        out->base = NULL;
        out->len = 0; /* libuv reports UV_ENOBUFS and we close */
        return;
    }
    out->base = c->in.data + c->in.len;
    out->len = c->in.cap - c->in.len;
}

static void deliver(struct net_conn *c, const char *data, size_t len, bool is_own)
{
    size_t used = c->ops->on_data(c, data, len);
    if (c->is_closing)
        return;
    if (is_own) {
        buf_consume(&c->in, used);
    } else if (used < len) {
        if (buf_append(&c->in, data + used, len - used) != RC_OK) {
            net_conn_close(c);
            return;
        }
    }
    net_conn_flush(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct net_conn *c = s->data;
    if (c->is_closing)
        return;
    if (nread < 0) {
        c->is_peer_done = true;
        if (c->is_lingering || !c->ops->on_eof) {
            net_conn_close(c);
        } else {
            uv_read_stop(s);
            c->ops->on_eof(c);
        }
        return;
    }
    if (nread == 0 || c->is_lingering)
        return;
    if (b->base == c->worker->read_buf) {
        deliver(c, b->base, (size_t)nread, false);
    } else {
        c->in.len += (size_t)nread;
        deliver(c, c->in.data, c->in.len, true);
    }
}

enum rc net_conn_start(struct net_conn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
        return RC_IO;
    return RC_OK;
}

enum rc net_conn_write(struct net_conn *c, const void *p, size_t len)
{
    return buf_append(&c->out, p, len);
}

size_t net_conn_pending_output(const struct net_conn *c)
{
    return c->out.len + c->wbuf.len;
}

static void linger_start(struct net_conn *c);

static void drained(struct net_conn *c)
{
    if (c->close_after_write) {
        c->close_after_write = false;
        linger_start(c);
        return;
    }
    if (c->wants_drain) {
        c->wants_drain = false;
        if (c->ops->on_drain)
            c->ops->on_drain(c);
    }
}

static void write_cb(uv_write_t *req, int status)
{
    struct net_conn *c = req->data;
    c->is_writing = false;
    buf_reset(&c->wbuf);
    if (c->is_closing)
        return;
    if (status < 0) {
        net_conn_close(c);
        return;
    }
    if (c->out.len) {
        net_conn_flush(c);
        return;
    }
    drained(c);
}

void net_conn_flush(struct net_conn *c)
{
    if (c->is_closing || c->is_writing)
        return;
    if (c->out.len == 0) {
        drained(c);
        return;
    }
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == UV_EAGAIN)
        n = 0;
    if (n < 0) {
        net_conn_close(c);
        return;
    }
    if ((size_t)n == c->out.len) {
        buf_reset(&c->out);
        drained(c);
        return;
    }
    /* The socket is full: hand the rest to libuv and collect new output in
     * the other buffer meanwhile. */
    struct buf tmp = c->wbuf;
    c->wbuf = c->out;
    c->out = tmp;
    buf_consume(&c->wbuf, (size_t)n);
    c->is_writing = true;
    c->wreq.data = c;
    c->write_since_ms = uv_now(&c->worker->loop);
    c->write_queue_seen = c->wbuf.len;
    b = uv_buf_init(c->wbuf.data, (unsigned)c->wbuf.len);
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
        c->is_writing = false;
        net_conn_close(c);
    }
}

void net_conn_trim(struct net_conn *c)
{
    if (c->is_writing || c->out.len || c->wbuf.len)
        return;
    buf_cleanup(&c->out);
    buf_cleanup(&c->wbuf);
}

void net_conn_want_drain(struct net_conn *c)
{
    c->wants_drain = true;
    if (!c->is_writing && c->out.len == 0)
        drained(c);
}

void net_conn_set_deadline(struct net_conn *c, uint64_t ms)
{
    c->deadline_ms = ms ? uv_now(&c->worker->loop) + ms : 0;
}

void net_conn_pause(struct net_conn *c)
{
    if (c->is_paused || c->is_closing)
        return;
    c->is_paused = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
}

void net_conn_resume(struct net_conn *c)
{
    if (!c->is_paused || c->is_closing)
        return;
    c->is_paused = false;
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0) {
        net_conn_close(c);
        return;
    }
    if (c->in.len)
        deliver(c, c->in.data, c->in.len, true);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct net_conn *c = req->data;
    if (status < 0 && !c->is_closing)
        net_conn_close(c);
}

static void linger_start(struct net_conn *c)
{
    if (c->is_closing)
        return;
    if (c->is_peer_done) {
        /* Nothing more can come to discard: close now rather than at the
         * next tick, which matters when thousands of connections a flood
         * left in the kernel's queue are accepted only to read their EOF. */
        net_conn_close(c);
        return;
    }
    c->is_lingering = true;
    buf_cleanup(&c->in);
    if (c->is_paused) {
        c->is_paused = false;
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    }
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) {
        net_conn_close(c);
        return;
    }
    net_conn_set_deadline(c, c->linger_ms);
}

void net_conn_close_after_write(struct net_conn *c, uint64_t linger_ms)
{
    if (c->is_closing || c->is_lingering)
        return;
    c->linger_ms = linger_ms;
    c->close_after_write = true;
    if (!c->is_writing && c->out.len == 0)
        drained(c);
    else
        net_conn_flush(c);
}

void net_conn_check_timers(struct net_conn *c, uint64_t now_ms, uint64_t write_timeout_ms)
{
    if (c->is_closing)
        return;
    if (c->is_writing && write_timeout_ms) {
        size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
        if (queued < c->write_queue_seen) {
            c->write_queue_seen = queued; /* the peer is reading: progress */
            c->write_since_ms = now_ms;
        } else if (now_ms - c->write_since_ms >= write_timeout_ms) {
            log_debug("msg=\"write stalled, closing\" conn=%llu", (unsigned long long)c->id);
            net_conn_close(c);
            return;
        }
    }
    if (c->deadline_ms && now_ms >= c->deadline_ms) {
        c->deadline_ms = 0;
        if (c->is_lingering || !c->ops->on_timeout)
            net_conn_close(c);
        else
            c->ops->on_timeout(c);
    }
}
