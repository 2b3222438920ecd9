/* jobs.c -- job kinds run by scripts (tarmac.job) and tarmac.jobs.enqueue
 * (docs/hooks.md).
 *
 * A script's kind is a kind like "webhook" to the queue (core/jobs/): the
 * registry's fallback finds it by name, so the jobs API, schedules (cron)
 * and retries take it as they take any other. A runner thread that claims
 * such a job does not run Lua itself: it posts the job to a worker loop,
 * where the handler runs as a coroutine with the whole tarmac API (records
 * writes and HTTP wait without blocking), and waits for the outcome. A
 * handler that returns is done; one that raises is retried with the kind's
 * backoff; one that refuses (tarmac.refuse) is dead at once. */
#include <lauxlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "core/hooks/json.h"
#include "core/hooks/run_int.h"
#include "core/jobs/jobs_admin.h"
#include "core/jobs/registry.h"

/* How long a runner waits for a script's job before it counts the attempt
 * as failed (the job's lease is 5 minutes by default). */
#define JOB_WAIT_MS (4 * 60 * 1000)

/* -------------------------------------------------------------------------
 * The kinds the scripts registered, as the queue sees them
 * ------------------------------------------------------------------------- */

struct kind_set {
    size_t count;
    struct core_job_kind kinds[HOOKS_MAX_JOB_KINDS];
    char names[HOOKS_MAX_JOB_KINDS][CORE_JOB_KIND_MAX + 1];
    struct kind_set *older; /* sets replaced by a reload, freed at exit */
};

/* The process's one set (one app per process); replaced whole on reload, so
 * a kind found stays valid. */
static _Atomic(struct kind_set *) published;

static void job_run(const struct core_job_env *env, const struct core_job *job,
                    struct core_job_result *res);

static const struct core_job_kind *find_kind(struct str name)
{
    struct kind_set *set = atomic_load(&published);
    for (size_t i = 0; set && i < set->count; i++)
        if (strlen(set->names[i]) == name.len && !memcmp(set->names[i], name.ptr, name.len))
            return &set->kinds[i];
    return NULL;
}

const char *hooks_job_kind_problem(struct str kind)
{
    if (kind.len == 0 || kind.len > CORE_JOB_KIND_MAX)
        return "a kind has 1 to 64 characters";
    for (size_t i = 0; i < kind.len; i++) {
        char c = kind.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return "a kind is lower-case letters, digits, _ . -";
    }
    if (core_job_kind_builtin(kind))
        return "a built-in kind";
    return NULL;
}

/* The struct core_hooks the runner threads reach (one per process). */
static struct core_hooks *the_hooks;

void hooks_jobs_publish(struct core_hooks *h, const char *const *kinds, size_t n)
{
    the_hooks = h;
    struct kind_set *set = xcalloc(1, sizeof(*set));
    for (size_t i = 0; i < n && i < HOOKS_MAX_JOB_KINDS; i++) {
        snprintf(set->names[i], sizeof(set->names[i]), "%s", kinds[i]);
        set->kinds[i] = (struct core_job_kind){
            .name = set->names[i], .retry = {5, 1000, 60 * 60 * 1000}, .run = job_run};
        set->count++;
    }
    set->older = atomic_exchange(&published, set);
    core_job_kinds_set_fallback(find_kind);
}

void hooks_jobs_free(void)
{
    struct kind_set *set = atomic_exchange(&published, NULL);
    while (set) {
        struct kind_set *older = set->older;
        xfree(set);
        set = older;
    }
    the_hooks = NULL;
}

/* -------------------------------------------------------------------------
 * A runner thread hands a job to a worker and waits
 * ------------------------------------------------------------------------- */

struct hooks_job_wait {
    atomic_int refs; /* the runner's and the worker's */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool is_done;
    enum core_job_outcome outcome;
    char error[512];
    char kind[CORE_JOB_KIND_MAX + 1];
    char id[CORE_JOB_ID_LEN + 1];
    json_t *payload; /* a copy of the runner's */
    int attempt;
    int max_attempts;
};

static void wait_unref(struct hooks_job_wait *w)
{
    if (atomic_fetch_sub(&w->refs, 1) != 1)
        return;
    json_decref(w->payload);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    xfree(w);
}

/* The outcome, to the runner; drops the worker's reference. Worker thread. */
static void wait_finish(struct hooks_job_wait *w, enum core_job_outcome outcome, const char *error)
{
    pthread_mutex_lock(&w->mu);
    w->outcome = outcome;
    snprintf(w->error, sizeof(w->error), "%s", error ? error : "");
    w->is_done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    wait_unref(w);
}

void hooks_job_settled(struct hooks_run *run, enum core_hooks_status st)
{
    struct hooks_job_wait *w = run->job;
    run->job = NULL;
    if (st == CORE_HOOKS_DONE) {
        wait_finish(w, CORE_JOB_DONE, NULL);
        return;
    }
    const struct core_hooks_error *e = core_hooks_call_error(run->call);
    char why[800];
    snprintf(why, sizeof(why), "%s%s%s", e->where, e->where[0] ? ": " : "", e->message);
    if (e->kind != CORE_HOOKS_ERR_REFUSED)
        core_hooks_call_log(run->call, run->what);
    wait_finish(w, e->kind == CORE_HOOKS_ERR_REFUSED ? CORE_JOB_DEAD : CORE_JOB_RETRY, why);
}

/* On a worker's loop: runs the job's handler. */
static void job_on_worker(void *arg)
{
    struct hooks_job_wait *w = arg;
    struct core_worker *cw = hooks_thread_worker();
    struct hooks_gen *g = cw ? hooks_current_gen() : NULL;
    if (!g) {
        wait_finish(w, CORE_JOB_RETRY, "no worker runs scripts now (stopping?)");
        return;
    }
    int ref = hooks_gen_job_ref(g, w->kind);
    if (ref == LUA_NOREF) {
        char why[128];
        snprintf(why, sizeof(why), "no script handles job kind %s", w->kind);
        wait_finish(w, CORE_JOB_DEAD, why);
        return;
    }
    struct hooks_run *run = hooks_run_new(hooks_thread_hooks(), g, w->kind);
    hooks_run_as_system(run, cw, hooks_schema(run->h));
    run->job = w;
    lua_State *L = hooks_gen_lua(g);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_createtable(L, 0, 5);
    lua_pushstring(L, w->id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, w->kind);
    lua_setfield(L, -2, "kind");
    if (core_hooks_push_json(L, w->payload) == RC_OK)
        lua_setfield(L, -2, "payload");
    lua_pushinteger(L, w->attempt);
    lua_setfield(L, -2, "attempt");
    lua_pushinteger(L, w->max_attempts);
    lua_setfield(L, -2, "maxAttempts");
    hooks_run_settle(run, hooks_run_start(run, 1));
}

/* The kind's run function, on a runner thread. */
static void job_run(const struct core_job_env *env, const struct core_job *job,
                    struct core_job_result *res)
{
    (void)env;
    struct hooks_job_wait *w = xcalloc(1, sizeof(*w));
    atomic_init(&w->refs, 2);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    snprintf(w->kind, sizeof(w->kind), "%s", job->kind);
    snprintf(w->id, sizeof(w->id), "%s", job->id);
    w->payload = job->payload ? json_deep_copy(job->payload) : json_object();
    w->attempt = job->attempts;
    w->max_attempts = job->max_attempts;
    if (!the_hooks || !hooks_post_to_worker(the_hooks, job_on_worker, w)) {
        wait_unref(w); /* the worker's reference: never posted */
        wait_unref(w);
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error), "no worker runs scripts now");
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += JOB_WAIT_MS / 1000;
    pthread_mutex_lock(&w->mu);
    while (!w->is_done && pthread_cond_timedwait(&w->cond, &w->mu, &until) == 0)
        ;
    if (w->is_done) {
        res->outcome = w->outcome;
        snprintf(res->error, sizeof(res->error), "%s", w->error);
    } else {
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error), "the script did not finish within %d s",
                 JOB_WAIT_MS / 1000);
    }
    pthread_mutex_unlock(&w->mu);
    wait_unref(w);
}

/* -------------------------------------------------------------------------
 * tarmac.jobs.enqueue(kind, payload [, opts])
 * ------------------------------------------------------------------------- */

static void enqueue_done(struct core_jobs_action *a)
{
    struct hooks_run *run = a->ctx;
    lua_State *co = core_hooks_call_thread(run->call);
    if (a->rc) {
        lua_pushnil(co);
        lua_pushfstring(co, "the job was not enqueued (%s)", rc_text(a->rc));
    } else {
        lua_pushstring(co, a->id);
        lua_pushnil(co);
        hooks_jobs_wake(run->h);
    }
    core_jobs_action_cleanup(a);
    xfree(a);
    hooks_run_resume(run, 2);
}

/* The enqueue body of the jobs API: {kind, payload, runAt, priority,
 * dedupeKey, maxAttempts}, from the script's arguments. */
static json_t *enqueue_body(lua_State *L)
{
    const char *kind = luaL_checkstring(L, 1);
    char err[256];
    json_t *payload =
        lua_isnoneornil(L, 2) ? json_object() : core_hooks_to_json(L, 2, err, sizeof(err));
    if (!payload)
        luaL_error(L, "tarmac.jobs.enqueue: payload: %s", err);
    json_t *body = json_pack("{s:s,s:o}", "kind", kind, "payload", payload);
    if (lua_type(L, 3) == LUA_TTABLE) {
        lua_getfield(L, 3, "delay");
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0)
            json_object_set_new(body, "runAt",
                                json_integer(chrono_real_ms() + lua_tointeger(L, -1)));
        lua_pop(L, 1);
        static const char *const ints[] = {"priority", "maxAttempts"};
        for (size_t i = 0; i < 2; i++) {
            lua_getfield(L, 3, ints[i]);
            if (lua_isinteger(L, -1))
                json_object_set_new(body, ints[i], json_integer(lua_tointeger(L, -1)));
            lua_pop(L, 1);
        }
        lua_getfield(L, 3, "dedupeKey");
        if (lua_type(L, -1) == LUA_TSTRING)
            json_object_set_new(body, "dedupeKey", json_string(lua_tostring(L, -1)));
        lua_pop(L, 1);
    }
    return body;
}

static int l_enqueue(lua_State *L)
{
    struct hooks_run *run = hooks_run_of(L);
    if (!run)
        return luaL_error(L, "tarmac.jobs.enqueue: only inside a route, a hook or a job");
    if (!run->db && (run->cannot_wait || !core_hooks_can_yield(L)))
        return luaL_error(L, "tarmac.jobs.enqueue: cannot wait here (inside a coroutine or a "
                             "metamethod)");
    json_t *body = enqueue_body(L);
    struct core_jobs_action *a = xcalloc(1, sizeof(*a));
    struct core_problem p;
    core_problem_init(&p);
    enum rc rc = core_jobs_enqueue_parse(body, a, &p);
    json_decref(body);
    if (rc) {
        char why[200];
        snprintf(why, sizeof(why), "%s", p.message[0] ? p.message : "invalid job");
        const char *k;
        json_t *v;
        json_object_foreach(p.data, k, v)
        {
            snprintf(why, sizeof(why), "%s: %s", k,
                     json_string_value(json_object_get(v, "message")));
            break;
        }
        core_problem_cleanup(&p);
        core_jobs_action_cleanup(a);
        xfree(a);
        return luaL_error(L, "tarmac.jobs.enqueue: %s", why);
    }
    core_problem_cleanup(&p);
    if (run->db) {
        /* A before hook: in the write's transaction, so the job exists only
         * if the write commits (the runners are woken after the commit). */
        char id[CORE_JOB_ID_LEN + 1];
        bool is_folded = false;
        rc = core_job_enqueue(run->db, &a->spec, id, &is_folded);
        core_jobs_action_cleanup(a);
        xfree(a);
        if (rc)
            return luaL_error(L, "tarmac.jobs.enqueue: the job was not enqueued (%s)", rc_text(rc));
        hooks_note_tx_enqueue(run->h);
        lua_pushstring(L, id);
        return 1;
    }
    a->op = CORE_JOBS_ENQUEUE;
    a->done = enqueue_done;
    a->ctx = run;
    core_jobs_action_submit(run->r->cw, a);
    return core_hooks_yield(L); /* enqueue_done resumes with (id, nil) or (nil, why) */
}

static const char wrappers[] = "local enqueue = tarmac.jobs._enqueue\n"
                               "tarmac.jobs._enqueue = nil\n"
                               "function tarmac.jobs.enqueue(kind, payload, opts)\n"
                               "  local id, err = enqueue(kind, payload, opts)\n"
                               "  if not id then error(err, 2) end\n"
                               "  return id\n"
                               "end\n";

enum rc hooks_jobs_open(struct core_hooks_vm *vm, char *err, size_t errlen)
{
    static const luaL_Reg fns[] = {{"_enqueue", l_enqueue}, {NULL, NULL}};
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, "tarmac");
    luaL_newlib(L, fns);
    lua_setfield(L, -2, "jobs");
    lua_pop(L, 1);
    return core_hooks_vm_load_string(vm, "=tarmac.jobs", str_from_cstr(wrappers), err, errlen);
}
