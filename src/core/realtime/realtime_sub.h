/* realtime_sub.h -- a realtime client's subscription list, parsed (layer: core).
 *
 * Spec §7.2/§7.3: the list a subscriptions POST (or a WebSocket message)
 * carries. Each string is kept verbatim (it names the messages it gets);
 * the topic before the first '?' is a collection name or id, alone or
 * followed by "/<recordId>" or "/" + "*"; an `options=<urlencoded JSON>`
 * parameter after it carries {query, headers} for the rule checks. Undecodable options are ignored,
 * not refused. Pure over JSON; any thread. */
#ifndef TARMAC_CORE_REALTIME_SUB_H
#define TARMAC_CORE_REALTIME_SUB_H
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"

#define CORE_RT_MAX_SUBS 1000
#define CORE_RT_MAX_SUB_LEN 2500

/* One parsed subscription; every string owned. */
struct core_rt_sub {
    char *raw;        /* verbatim, the event name of its messages */
    char *collection; /* name or id before the '/' (or the whole bare topic) */
    char *record_id;  /* NULL for "*" and bare topics */
    char *options;    /* the raw text after the first '?', "" when none (memo key) */
    json_t *query;    /* options.query (values stringified), NULL when none */
    json_t *headers;  /* options.headers, snake_cased keys, NULL when none */
};

/* An immutable set of subscriptions, shared by reference count so the owner
 * can use it outside the lock while a POST installs a new one. */
struct core_rt_subs {
    atomic_int refs;
    size_t count;
    struct core_rt_sub items[];
};

/* Validates list (an array of strings, or NULL/null for none) and builds
 * the set: NULL when it holds no subscription (then *ok tells whether the
 * list was valid); field errors (subscriptions, subscriptions.<i>) to p. */
struct core_rt_subs *core_rt_subs_parse(json_t *list, struct core_problem *p, bool *ok);
void core_rt_subs_retain(struct core_rt_subs *s);
/* Drops a reference; the last one frees. Accepts NULL. */
void core_rt_subs_release(struct core_rt_subs *s);

#endif
