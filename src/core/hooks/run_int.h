/* run_int.h -- a script call in flight as hooks.c and the tarmac.records
 * API (records.c) share it (private to core/hooks). */
#ifndef TARMAC_CORE_HOOKS_RUN_INT_H
#define TARMAC_CORE_HOOKS_RUN_INT_H

#include <lua.h>

#include "base/arena.h"
#include "net/mailbox.h"
#include "core/hooks/hooks.h"
#include "core/hooks/call.h"
#include "core/hooks/vm.h"

#define HOOKS_MAX_JOB_KINDS 64

struct hooks_gen;
struct hooks_job_wait;

/* One script call in flight (a route, a hook) and what its tarmac.records
 * calls run as: the core_hooks_call's owner. */
struct hooks_run {
    struct core_hooks *h;
    struct hooks_gen *gen; /* the state it runs on (kept until the run ends) */
    struct core_hooks_call *call;
    struct core_request *r;     /* the requester: a route's, or su */
    struct core_request su;     /* the same as a superuser (hooks, opts.superuser) */
    struct arena *arena;        /* owned when the run has no request of its own, else NULL */
    struct store_conn *db;      /* a before hook: the write's transaction; else NULL */
    const char *what;           /* "route POST /x", "after_create orders": for the log */
    struct hooks_job_wait *job; /* a job's run: the runner waiting for its outcome */
    bool cannot_wait;           /* a before_auth hook: its sign-in answers when it returns */
    void (*prepare)(void *ctx); /* a route's: fills r's @request data, once (NULL: done) */
    void *prepare_ctx;
    /* a route's answer */
    core_hooks_route_done_fn *done;
    void *done_ctx;
    /* a route's request, which its req table reads at first use of a field */
    struct core_hooks_request in;
    int req_ref; /* registry ref of the req table; 0: none */
};

/* Fills the run's requester's @request data when it has not been (a route's,
 * before its first records call). */
static inline void hooks_run_prepare(struct hooks_run *run)
{
    if (run->prepare) {
        run->prepare(run->prepare_ctx);
        run->prepare = NULL;
        /* the superuser's copy takes the same data */
        const struct core_auth *su = run->su.auth;
        run->su = *run->r;
        run->su.auth = su;
    }
}

/* hooks.c: the calling thread's current scripts (NULL: none), made again
 * after a reload; a job kind's handler there (LUA_NOREF: none). */
struct hooks_gen *hooks_current_gen(void);
int hooks_gen_job_ref(const struct hooks_gen *g, const char *kind);
lua_State *hooks_gen_lua(struct hooks_gen *g);
/* hooks.c: a run on g (what: for the log), as a superuser with an arena of
 * its own, started with the function and nargs arguments on g's stack, and
 * settled (answered, logged, freed) when it ended. */
struct hooks_run *hooks_run_new(struct core_hooks *h, struct hooks_gen *g, const char *what);
void hooks_run_as_system(struct hooks_run *run, struct core_worker *cw,
                         const struct core_schema *schema);
enum core_hooks_status hooks_run_start(struct hooks_run *run, int nargs);
void hooks_run_settle(struct hooks_run *run, enum core_hooks_status st);
/* hooks.c: the calling thread's worker and hooks (NULL off a worker). */
struct core_worker *hooks_thread_worker(void);
struct core_hooks *hooks_thread_hooks(void);
/* hooks.c: posts fn(arg) to a worker that runs scripts, round robin; false
 * when none does (none started, or all stopping). Any thread. */
bool hooks_post_to_worker(struct core_hooks *h, net_mail_fn *fn, void *arg);
/* hooks.c: a before hook enqueued a job in its write; the runners are woken
 * after the commit. */
void hooks_note_tx_enqueue(struct core_hooks *h);
/* hooks.c: wakes the job runners now. */
void hooks_jobs_wake(struct core_hooks *h);

/* jobs.c: why kind cannot be a script's job kind, NULL when it can. */
const char *hooks_job_kind_problem(struct str kind);
/* jobs.c: the kinds the scripts registered become the queue's (replacing
 * the previous ones). */
void hooks_jobs_publish(struct core_hooks *h, const char *const *kinds, size_t n);
void hooks_jobs_free(void);
/* jobs.c: a job's run ended: its outcome goes to the waiting runner. */
void hooks_job_settled(struct hooks_run *run, enum core_hooks_status st);
/* jobs.c: registers tarmac.jobs in vm. */
enum rc hooks_jobs_open(struct core_hooks_vm *vm, char *err, size_t errlen);

/* Registers tarmac.records.* in vm (records.c). RC_INVALID with err when
 * its Lua part does not load. */
enum rc hooks_records_open(struct core_hooks_vm *vm, char *err, size_t errlen);
/* records.c: pushes filter with its {:name} placeholders replaced by the
 * filter literals of the values of the table at index params (0: none);
 * raises for a bad placeholder or value. */
void hooks_push_bound_filter(lua_State *L, struct str filter, int params);
/* Raises rc's status with p's message and field errors as tarmac.refuse
 * does (a script may catch it with pcall; uncaught, a route answers it).
 * Frees p first (the raise does not return); p may be NULL. records.c. */
int hooks_raise_problem(lua_State *L, enum rc rc, struct core_problem *p);
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
/* Registers tarmac.mail and tarmac.realtime in vm (notify.c). RC_INVALID
 * with err when its Lua part does not load. */
enum rc hooks_notify_open(struct core_hooks_vm *vm, char *err, size_t errlen);
/* The schema the hooks' app has now. */
const struct core_schema *hooks_schema(struct core_hooks *h);

#endif
