/* cost.h -- what one request may cost its worker (layer: core).
 *
 * Issue #20: one guest's filter could keep a worker busy for a minute, one
 * `expand` could make gigabytes of JSON, and every write could cost seconds
 * of realtime rule checks. Each unit of work now carries a struct core_cost:
 * a time budget for its work on the loop (SQL stops through the read
 * connection's progress handler, see store_set_budget; render loops
 * call core_cost_check) and caps on what `expand` adds to one response. The
 * first limit passed is kept: the work stops where it is, and the caller
 * answers 400 with core_cost_message() and nothing of the partial result.
 * Units: a REST request (a batch counts as one), a streamed list's pieces
 * together, and in a realtime fan-out one event's checks for the clients of
 * one IP address on one worker. All on the worker's thread. */
#ifndef TARMAC_CORE_COST_H
#define TARMAC_CORE_COST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/budget.h"

struct core_worker;

/* The limits of the process (flags); read-only once workers run. */
struct core_limits {
    uint64_t budget_ns;            /* a guest's or user's request; 0: none */
    uint64_t superuser_budget_ns;  /* a superuser's request; 0: none */
    uint64_t realtime_budget_ns;   /* one event's checks for one IP's clients on a worker */
    uint64_t max_expand;           /* records `expand` may add to one response; 0: no cap */
    uint64_t max_expand_bytes;     /* bytes of those records (as stored); 0: no cap */
    uint64_t realtime_max_subs;    /* subscriptions per realtime client, 1..1000 */
    uint64_t realtime_max_subs_ip; /* subscriptions of all the clients of one IP; 0: no cap */
};

/* The defaults: 1 s per request (5 s for superusers), 100 ms per event and
 * IP for realtime checks, 10,000 expanded records of at most 32 MiB, 1000
 * subscriptions per realtime client (PocketBase's limit) and 2000 per IP. A
 * record read costs about 10 us and a page with its total under a
 * millisecond here, so only requests that scan or join far more rows than
 * an app screen shows come near. */
void core_limits_defaults(struct core_limits *l);

enum core_cost_limit {
    CORE_COST_WITHIN,       /* no limit passed */
    CORE_COST_TIME,         /* the time budget */
    CORE_COST_EXPAND,       /* max_expand */
    CORE_COST_EXPAND_BYTES, /* max_expand_bytes */
};

struct core_cost {
    struct budget time;
    uint64_t max_expand;       /* 0: no cap */
    uint64_t max_expand_bytes; /* 0: no cap */
    uint64_t expanded;         /* records expanded so far */
    uint64_t expanded_bytes;   /* their stored size so far */
    enum core_cost_limit hit;  /* the first limit passed */
    uint32_t checks;           /* core_cost_check calls: the clock is read on every 16th */
};

/* Sets c up with the expand caps of l and a time budget of budget_ns (0:
 * none), nothing spent. */
void core_cost_init(struct core_cost *c, const struct core_limits *l, uint64_t budget_ns);
/* Starts charging c's time and makes cw's read connection stop once it is
 * over; the budget the connection had is replaced and stops being charged.
 * c must stay valid until core_cost_leave(cw, c) or another enter. Accepts
 * NULL c (no budget). */
void core_cost_enter(struct core_worker *cw, struct core_cost *c);
/* Stops charging c's time; when c is still the connection's budget, the
 * connection has none afterwards. Accepts NULL. */
void core_cost_leave(struct core_worker *cw, struct core_cost *c);
/* Ends whatever budget cw's read connection has (its time stops being
 * charged); the worker calls it after each loop iteration, so a piece left
 * open (a handler that deferred its answer) never outlives it. */
void core_cost_leave_any(struct core_worker *cw);
/* True once any limit was passed. The time budget is seen at once when a
 * query stopped on it, else the clock is read on every 16th call (a call
 * follows a query or a rendered record: microseconds apart), so a loop may
 * overrun by that much. Accepts NULL (never over). */
bool core_cost_check(struct core_cost *c);
/* Counts one expanded record of bytes stored bytes; true once a cap (or the
 * time budget) is passed: the record must not be added. Accepts NULL. */
bool core_cost_expand(struct core_cost *c, uint64_t bytes);
/* The sentence a 400 answers with for the limit passed (NULL when none). */
const char *core_cost_message(const struct core_cost *c);

#endif
