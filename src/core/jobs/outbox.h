/* outbox.h -- what a listener that enqueues jobs inside writes keeps
 * (layer: core, core/jobs/): notify triggers, recommenders, risk scoring.
 *
 * Such a listener is configured by the rows of a system collection: while
 * it has none (may_have false) it wants no events, so writes cost nothing;
 * a write of that collection sets may_have again. A job enqueued in a
 * write's transaction sets pending_wake; after the commit (the listener's
 * `committed`) the runners are woken once, so they take it at once. */
#ifndef TARMAC_CORE_JOBS_OUTBOX_H
#define TARMAC_CORE_JOBS_OUTBOX_H

#include <stdatomic.h>
#include <stdbool.h>

#include "core/event/event.h"
#include "core/jobs/registry.h"
#include "store/store.h"

struct core_jobs;

struct core_job_outbox {
    atomic_bool may_have;     /* the configuration table may hold a row */
    atomic_bool pending_wake; /* a write enqueued a job: wake the runners after it */
    struct core_jobs *jobs;   /* set once the runners exist */
    const char *table;        /* the configuration collection's name */
    core_job_schema_fn *schema_of;
    void *ctx;
};

/* may_have true until loaded; table: the configuration collection (a
 * constant name). */
void core_job_outbox_init(struct core_job_outbox *o, const char *table,
                          core_job_schema_fn *schema_of, void *ctx);
/* Sets may_have from whether the table holds a row. */
enum rc core_job_outbox_load(struct core_job_outbox *o, struct store_conn *db);
/* Whether c is the configuration collection. */
bool core_job_outbox_is_config(const struct core_job_outbox *o, const struct core_collection *c);

/* Listener functions for a listener whose ctx starts with its outbox:
 * wants: the configuration collection, and any collection while a row may
 * exist; wants_config: the configuration collection only (a `before` that
 * checks its records); on_remote: another instance wrote the configuration,
 * so a row may exist here too. */
bool core_job_outbox_wants(void *ctx, const struct core_collection *c);
bool core_job_outbox_wants_config(void *ctx, const struct core_collection *c);
void core_job_outbox_on_remote(void *ctx, struct core_event *ev);
/* A job was enqueued in the current write: wake the runners after it. */
void core_job_outbox_enqueued(struct core_job_outbox *o);
/* The listener's `committed`: ctx is the outbox. */
void core_job_outbox_committed(void *ctx);
/* The schema the listener checks against. */
const struct core_schema *core_job_outbox_schema(const struct core_job_outbox *o);

#endif
