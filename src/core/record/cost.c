/* cost.c -- see cost.h. */
#include "core/record/cost.h"

#include "core/record/worker.h"
#include "store/store.h"

void core_limits_defaults(struct core_limits *l)
{
    l->budget_ns = 1000000000ull;
    l->superuser_budget_ns = 5000000000ull;
    l->realtime_budget_ns = 100000000ull;
    l->max_expand = 10000;
    l->max_expand_bytes = 32ull << 20;
    l->realtime_max_subs = 1000;
    l->realtime_max_subs_ip = 2000;
}

void core_cost_init(struct core_cost *c, const struct core_limits *l, uint64_t budget_ns)
{
    budget_init(&c->time, budget_ns);
    c->max_expand = l->max_expand;
    c->max_expand_bytes = l->max_expand_bytes;
    c->expanded = 0;
    c->expanded_bytes = 0;
    c->hit = CORE_COST_WITHIN;
    c->checks = 0;
}

void core_cost_enter(struct core_worker *cw, struct core_cost *c)
{
    if (!cw->db)
        return;
    struct budget *was = store_set_budget(cw->db, c ? &c->time : NULL);
    /* The one replaced (a request that deferred without leaving) stops
     * being charged: its clock must not run while others work. */
    if (was && (!c || was != &c->time))
        budget_pause(was);
    if (c)
        budget_resume(&c->time);
}

void core_cost_leave(struct core_worker *cw, struct core_cost *c)
{
    if (!c)
        return;
    budget_pause(&c->time);
    if (!cw->db)
        return;
    struct budget *was = store_set_budget(cw->db, NULL);
    if (was != &c->time)
        store_set_budget(cw->db, was); /* another's: leave it */
}

void core_cost_leave_any(struct core_worker *cw)
{
    struct budget *b = cw->db ? store_set_budget(cw->db, NULL) : NULL;
    if (b)
        budget_pause(b);
}

bool core_cost_check(struct core_cost *c)
{
    if (!c)
        return false;
    if (c->hit != CORE_COST_WITHIN)
        return true;
    /* A query the progress handler stopped marked the budget already; the
     * clock costs a little on every row of a page, so only now and then. */
    if (c->time.is_over || ((++c->checks & 15) == 0 && budget_is_over(&c->time)))
        c->hit = CORE_COST_TIME;
    return c->hit != CORE_COST_WITHIN;
}

bool core_cost_expand(struct core_cost *c, uint64_t bytes)
{
    if (!c)
        return false;
    if (core_cost_check(c))
        return true;
    c->expanded++;
    c->expanded_bytes += bytes;
    if (c->max_expand && c->expanded > c->max_expand)
        c->hit = CORE_COST_EXPAND;
    else if (c->max_expand_bytes && c->expanded_bytes > c->max_expand_bytes)
        c->hit = CORE_COST_EXPAND_BYTES;
    return c->hit != CORE_COST_WITHIN;
}

const char *core_cost_message(const struct core_cost *c)
{
    switch (c ? c->hit : CORE_COST_WITHIN) {
    case CORE_COST_WITHIN: break;
    case CORE_COST_TIME:
        return "The request is too expensive; simplify the filter or lower perPage.";
    case CORE_COST_EXPAND:
        return "The request expands too many records; expand less or lower perPage.";
    case CORE_COST_EXPAND_BYTES:
        return "The request expands too much data; expand less or lower perPage.";
    }
    return NULL;
}
