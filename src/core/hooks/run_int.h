/* run_int.h -- a script call in flight as hooks.c and the tarmac.records
 * API (records.c) share it (private to core/hooks). */
#ifndef TARMAC_CORE_HOOKS_RUN_INT_H
#define TARMAC_CORE_HOOKS_RUN_INT_H

#include <lua.h>

#include "base/arena.h"
#include "core/hooks/hooks.h"
#include "core/hooks/call.h"
#include "core/hooks/vm.h"

/* One script call in flight (a route, a hook) and what its tarmac.records
 * calls run as: the core_hooks_call's owner. */
struct hooks_run {
    struct core_hooks *h;
    struct hooks_gen *gen; /* the state it runs on (kept until the run ends) */
    struct core_hooks_call *call;
    struct core_request *r; /* the requester: a route's, or su */
    struct core_request su; /* the same as a superuser (hooks, opts.superuser) */
    struct arena *arena;    /* owned when the run has no request of its own, else NULL */
    struct store_conn *db;  /* a before hook: the write's transaction; else NULL */
    const char *what;       /* "route POST /x", "after_create orders": for the log */
    /* a route's answer */
    core_hooks_route_done_fn *done;
    void *done_ctx;
};

/* Registers tarmac.records.* in vm (records.c). RC_INVALID with err when
 * its Lua part does not load. */
enum rc hooks_records_open(struct core_hooks_vm *vm, char *err, size_t errlen);
/* The run of the call running on L; NULL outside a call (loading). */
struct hooks_run *hooks_run_of(lua_State *L);
/* Resumes run's call with the nresults values pushed on its thread, and
 * finishes the run when it ends. */
void hooks_run_resume(struct hooks_run *run, int nresults);
/* Registers tarmac.http in the state of L (http.c). */
void hooks_http_open(lua_State *L);
/* The pool outbound HTTP calls of scripts run on (made at first use). */
struct net_offload *hooks_http_pool(struct core_hooks *h);
bool hooks_allow_private_network(const struct core_hooks *h);
/* The schema the hooks' app has now. */
const struct core_schema *hooks_schema(struct core_hooks *h);

#endif
