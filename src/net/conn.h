/* conn.h -- one TCP connection on a worker's loop (layer: net).
 *
 * Owns the socket, the bytes not yet consumed (input), the output waiting to be
 * written, the read deadline set by its owner and the write-stall check. It
 * knows no protocol: the owner (http/server.c) gets bytes through ops->on_data
 * and appends output with net_conn_write(). Output is sent with one
 * uv_try_write per batch and falls back to uv_write only for what the socket
 * did not take. Reads land in the worker's shared buffer; only bytes the owner
 * leaves unconsumed are copied into the connection, so an idle connection
 * holds no buffer. Belongs to its worker's thread. Freed after its close
 * callback, so a pointer stays valid until ops->on_close. */
#ifndef TARMAC_NET_CONN_H
#define TARMAC_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "base/list.h"
#include "base/rc.h"
#include "net/conn_limit.h"

struct net_conn;
struct net_worker;

struct net_conn_ops {
    /* Bytes arrived: data[0..len) = what was left unconsumed before + the new
     * bytes. Returns how many it consumed; the rest is kept for next time. */
    size_t (*on_data)(struct net_conn *c, const char *data, size_t len);
    /* The peer closed its side (or the connection failed); default: close. */
    void (*on_eof)(struct net_conn *c);
    /* All queued output is written (called only after net_conn_want_drain). */
    void (*on_drain)(struct net_conn *c);
    /* The deadline set with net_conn_set_deadline passed. */
    void (*on_timeout)(struct net_conn *c);
    /* Last call: the connection is closed; free the owner's state. */
    void (*on_close)(struct net_conn *c);
};

struct net_conn {
    uv_tcp_t tcp; /* first: handle->data is the conn */
    struct net_worker *worker;
    const struct net_conn_ops *ops;
    void *owner;           /* the protocol's state */
    uint64_t id;           /* unique per worker: a continuation compares it */
    struct list_node link; /* in worker->conns */
    struct buf in;         /* unconsumed input */
    struct buf out;        /* output collected, not yet handed to the socket */
    struct buf wbuf;       /* output the socket is writing (uv_write) */
    uv_write_t wreq;
    uv_shutdown_t sreq;
    uint64_t deadline_ms;    /* read-side deadline in uv_now() ms; 0 = none */
    uint64_t write_since_ms; /* when the pending write last made progress */
    size_t write_queue_seen; /* libuv write queue size at that time */
    uint64_t linger_ms;      /* how long to discard input after our FIN */
    bool is_writing;
    bool is_closing;
    bool is_paused;    /* reading stopped by the owner */
    bool is_lingering; /* output done, FIN sent, discarding input until EOF */
    bool is_peer_done; /* the peer's EOF (or a read error) came */
    bool wants_drain;
    bool close_after_write;
    bool holds_slot;            /* of the worker's limit: put back when freed */
    bool holds_addr_slot;       /* ... and of addr_key's per-address count */
    struct net_ip_key addr_key; /* the peer's per-address key */
};

/* Appends output; it is sent by net_conn_flush() (called for you after on_data).
 * RC_NOMEM when the buffer cannot grow. */
enum rc net_conn_write(struct net_conn *c, const void *p, size_t len);
/* Starts sending what net_conn_write() queued. */
void net_conn_flush(struct net_conn *c);
/* Bytes queued or being written. */
size_t net_conn_pending_output(const struct net_conn *c);
/* Frees the output buffers' memory when nothing is queued, so a connection
 * that will be idle for long (a realtime stream) holds none; writing
 * allocates again. */
void net_conn_trim(struct net_conn *c);
/* Asks for ops->on_drain once all output is written (at once if it is). */
void net_conn_want_drain(struct net_conn *c);
/* Sets the read deadline ms from now; 0 clears it. Checked by the worker's
 * tick (granularity: the tick). */
void net_conn_set_deadline(struct net_conn *c, uint64_t ms);
/* Stops reading; bytes already buffered stay. */
void net_conn_pause(struct net_conn *c);
/* Starts reading again and hands buffered input to on_data. Do not call from
 * inside on_data. */
void net_conn_resume(struct net_conn *c);
/* Closes at once; queued output is dropped. Safe to call twice. */
void net_conn_close(struct net_conn *c);
/* Sends queued output, then half-closes (FIN) and discards input until the
 * peer closes or linger_ms passes, so the peer reads the whole response
 * instead of a reset (RFC 9112 §9.6). */
void net_conn_close_after_write(struct net_conn *c, uint64_t linger_ms);

/* Used by net/worker.c. */
struct net_conn *net_conn_new(struct net_worker *w);
enum rc net_conn_start(struct net_conn *c);
void net_conn_check_timers(struct net_conn *c, uint64_t now_ms, uint64_t write_timeout_ms);

#endif
