/* cluster_app.h -- the app across several instances (layer: core, at its
 * root: it composes core/cluster/ with the parts of the app it carries).
 *
 * With --redis, instances on one PostgreSQL database share through Redis
 * what each would otherwise keep to itself (DESIGN.md, "Scale-out"). This
 * file wires core/cluster/ (the connections and messages) to the app. */
#ifndef TARMAC_CORE_CLUSTER_APP_H
#define TARMAC_CORE_CLUSTER_APP_H

#include "core/app.h"
#include "store/redis.h"

/* Makes app->cluster for workers worker threads on Redis at target, and
 * lets it carry the app's changes. Start-up, before the workers. */
void core_cluster_app_start(struct core_app *app, const struct store_redis_target *target,
                            unsigned workers);
/* The worker cw (set up by core_worker_init; its id, loop and mailbox)
 * opens its Redis connections; worker 0 also listens to the other
 * instances and serves what they forward. Nothing without --redis.
 * Worker's thread. */
void core_cluster_app_attach(struct core_worker *cw, unsigned worker_id, uv_loop_t *loop,
                             struct net_mailbox *mailbox);
/* cw closes them, once nothing of it waits for Redis. Worker's thread. */
void core_cluster_app_detach(struct core_worker *cw);
/* This instance's scripts were reloaded (SIGHUP): the others reload theirs.
 * Any thread; nothing without --redis. */
void core_cluster_app_hooks_reloaded(struct core_app *app);
/* Apple posted name for the code exchange of code to this instance: the
 * others keep it too (core_oidc_name_put), since the exchange may reach any
 * of them. Sent before the redirect's handoff, on the same ordered channel.
 * Any thread; nothing without --redis. */
void core_cluster_app_apple_name(struct core_app *app, const char *code, const char *name);
/* This instance started again after applying a restore: the database
 * changed under the others, which read schema and settings again (sent
 * once the first worker is up). Start-up; nothing without --redis. */
void core_cluster_app_restored(struct core_app *app);

#endif
