/* checks.c -- see checks.h. */
#include "core/jobs/checks.h"

#include <string.h>

#include "core/jobs/schedule.h"
#include "core/jobs/webhook.h"

struct checker {
    core_jobs_schema_fn *schema_of;
    void *ctx;
};

static enum rc check_schedule(const struct core_schema *schema, json_t *values,
                              struct core_problem *p)
{
    (void)schema;
    return core_schedule_check(values, p);
}

/* One entry per system collection this listener checks (STYLE.md §1.4). */
static const struct {
    const char *collection;
    enum rc (*check)(const struct core_schema *schema, json_t *values, struct core_problem *p);
} table[] = {
    {CORE_WEBHOOKS_COLLECTION, core_webhook_check},
    {CORE_SCHEDULES_COLLECTION, check_schedule},
};

static int entry_of(const struct core_collection *c)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(c->name, table[i].collection) == 0)
            return (int)i;
    return -1;
}

static bool wants_nothing(void *ctx, const struct core_collection *c)
{
    (void)ctx;
    (void)c;
    return false;
}

static bool wants_before(void *ctx, const struct core_collection *c)
{
    (void)ctx;
    return entry_of(c) >= 0;
}

static enum rc before(void *ctx, struct store_conn *db, enum core_event_action action,
                      const struct core_collection *c, json_t *values, json_t *current,
                      struct core_problem *p)
{
    (void)db;
    (void)current;
    struct checker *k = ctx;
    int i = entry_of(c);
    if (i < 0 || action == CORE_EVENT_DELETE)
        return RC_OK;
    return table[i].check(k->schema_of(k->ctx), values, p);
}

struct core_event_listener core_jobs_check_listener(core_jobs_schema_fn *schema_of, void *ctx)
{
    /* one per app, for the process's life (the bus keeps a copy of the
     * listener, not of this) */
    static struct checker k;
    k = (struct checker){.schema_of = schema_of, .ctx = ctx};
    return (struct core_event_listener){
        .wants = wants_nothing, .wants_before = wants_before, .before = before, .ctx = &k};
}
