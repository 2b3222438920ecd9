/* server.h -- HTTP/1.1 over net/conn: framing, limits, routing, responses (layer: http).
 *
 * One struct http_server per worker. For each connection it finds a complete
 * head (http/parse), reads the body (Content-Length or chunked, answering
 * Expect: 100-continue), routes, runs the handler, and writes the response.
 * Pipelined requests are handled in order from the same read, and their
 * responses go out in one write. Limits: 414/431/413 from http_limits and
 * max_body; timeouts: header (from a request's first byte, so a slowloris
 * cannot extend it), body stall, whole body (so a body trickled a byte per
 * stall timeout cannot either), idle keep-alive, and net/'s write stall.
 * Everything here runs on the worker's thread. */
#ifndef TARMAC_HTTP_SERVER_H
#define TARMAC_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/rc.h"
#include "http/cors.h"
#include "http/parse.h"
#include "http/req.h"
#include "http/router.h"

struct http_proxy_slot;
struct net_conn;
struct net_worker;

/* Renders an error response (the API contract's JSON shape) into req. */
typedef void http_error_fn(struct http_req *req, int status, const char *message);

/* Decides before routing whether a request may proceed (rate limits); when
 * it may not, it writes the response into req and returns false. It may
 * also decide later: it calls http_req_defer(req) and returns true, then,
 * on the same loop, writes the refusal into req or not and calls
 * http_req_resume(req) once; the request is routed then (or refused). */
typedef bool http_admit_fn(struct http_req *req, void *ctx);

/* The HTTP status for a handler's error return (the API's mapping). */
typedef int http_status_of_fn(enum rc rc);

struct http_server_config {
    struct http_limits limits;
    uint64_t max_body;          /* bytes; more -> 413 */
    uint64_t header_timeout_ms; /* from a request's first byte to its complete head */
    uint64_t body_timeout_ms;   /* longest wait for the next body bytes */
    uint64_t body_deadline_ms;  /* from a body's start to its last byte; 0 = no limit */
    uint64_t idle_timeout_ms;   /* keep-alive wait for the next request */
    const struct http_router *router;
    /* Asked when router has no route for the request (a 404 or 405 to be):
     * answers like a handler, or returns RC_NOT_FOUND unanswered to let the
     * 404/405 go out. NULL: none. (The api layer's script routes.) */
    http_handler_fn *fallback;
    const struct http_cors *cors;
    http_error_fn *write_error;
    http_status_of_fn *status_of; /* for a handler that returns an error unanswered */
    /* Runs a route's (or the fallback's) handler: as h(req, ctx) would, or
     * later (a handler suspended on a database wait: it defers req itself
     * and, when the handler returns, passes its rc to http_req_finish).
     * NULL: handlers are called directly. */
    enum rc (*invoke)(http_handler_fn *h, struct http_req *req, void *ctx);
    http_admit_fn *admit; /* NULL: everything is admitted */
    void *admit_ctx;
    bool is_access_log;
    /* Told of every response once its head is queued, with the time since
     * the request's head was complete (the request log). NULL: none. */
    void (*on_response)(struct http_req *req, uint64_t exec_ns);
    struct http_proxy_slot *proxy; /* trusted proxies, swapped at run time; NULL: none */
};

struct http_server;

/* Creates the server state of worker w. cfg must outlive it. */
struct http_server *http_server_new(struct net_worker *w, const struct http_server_config *cfg);
/* Frees s; its connections must be closed already. Accepts NULL. */
void http_server_free(struct http_server *s);
/* Takes a new connection: sets its ops and owner. */
void http_server_take_conn(struct http_server *s, struct net_conn *c);
/* Periodic work: flush the access log. */
void http_server_tick(struct http_server *s);
/* Begins a drain: idle connections close now, busy ones after their response. */
void http_server_drain(struct http_server *s);
/* True while a deferred request waits for http_req_resume(): the worker must
 * not end its loop before (the reply is on its way to its mailbox). */
bool http_server_is_busy(const struct http_server *s);

/* Deferred responses. A handler that must wait (for the writer thread, the
 * thread pool) calls http_req_defer(req) and returns RC_OK without
 * responding; later, on the same worker's loop, it builds the response into
 * req and calls http_req_resume(req), exactly once. Until then req stays
 * valid even if the client disconnects (http_req_is_gone() tells), and no
 * later pipelined request is read. A resume before the handler returned
 * (the work finished at once) is allowed: the handler's return sends the
 * response. */
void http_req_defer(struct http_req *req);
void http_req_resume(struct http_req *req);
bool http_req_is_gone(struct http_req *req);
/* A handler that config.invoke deferred has returned rc: as if it had
 * returned rc at once (an error rendered, a stream started, the response
 * sent), unless it also deferred itself, whose own resume then answers.
 * Defers nest: each http_req_defer is undone by one resume or finish. */
void http_req_finish(struct http_req *req, enum rc rc);
/* The worker whose loop runs req (for its mailbox). */
struct net_worker *http_req_worker(struct http_req *req);

/* Response bodies too large to hold in memory (a big file download). After
 * setting the status and headers of a GET response, a handler, or a deferred
 * request just before http_req_resume(), calls http_req_body_source(req,
 * length, ops, ctx) instead of filling http_resp_body(). The head goes out
 * with Content-Length: length; then the server calls ops->pull whenever it
 * can take more (its output is written), one pull at a time, and the owner
 * answers each, later on the same loop, with http_body_push() (1..remaining
 * bytes, copied) or http_body_fail() (the body cannot be finished: the
 * connection is closed, as a client must not take a short body for whole).
 * Once length bytes are pushed the request is complete, and the connection
 * goes on to its next (pipelined) request. ops->on_end(ctx, is_complete) is
 * called exactly once: from the last push, or when the connection is gone
 * (peer left, write stall, failure, server stop); after it the source
 * pointer is dead and the owner may not push. A HEAD request, or a status
 * without a body, ends the source at once (is_complete true). */
struct http_body_source;
/* The length of a body made as it goes (a large JSON page): the head says
 * Transfer-Encoding: chunked (an HTTP/1.0 request gets the body delimited
 * by the connection's close instead), whatever http_resp_body() holds when
 * http_req_body_source() is called goes out right after the head as the
 * first bytes, and the owner ends the body with http_body_end(). A body
 * that fails (http_body_fail) then lacks its last chunk, which tells the
 * client it is incomplete. */
#define HTTP_BODY_LENGTH_UNKNOWN UINT64_MAX
struct http_body_ops {
    void (*pull)(void *ctx, struct http_body_source *src);
    void (*on_end)(void *ctx, bool is_complete);
};
void http_req_body_source(struct http_req *req, uint64_t length, const struct http_body_ops *ops,
                          void *ctx);
/* Bytes of the body still to push. */
uint64_t http_body_remaining(const struct http_body_source *src);
void http_body_push(struct http_body_source *src, const void *p, size_t len);
void http_body_fail(struct http_body_source *src);
/* Completes a body of HTTP_BODY_LENGTH_UNKNOWN with its last len bytes (may
 * be 0), answering a pull as http_body_push() does: they and the last chunk
 * are queued and the request is over (on_end follows, is_complete true). A
 * no-op once the connection is gone. */
void http_body_end(struct http_body_source *src, const void *p, size_t len);

/* Long-lived streams (server-sent events, WebSocket). A handler calls
 * http_req_stream() and returns RC_OK after setting the status and headers
 * (and, optionally, the first bytes in http_resp_body()). The head is then
 * written without Content-Length (the body ends with the connection; a 101
 * has none), the request's buffers are released, and the connection belongs
 * to the stream: no timeouts, no more HTTP parsing. Its owner writes with
 * http_stream_write() and learns of the end through ops->on_close, after
 * which the stream pointer is dead. All on the worker's thread. */
struct http_stream;
struct http_stream_ops {
    /* Bytes from the peer; returns how many it consumed (the rest is kept
     * for the next call). NULL: input is discarded. */
    size_t (*on_data)(void *ctx, const char *data, size_t len);
    /* The head is written; the owner may write now. NULL: nothing to do. */
    void (*on_start)(void *ctx);
    /* The connection is gone (peer closed, error, server stop, or
     * http_stream_close finished), or the handler that asked for the stream
     * answered without starting it (then the stream never was). Called
     * exactly once; the stream pointer is dead after it. */
    void (*on_close)(void *ctx);
};
struct http_stream *http_req_stream(struct http_req *req, const struct http_stream_ops *ops,
                                    void *ctx);
/* Queues bytes and starts sending them. RC_NOMEM when the output cannot grow. */
enum rc http_stream_write(struct http_stream *s, const void *p, size_t len);
/* Bytes queued but not yet taken by the socket (a slow reader's backlog). */
size_t http_stream_pending(const struct http_stream *s);
/* Sends what is queued, then closes; on_close follows. */
void http_stream_close(struct http_stream *s);
/* Closes at once, dropping queued output (a reader too slow to keep). */
void http_stream_abort(struct http_stream *s);
/* The worker running the stream. */
struct net_worker *http_stream_worker(const struct http_stream *s);
/* The peer's IP address ("" when unknown). */
const char *http_stream_remote_addr(const struct http_stream *s);

#endif
