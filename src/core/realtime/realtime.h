/* realtime.h -- realtime clients, their subscriptions, and record events (layer: core).
 *
 * A client is one realtime connection (an SSE stream or a WebSocket). It is
 * owned by the worker whose loop holds the connection: only that loop
 * delivers to it and frees it. A client's subscriptions and auth identity
 * may be changed from any worker (the subscriptions POST arrives on another
 * connection, often another worker), so they sit behind the registry's lock;
 * the owner reads them under the same lock, briefly, once per event.
 *
 * Events (spec §7.4) are made by the writer's jobs while the data is at hand
 * and come to realtime after the commit as a listener of the app's event bus
 * (core/event/event.h): the event is handed to every worker's
 * mailbox, and each worker fans it out to its own clients in slices of a few
 * hundred, so one event to ten thousand subscribers never holds a loop for
 * long. Per event and worker, subscribers that would see the same thing
 * (same rule kind, same identity, same options) share one rule check and one
 * rendering. Delivery is a callback of the layer above, which formats SSE or
 * WebSocket frames. */
#ifndef TARMAC_CORE_REALTIME_H
#define TARMAC_CORE_REALTIME_H
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "base/list.h"
#include "base/metrics.h"
#include "base/rc.h"
#include "base/str.h"
#include "core/auth/auth.h"
#include "core/event/event.h"
#include "core/schema/collection.h"
#include "core/problem.h"
#include "core/realtime/realtime_sub.h"
#include "core/record/cost.h"
#include "core/record/worker.h"

#define CORE_RT_CLIENT_ID_LEN 40
#define CORE_RT_MAX_CLIENT_ID 255

/* Who a client's later rule checks run as (spec §7.2): stored at the first
 * authenticated POST, reloaded at every event so record changes apply. */
struct core_rt_identity {
    bool is_set;
    char collection_id[64];
    char record_id[64];
    char token_key[128]; /* a changed tokenKey drops the identity */
};

typedef void core_rt_deliver_fn(void *ctx, struct str topic, struct str data);

struct core_rt_client {
    char id[CORE_RT_CLIENT_ID_LEN + 1];
    struct core_worker *owner;
    struct list_node link;          /* in the owner's client list; owner's thread only */
    struct core_rt_client *next_id; /* registry bucket chain; under the registry lock */
    bool is_cursor;                 /* a fan-out's bookmark in the list, not a client */
    char remote_addr[48];
    core_rt_deliver_fn *deliver; /* owner's thread */
    void *deliver_ctx;
    /* under the registry lock */
    struct core_rt_subs *subs; /* NULL: none */
    struct core_rt_identity identity;
};

/* The process-wide registry (one per core_app). */
struct core_realtime;

/* The current schema snapshot, from whoever owns it (the app). Any thread. */
typedef const struct core_schema *core_rt_schema_fn(void *ctx);

/* A new registry. limits (borrowed, read at each subscribe and event) caps
 * subscriptions and the cost of checks; schema_of(schema_ctx) gives the
 * snapshot a stored identity is looked up in. */
struct core_realtime *core_realtime_new(const struct core_limits *limits,
                                        core_rt_schema_fn *schema_of, void *schema_ctx);
void core_realtime_free(struct core_realtime *rt);

struct fanout;

/* Per-worker state, made by core_realtime_attach() (cw->rt). */
struct core_rt_local {
    struct list_node clients; /* clients and fan-out cursors, in arrival order */
    size_t client_count;
    atomic_size_t fanouts; /* events posted to this worker and not done yet */
    /* Fan-outs run one at a time, in the order posted (one may wait for
     * the database on PostgreSQL, and the next must not overtake it: a
     * record's create before its update). Worker's thread. */
    struct fanout *queue_head, *queue_tail;
    bool is_fanning_out;
};

/* Registers a worker with its registry, cw->realtime (its mailbox receives
 * events; the first attach makes cw->rt) / stops sending it any (when it
 * begins to stop). Worker's thread. */
void core_realtime_attach(struct core_worker *cw);
void core_realtime_detach(struct core_worker *cw);
/* Detaches cw and frees its realtime state, once its clients are gone.
 * Accepts a worker that was never attached. Worker's thread. */
void core_realtime_worker_free(struct core_worker *cw);
/* True while events posted to cw are still being fanned out: the worker
 * must not exit before. */
bool core_realtime_is_busy(struct core_worker *cw);

/* Creates a client on cw with a new random id, registered so POSTs find it.
 * Owner's thread. */
struct core_rt_client *core_realtime_connect(struct core_worker *cw, const char *remote_addr,
                                             core_rt_deliver_fn *deliver, void *deliver_ctx);
/* Unregisters and frees a client (its connection is gone). Owner's thread. */
void core_realtime_disconnect(struct core_rt_client *client);

/* Replaces the subscriptions of client id (spec §7.2), from any worker cw.
 * Checks in the contract's order: RC_INVALID with field errors in p for a
 * malformed body (subs must be a JSON array of strings or NULL) or more
 * than the limits' realtime_max_subs, RC_NOT_FOUND for an unknown id,
 * RC_CONFLICT for another IP, RC_FORBIDDEN for an identity other than the
 * stored one while that one is live (its record exists with the same
 * tokenKey; reads on cw's connection), RC_RATE_LIMITED when the clients of
 * the client's IP would hold more than realtime_max_subs_ip (a smaller or
 * equal list always passes). auth is the request's requester: the same
 * identity again refreshes the stored tokenKey. */
enum rc core_realtime_subscribe(struct core_worker *cw, const char *client_id,
                                const char *remote_addr, const struct core_auth *auth, json_t *subs,
                                struct core_problem *p);

/* Same, for a client the caller owns (a WebSocket's in-band message). */
enum rc core_realtime_subscribe_client(struct core_worker *cw, struct core_rt_client *client,
                                       const struct core_auth *auth, json_t *subs_json,
                                       struct core_problem *p);

/* Realtime as a listener of the app's event bus, for app.c to register: it
 * wants events while any client is connected (core_realtime_client_count),
 * and hands each committed one to every worker, which fans it out to its
 * own clients. Nothing is posted when no client exists. */
struct core_event_listener core_realtime_listener(struct core_realtime *rt);

/* Publishes data (JSON text) on a custom topic (scripts' realtime
 * messages): every client with a subscription whose text before '?' is
 * topic gets it, named by that subscription, on its own loop a moment later,
 * in slices as record events are. With to_collection_id and to_record_id,
 * only the clients signed in as that record (still live) get it. The caller
 * keeps topics apart from collections (their record events). Copies its
 * arguments; any thread. */
void core_realtime_publish(struct core_realtime *rt, const char *topic, const char *data,
                           const char *to_collection_id, const char *to_record_id);

/* Sends one message named topic with data (JSON text) to the client id,
 * from any worker, when that client is connected from remote_addr and
 * subscribed to exactly topic (the OAuth2 redirect's "@oauth2", spec
 * §6.11): it is delivered on the client's own loop a moment later (not at
 * all when the client goes in between). RC_NOT_FOUND otherwise. Copies its
 * arguments. */
enum rc core_realtime_send(struct core_realtime *rt, const char *client_id, const char *remote_addr,
                           const char *topic, const char *data);
/* Publishes as core_realtime_publish, to this instance's clients only (a
 * message another instance published). */
void core_realtime_publish_local(struct core_realtime *rt, const char *topic, const char *data,
                                 const char *to_collection_id, const char *to_record_id);

/* --redis: the clients of other instances (core/cluster_app.c fills this in).
 * Each instance's client ids begin with its own id_prefix, so a POST for a
 * client this instance does not hold names the instance that does; record
 * events reach the other instances as the bus's on_remote. */
struct core_rt_remote {
    /* A subscriptions POST for client_id of another instance, answered as
     * core_realtime_subscribe would there (the checks run there). cw's loop,
     * inside a task. */
    enum rc (*subscribe)(void *ctx, struct core_worker *cw, const char *client_id,
                         const char *remote_addr, const struct core_auth *auth, json_t *subs,
                         struct core_problem *p);
    /* core_realtime_send for a client of another instance. */
    enum rc (*send)(void *ctx, const char *client_id, const char *remote_addr, const char *topic,
                    const char *data);
    /* core_realtime_publish's message, for the other instances' clients. */
    void (*publish)(void *ctx, const char *topic, const char *data, const char *to_collection_id,
                    const char *to_record_id);
    void *ctx;
    char id_prefix[16]; /* this instance's id; shorter than CORE_RT_CLIENT_ID_LEN */
};
/* Sets remote (copied). Start-up, before the workers. */
void core_realtime_set_remote(struct core_realtime *rt, const struct core_rt_remote *remote);

/* Counters for tests and benchmarks: clients registered. */
size_t core_realtime_client_count(struct core_realtime *rt);
/* Adds the record events' fan-out times so far into out: one observation per
 * event and worker, from the commit's notice to the last client's line
 * handed to its socket (what the kernel and the network add is not in it). */
void core_realtime_fanout_time(struct core_realtime *rt, struct metrics_hist *out);

#endif
