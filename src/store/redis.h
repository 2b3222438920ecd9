/* redis.h -- one Redis connection on a worker's loop, through hiredis's
 * asynchronous API (layer: store: the engines live here, Redis as SQLite and PostgreSQL).
 *
 * Several tarmac instances on one database tell each other things through
 * Redis (core/cluster/). A struct store_redis is one connection owned by one
 * loop: hiredis's redisAsyncContext attached with its libuv adapter, so no
 * call here ever waits for Redis. It connects in the background and
 * reconnects after any break with a growing pause (100 ms doubling to 5 s,
 * with jitter), until closed. A hostname is resolved on libuv's pool
 * (uv_getaddrinfo) at each attempt: hiredis would resolve it blocking.
 *
 * Two kinds: a command connection (commands with a reply callback each) and
 * a subscriber (SUBSCRIBE to fixed channels; messages to a callback). A
 * command waits at most the connection's command timeout for its reply: then
 * its callback runs with NULL and a reply that comes later is dropped. A
 * connection whose replies stop for good (a paused or hung server) is broken
 * off and made again. The up/down state goes to a callback on each change,
 * including the first failure (so a server down at start is reported too).
 *
 * Not thread-safe: everything on the owning loop's thread. */
#ifndef TARMAC_STORE_REDIS_H
#define TARMAC_STORE_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/rc.h"
#include "base/str.h"

/* Where a Redis server is: host and port, or a Unix socket path. */
struct store_redis_target {
    char host[256]; /* "" for a Unix socket; an IPv6 address without brackets */
    int port;
    char path[108]; /* the Unix socket; "" for TCP */
    char username[128];
    char password[256]; /* "" when none */
    unsigned db;
};

/* Parses redis://[[user]:password@]host[:port][/db] (port 6379, db 0; an
 * IPv6 host in brackets; user and password percent-decoded) or
 * unix://[[user]:password@]/path[?db=N]. RC_INVALID with a sentence in err
 * (which never holds the password) for anything else: another scheme
 * (rediss:// asks for TLS, which this client has not), an empty host, a
 * port outside 1..65535, a db that is not a number, other query
 * parameters. */
enum rc store_redis_parse_url(const char *url, struct store_redis_target *t, char *err,
                              size_t errlen);
/* The target as logs show it: redis://host:port/db or unix:///path?db=N,
 * never the password. */
void store_redis_target_format(const struct store_redis_target *t, char *out, size_t cap);

struct store_redis;
/* A reply, borrowed for the callback it is passed to (hiredis's redisReply). */
struct store_redis_reply;

enum store_redis_type {
    STORE_REDIS_STRING,
    STORE_REDIS_ARRAY,
    STORE_REDIS_INTEGER,
    STORE_REDIS_NIL,
    STORE_REDIS_STATUS,
    STORE_REDIS_ERROR,
};
enum store_redis_type store_redis_reply_type(const struct store_redis_reply *r);
/* An integer reply's value (0 for another type). */
long long store_redis_reply_integer(const struct store_redis_reply *r);
/* A string, status or error reply's text (empty for another type). */
struct str store_redis_reply_str(const struct store_redis_reply *r);
/* An array's elements (0 for another type) and one of them (NULL past the end). */
size_t store_redis_reply_count(const struct store_redis_reply *r);
const struct store_redis_reply *store_redis_reply_at(const struct store_redis_reply *r, size_t i);

/* A command's reply; r is NULL when none came in time or the connection
 * broke (the command may or may not have run). */
typedef void store_redis_reply_fn(void *ctx, const struct store_redis_reply *r);
/* A message published on one of a subscriber's channels; both borrowed. */
typedef void store_redis_message_fn(void *ctx, struct str channel, struct str message);
/* The connection came up (ready: authenticated, database selected, channels
 * subscribed) or went down (also: the first attempt failed); why says what
 * failed ("" when up). Each attempt that fails is logged at debug level
 * only: the owner decides what deserves a warning. */
typedef void store_redis_state_fn(void *ctx, bool is_up, const char *why);

struct store_redis_config {
    const struct store_redis_target *target; /* borrowed: outlives the connection */
    uint64_t command_timeout_ms;             /* longest wait for a command's reply */
    const char *const *channels;             /* a subscriber of these (copied); NULL: commands */
    size_t channel_count;
    store_redis_message_fn *on_message; /* a subscriber's messages */
    store_redis_state_fn *on_state;     /* NULL: not told */
    void *ctx;
    const char *name; /* in log lines ("cmd", "sub"); copied */
};

/* A new connection on loop; it connects in the background. Loop's thread. */
struct store_redis *store_redis_open(uv_loop_t *loop, const struct store_redis_config *cfg);
/* Closes r: the callbacks of commands still waiting run now, with NULL; the
 * memory goes once libuv closed the handles (the loop must run on). Accepts
 * NULL. */
void store_redis_close(struct store_redis *r);
/* True while the connection is up (see store_redis_state_fn). */
bool store_redis_is_up(const struct store_redis *r);
/* Sends one command (argv[i] of lens[i] bytes; binary-safe) on a command
 * connection. RC_OK: cb(ctx, reply or NULL) runs once, later, on the loop,
 * never inside this call. RC_UNAVAILABLE: the connection is not up (or r
 * is a subscriber); cb is not called. cb may be NULL (nobody waits: the
 * reply is dropped). */
enum rc store_redis_command(struct store_redis *r, store_redis_reply_fn *cb, void *ctx, int argc,
                            const char *const *argv, const size_t *lens);

/* Counters of one connection, for metrics: replies that came too late to
 * be waited for, and connections made after the first. */
struct store_redis_stats {
    uint64_t timeouts;
    uint64_t reconnects;
};
void store_redis_stats(const struct store_redis *r, struct store_redis_stats *out);

#endif
