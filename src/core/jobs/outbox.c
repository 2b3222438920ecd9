/* outbox.c -- see outbox.h. */
#include "core/jobs/outbox.h"

#include <stdio.h>
#include <string.h>

#include "core/jobs/runner.h"

void core_job_outbox_init(struct core_job_outbox *o, const char *table,
                          core_job_schema_fn *schema_of, void *ctx)
{
    o->table = table;
    atomic_init(&o->may_have, true);
    atomic_init(&o->pending_wake, false);
    o->jobs = NULL;
    o->schema_of = schema_of;
    o->ctx = ctx;
}

enum rc core_job_outbox_load(struct core_job_outbox *o, struct store_conn *db)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM \"%s\")", o->table);
    struct store_stmt *st;
    enum rc rc = store_prepare(db, str_from_cstr(sql), &st);
    if (rc)
        return rc;
    rc = store_step(st);
    if (rc == RC_OK)
        atomic_store(&o->may_have, store_column_int64(st, 0) != 0);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

void core_job_outbox_enqueued(struct core_job_outbox *o)
{
    atomic_store(&o->pending_wake, true);
}

void core_job_outbox_committed(void *ctx)
{
    struct core_job_outbox *o = ctx;
    if (atomic_load(&o->pending_wake) && atomic_exchange(&o->pending_wake, false) && o->jobs)
        core_jobs_wake(o->jobs);
}

const struct core_schema *core_job_outbox_schema(const struct core_job_outbox *o)
{
    return o->schema_of ? o->schema_of(o->ctx) : NULL;
}

bool core_job_outbox_is_config(const struct core_job_outbox *o, const struct core_collection *c)
{
    return strcmp(c->name, o->table) == 0;
}

bool core_job_outbox_wants(void *ctx, const struct core_collection *c)
{
    struct core_job_outbox *o = ctx;
    return core_job_outbox_is_config(o, c) ||
           atomic_load_explicit(&o->may_have, memory_order_relaxed);
}

bool core_job_outbox_wants_config(void *ctx, const struct core_collection *c)
{
    return core_job_outbox_is_config(ctx, c);
}

void core_job_outbox_on_remote(void *ctx, struct core_event *ev)
{
    struct core_job_outbox *o = ctx;
    if (core_job_outbox_is_config(o, ev->c))
        atomic_store(&o->may_have, true);
}
