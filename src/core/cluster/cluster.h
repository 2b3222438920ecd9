/* cluster.h -- what the instances of one deployment tell each other
 * through Redis (layer: core; the first of core's folders: it includes none
 * of the others).
 *
 * Several tarmac instances on one PostgreSQL database share one Redis
 * (--redis). Each instance draws an id at start (CORE_CLUSTER_ID_LEN
 * letters and digits). Each worker has a command connection on its own loop
 * (store/redis.h: publishing, rate-limit counters); worker 0 also holds the
 * instance's one subscriber, listening on the deployment's broadcast
 * channel and on the instance's own channel, and runs the handlers of what
 * arrives there.
 *
 * A message is a JSON object: "k" its kind (the handler table's key), "o"
 * the instance that sent it, and the kind's own members. An instance hears
 * its own broadcasts too and drops them: the sender acts locally itself.
 * Messages are fire-and-forget: one sent while Redis is down is dropped and
 * counted; an instance resynchronises when its subscriber comes up, the
 * first time and after being cut off (core_cluster_on_resync).
 *
 * Redis trouble never stops the service: nothing here blocks, a command
 * waits at most CORE_CLUSTER_TIMEOUT_MS, and callers fall back (local
 * realtime, local rate limits). The first connection lost logs one warning;
 * all of them back, one line more; /api/metrics shows tarmac_redis_up.
 *
 * Channels are not per Redis database, so their names carry the database
 * number: one deployment per database. */
#ifndef TARMAC_CORE_CLUSTER_CLUSTER_H
#define TARMAC_CORE_CLUSTER_CLUSTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "base/buf.h"
#include "base/rc.h"
#include "store/redis.h"

#define CORE_CLUSTER_ID_LEN 8
/* The longest a request waits for one Redis reply before it falls back. */
#define CORE_CLUSTER_TIMEOUT_MS 50
#define CORE_CLUSTER_MAX_KINDS 16

struct core_cluster;
struct net_mailbox;

/* One message of a registered kind from another instance, on worker 0's
 * loop; msg is borrowed for the call. */
typedef void core_cluster_handler_fn(void *ctx, json_t *msg);

/* A new cluster for workers worker threads, reaching Redis at target
 * (copied). Nothing connects before the workers attach. Start-up only. */
struct core_cluster *core_cluster_new(const struct store_redis_target *target, unsigned workers);
/* Frees c, after every worker detached. Accepts NULL. */
void core_cluster_free(struct core_cluster *c);
/* This instance's id (CORE_CLUSTER_ID_LEN characters). */
const char *core_cluster_id(const struct core_cluster *c);

/* Gives c what its user keeps with it: free_fn(user) runs when c is freed. */
void core_cluster_set_user(struct core_cluster *c, void *user, void (*free_fn)(void *user));
void *core_cluster_user(const struct core_cluster *c);

/* Routes messages of kind to fn(ctx, msg). Before the workers start. */
void core_cluster_handle(struct core_cluster *c, const char *kind, core_cluster_handler_fn *fn,
                         void *ctx);
/* fn(ctx, is_first) runs on worker 0's loop each time its subscriber comes
 * up: the first time (is_first; what another instance changed between this
 * one's start and its subscription was not heard) and again after Redis was
 * unreachable (messages may have been missed meanwhile). */
void core_cluster_on_resync(struct core_cluster *c, void (*fn)(void *ctx, bool is_first),
                            void *ctx);

/* The calling worker (id worker_id < workers, its loop and mailbox) opens
 * its connections; worker 0 also the subscriber. Worker's thread. */
void core_cluster_attach(struct core_cluster *c, unsigned worker_id, uv_loop_t *loop,
                         struct net_mailbox *mailbox);
/* The calling worker closes its connections (their waiting callbacks run,
 * with NULL). Its thread, once nothing of it waits for Redis. */
void core_cluster_detach(struct core_cluster *c);

/* True while every connection of the instance is up. Any thread. */
bool core_cluster_is_up(const struct core_cluster *c);
/* True on a worker thread whose command connection is up now. */
bool core_cluster_can_command(const struct core_cluster *c);

/* Sends msg (takes ownership; "k" and "o" are set here) to every instance
 * (to NULL) or to the instance of id to. Any thread: the text is made here
 * and handed to worker 0, whose connection sends every message of the
 * instance, in the order they were handed over (so the other instances see
 * changes in commit order). Dropped (and counted) when Redis is
 * unreachable. */
void core_cluster_publish(struct core_cluster *c, const char *to, const char *kind, json_t *msg);

/* The number of instances a publish reached (-1: Redis did not answer). */
typedef void core_cluster_count_fn(void *ctx, long long receivers);
/* As core_cluster_publish, with cb(ctx, receivers) on worker 0's loop once
 * Redis answered the PUBLISH (-1: it did not). Returns whether cb will run:
 * false when the message was dropped or kept for later (no worker yet). */
bool core_cluster_publish_then(struct core_cluster *c, const char *to, const char *kind,
                               json_t *msg, core_cluster_count_fn *cb, void *ctx);
/* As core_cluster_publish to the instance to, from a worker thread, with
 * cb(ctx, receivers) later on its loop. RC_UNAVAILABLE (msg freed, cb not
 * called) when the worker's connection is not up. */
enum rc core_cluster_publish_counted(struct core_cluster *c, const char *to, const char *kind,
                                     json_t *msg, core_cluster_count_fn *cb, void *ctx);
/* A command on the calling worker's connection (store_redis_command's
 * promises); RC_UNAVAILABLE off a worker thread or while it is down. */
enum rc core_cluster_command(struct core_cluster *c, store_redis_reply_fn *cb, void *ctx, int argc,
                             const char *const *argv, const size_t *lens);

/* Appends tarmac_redis_* and tarmac_cluster_* families (Prometheus text). Any thread. */
void core_cluster_metrics_write(struct core_cluster *c, struct buf *out);

#endif
