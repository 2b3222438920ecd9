/* hooks.c -- see hooks.h. The registry a state's scripts fill while they
 * load (routes, record hooks), the thread-local states and their
 * generations, the event-bus listener, and the calls of routes and hooks. */
#include "core/hooks/hooks.h"

#include <lauxlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "net/offload.h"
#include "core/hooks/run_int.h"
#include "core/hooks/json.h"
#include "core/hooks/vm.h"

#define MAX_PATTERN 512
#define MAX_REPLY (16u << 20) /* bytes of a route's JSON body */
#define MAX_PARAMS 8          /* http/router.h's HTTP_MAX_PARAMS: the api layer builds a router */

enum hook_when { WHEN_BEFORE, WHEN_AFTER };

struct hooks_route {
    char method[8];
    char *pattern;
    int ref; /* the handler, in the registry */
};

struct hooks_hook {
    const char *name; /* "before_create", ...: for the log */
    enum hook_when when;
    enum core_event_action action;
    bool is_auth;     /* before_auth / after_auth: a sign-in, not a record change */
    char *collection; /* NULL: every collection */
    int ref;
};

struct hooks_job {
    char *kind;
    int ref;
};

/* One load of the scripts into one state. A thread swaps it for a newer one
 * after a reload; calls still in flight on it keep it until they end. */
struct hooks_gen {
    struct core_hooks_vm *vm;
    uint64_t generation;
    struct hooks_route *routes;
    size_t route_count;
    struct hooks_hook *hooks;
    size_t hook_count;
    struct hooks_job *jobs; /* tarmac.job handlers */
    size_t job_count;
    int middlewares; /* registry ref: {{prefix, fn}, ...} of tarmac.middleware */
    size_t middleware_count;
    int dispatch;    /* registry ref: runs the middlewares, then the route's handler */
    int req_mt;      /* registry ref: the metatable of a route's req (lazy fields) */
    int req_runs;    /* registry ref: {req = its run (light userdata)} while it runs, weak */
    bool is_loading; /* tarmac.route and tarmac.on work only then */
    int runs;        /* calls in flight */
    bool is_retired; /* replaced: freed when runs reaches 0 */
};

/* A thread that runs scripts: a worker (cw) or the writer (cw NULL). */
struct hooks_local {
    struct core_hooks *h;
    struct core_worker *cw;
    struct hooks_gen *gen; /* NULL when the scripts could not be loaded */
    uint64_t generation;   /* the generation gen was made for (or tried) */
    size_t runs;           /* calls in flight on this thread (a worker must not stop) */
    bool is_stopped;       /* detached: no job goes to it (under h->mu) */
    struct hooks_local *next;
};

struct core_hooks {
    char *dir;
    struct core_hooks_vm_config vm;
    core_hooks_schema_fn *schema_of;
    void *schema_ctx;
    _Atomic uint64_t generation;
    atomic_bool has_before_hooks; /* the current scripts have record hooks of that kind */
    atomic_bool has_after_hooks;
    bool allow_private_network;
    void (*wake_jobs)(void *ctx);
    void *wake_ctx;
    atomic_bool pending_wake;      /* a before hook enqueued: wake after the commit */
    atomic_uint next_worker;       /* round robin of job dispatch */
    struct net_offload *http_pool; /* tarmac.http's threads, made at first use (under mu) */
    pthread_mutex_t mu;
    struct hooks_local *locals;        /* every thread's, freed with h */
    struct hooks_source_node *sources; /* newest first: the current one and those before */
};

/* The scripts' text as one (re)load read it, for the threads to load. */
struct hooks_source_node {
    struct core_hooks_source *src;
    uint64_t generation;
    struct hooks_source_node *next;
};

static _Thread_local struct hooks_local *tl;
/* The run whose call is starting: its owner is set once the call exists. */
static _Thread_local struct hooks_run *tl_starting;

static const struct core_auth superuser = {.is_superuser = true};

#define HTTP_THREADS 16 /* blocking calls: threads wait, they do not compute */

struct net_offload *hooks_http_pool(struct core_hooks *h)
{
    pthread_mutex_lock(&h->mu);
    if (!h->http_pool)
        h->http_pool = net_offload_start(HTTP_THREADS, 1024);
    struct net_offload *pool = h->http_pool;
    pthread_mutex_unlock(&h->mu);
    return pool;
}

bool hooks_allow_private_network(const struct core_hooks *h)
{
    return h->allow_private_network;
}

const struct core_schema *hooks_schema(struct core_hooks *h)
{
    return h->schema_of(h->schema_ctx);
}

/* -------------------------------------------------------------------------
 * Registration (while the scripts load)
 * ------------------------------------------------------------------------- */

static struct hooks_gen *loading_gen(lua_State *L, const char *fn)
{
    struct hooks_gen *g = lua_touserdata(L, lua_upvalueindex(1));
    if (!g->is_loading)
        luaL_error(L, "tarmac.%s: only while the scripts load", fn);
    return g;
}

static const char *const route_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};

const char *core_hooks_pattern_problem(const char *p)
{
    size_t len = strlen(p);
    if (p[0] != '/' || len > MAX_PATTERN)
        return "a route's path starts with / and has at most 512 bytes";
    int params = 0;
    for (const char *seg = p + 1; *seg;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 && end)
            return "a route's path has an empty segment";
        if (n && seg[0] == '{') {
            if (n < 3 || seg[n - 1] != '}')
                return "a {param} takes a whole segment";
            for (size_t i = 1; i + 1 < n; i++)
                if (!(seg[i] == '_' || (seg[i] >= 'a' && seg[i] <= 'z') ||
                      (seg[i] >= 'A' && seg[i] <= 'Z') || (seg[i] >= '0' && seg[i] <= '9')))
                    return "a {param} name is letters, digits and _";
            if (++params > MAX_PARAMS)
                return "a route has at most 8 {params}";
        } else {
            for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)seg[i];
                if (ch <= ' ' || ch >= 0x7f || strchr("{}?#\"<>\\^`|", ch))
                    return "a route's path has a character it may not";
            }
        }
        seg += n + (end ? 1 : 0);
    }
    return NULL;
}

bool core_hooks_same_route(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a == '{' && *b == '{') {
            a = strchr(a, '}') + 1;
            b = strchr(b, '}') + 1;
            continue;
        }
        if (*a++ != *b++)
            return false;
    }
    return *a == *b;
}

static int l_route(lua_State *L)
{
    struct hooks_gen *g = loading_gen(L, "route");
    const char *method = luaL_checkstring(L, 1);
    const char *pattern = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    size_t m = 0;
    while (route_methods[m] && strcmp(route_methods[m], method))
        m++;
    if (!route_methods[m])
        return luaL_error(L, "tarmac.route: method %s is not one of GET, POST, PUT, PATCH, DELETE",
                          method);
    const char *why = core_hooks_pattern_problem(pattern);
    if (why)
        return luaL_error(L, "tarmac.route: %s (%s)", why, pattern);
    for (size_t i = 0; i < g->route_count; i++)
        if (!strcmp(g->routes[i].method, method) &&
            core_hooks_same_route(g->routes[i].pattern, pattern))
            return luaL_error(L, "tarmac.route: %s %s is registered twice", method, pattern);
    lua_pushvalue(L, 3);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    g->routes = xrealloc(g->routes, (g->route_count + 1) * sizeof(*g->routes));
    struct hooks_route *r = &g->routes[g->route_count++];
    snprintf(r->method, sizeof(r->method), "%s", method);
    r->pattern = xstrdup(pattern);
    r->ref = ref;
    return 0;
}

static const struct {
    const char *name;
    enum hook_when when;
    enum core_event_action action;
    bool is_auth;
} hook_names[] = {
    {"before_create", WHEN_BEFORE, CORE_EVENT_CREATE, false},
    {"before_update", WHEN_BEFORE, CORE_EVENT_UPDATE, false},
    {"before_delete", WHEN_BEFORE, CORE_EVENT_DELETE, false},
    {"after_create", WHEN_AFTER, CORE_EVENT_CREATE, false},
    {"after_update", WHEN_AFTER, CORE_EVENT_UPDATE, false},
    {"after_delete", WHEN_AFTER, CORE_EVENT_DELETE, false},
    {"before_auth", WHEN_BEFORE, CORE_EVENT_CREATE, true},
    {"after_auth", WHEN_AFTER, CORE_EVENT_CREATE, true},
};

/* tarmac.on(name, [collection,] fn) */
static int l_on(lua_State *L)
{
    struct hooks_gen *g = loading_gen(L, "on");
    const char *name = luaL_checkstring(L, 1);
    size_t k = 0;
    while (k < sizeof(hook_names) / sizeof(hook_names[0]) && strcmp(hook_names[k].name, name))
        k++;
    if (k == sizeof(hook_names) / sizeof(hook_names[0]))
        return luaL_error(L, "tarmac.on: no hook named %s", name);
    const char *collection = NULL;
    int fn = 2;
    if (lua_type(L, 2) == LUA_TSTRING) {
        collection = lua_tostring(L, 2);
        fn = 3;
    }
    luaL_checktype(L, fn, LUA_TFUNCTION);
    lua_pushvalue(L, fn);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    g->hooks = xrealloc(g->hooks, (g->hook_count + 1) * sizeof(*g->hooks));
    struct hooks_hook *hk = &g->hooks[g->hook_count++];
    hk->name = hook_names[k].name;
    hk->when = hook_names[k].when;
    hk->action = hook_names[k].action;
    hk->is_auth = hook_names[k].is_auth;
    hk->collection = collection ? xstrdup(collection) : NULL;
    hk->ref = ref;
    return 0;
}

/* tarmac.middleware(prefix, fn): runs before every script route whose path
 * starts with prefix, in registration order; a middleware that returns a
 * status answers in the route's place. */
static int l_middleware(lua_State *L)
{
    struct hooks_gen *g = loading_gen(L, "middleware");
    const char *prefix = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (prefix[0] != '/')
        return luaL_error(L, "tarmac.middleware: a prefix starts with / (%s)", prefix);
    lua_rawgeti(L, LUA_REGISTRYINDEX, g->middlewares);
    lua_createtable(L, 2, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, (lua_Integer)++g->middleware_count);
    lua_pop(L, 1);
    return 0;
}

/* The middlewares, then the handler, in one call (so either may wait). */
static const char dispatch_code[] = "local sub = string.sub\n"
                                    "return function(mws, handler, req)\n"
                                    "  for i = 1, #mws do\n"
                                    "    local m = mws[i]\n"
                                    "    if sub(req.path, 1, #m[1]) == m[1] then\n"
                                    "      local status, body, headers = m[2](req)\n"
                                    "      if status ~= nil then return status, body, headers end\n"
                                    "    end\n"
                                    "  end\n"
                                    "  return handler(req)\n"
                                    "end\n";

/* tarmac.job(kind, fn): a job kind run by a script (jobs.c). */
static int l_job(lua_State *L)
{
    struct hooks_gen *g = loading_gen(L, "job");
    size_t n;
    const char *kind = luaL_checklstring(L, 1, &n);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    const char *why = hooks_job_kind_problem((struct str){kind, n});
    if (why)
        return luaL_error(L, "tarmac.job: %s (%s)", why, kind);
    for (size_t i = 0; i < g->job_count; i++)
        if (!strcmp(g->jobs[i].kind, kind))
            return luaL_error(L, "tarmac.job: kind %s is registered twice", kind);
    lua_pushvalue(L, 2);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    g->jobs = xrealloc(g->jobs, (g->job_count + 1) * sizeof(*g->jobs));
    g->jobs[g->job_count].kind = xstrdup(kind);
    g->jobs[g->job_count].ref = ref;
    g->job_count++;
    return 0;
}

int hooks_gen_job_ref(const struct hooks_gen *g, const char *kind)
{
    for (size_t i = 0; g && i < g->job_count; i++)
        if (!strcmp(g->jobs[i].kind, kind))
            return g->jobs[i].ref;
    return LUA_NOREF;
}

lua_State *hooks_gen_lua(struct hooks_gen *g)
{
    return core_hooks_vm_lua(g->vm);
}

/* -------------------------------------------------------------------------
 * Generations and threads
 * ------------------------------------------------------------------------- */

static void gen_free(struct hooks_gen *g)
{
    if (!g)
        return;
    core_hooks_vm_free(g->vm);
    for (size_t i = 0; i < g->route_count; i++)
        xfree(g->routes[i].pattern);
    for (size_t i = 0; i < g->hook_count; i++)
        xfree(g->hooks[i].collection);
    for (size_t i = 0; i < g->job_count; i++)
        xfree(g->jobs[i].kind);
    xfree(g->jobs);
    xfree(g->routes);
    xfree(g->hooks);
    xfree(g);
}

static int req_index(lua_State *L);

static struct hooks_gen *gen_load(struct core_hooks *h, const struct core_hooks_source *src,
                                  uint64_t generation, char *err, size_t errlen)
{
    struct hooks_gen *g = xcalloc(1, sizeof(*g));
    g->generation = generation;
    g->vm = core_hooks_vm_new(&h->vm);
    if (!g->vm) {
        snprintf(err, errlen, "the Lua state could not be made (no memory)");
        xfree(g);
        return NULL;
    }
    lua_State *L = core_hooks_vm_lua(g->vm);
    /* What scripts register with while they load; each finds g as its upvalue. */
    static const luaL_Reg registrars[] = {
        {"route", l_route},           {"on", l_on}, {"job", l_job},
        {"middleware", l_middleware}, {NULL, NULL},
    };
    lua_getglobal(L, "tarmac");
    lua_pushlightuserdata(L, g);
    luaL_setfuncs(L, registrars, 1);
    lua_pop(L, 1);
    lua_newtable(L);
    g->middlewares = luaL_ref(L, LUA_REGISTRYINDEX);
    if (luaL_loadbufferx(L, dispatch_code, sizeof(dispatch_code) - 1, "=tarmac.middleware", "t") ||
        lua_pcall(L, 0, 1, 0)) {
        snprintf(err, errlen, "the middleware dispatcher: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        gen_free(g);
        return NULL;
    }
    g->dispatch = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L); /* req -> its run, while the run lasts */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    g->req_runs = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, 0, 1);
    lua_insert(L, -2);
    lua_pushcclosure(L, req_index, 1);
    lua_setfield(L, -2, "__index");
    g->req_mt = luaL_ref(L, LUA_REGISTRYINDEX);
    hooks_http_open(L);
    enum rc rc = hooks_records_open(g->vm, err, errlen);
    if (!rc)
        rc = hooks_jobs_open(g->vm, err, errlen);
    if (!rc)
        rc = hooks_notify_open(g->vm, err, errlen);
    g->is_loading = true;
    if (!rc)
        rc = core_hooks_vm_load_source(g->vm, src, err, errlen);
    g->is_loading = false;
    if (rc) {
        gen_free(g);
        return NULL;
    }
    return g;
}

static void retire(struct hooks_gen *g)
{
    if (g && g->runs)
        g->is_retired = true;
    else
        gen_free(g);
}

/* The calling thread's scripts, made or made again when they were
 * reloaded; NULL when the thread runs none or they cannot load. */
struct hooks_gen *hooks_current_gen(void)
{
    struct hooks_local *l = tl;
    if (!l)
        return NULL;
    uint64_t want = atomic_load(&l->h->generation);
    if (l->generation != want) {
        char err[512];
        pthread_mutex_lock(&l->h->mu);
        const struct core_hooks_source *src = l->h->sources->src;
        want = l->h->sources->generation; /* the source and its generation together */
        pthread_mutex_unlock(&l->h->mu);
        struct hooks_gen *g = gen_load(l->h, src, want, err, sizeof(err));
        if (g) {
            retire(l->gen);
            l->gen = g;
        } else {
            log_error("msg=\"scripts failed to load on this thread; the previous ones stay\" "
                      "error=\"%s\"",
                      err);
        }
        l->generation = want;
    }
    return l->gen;
}

static struct hooks_local *local_new(struct core_hooks *h, struct core_worker *cw)
{
    struct hooks_local *l = xcalloc(1, sizeof(*l));
    l->h = h;
    l->cw = cw;
    pthread_mutex_lock(&h->mu);
    l->next = h->locals;
    h->locals = l;
    pthread_mutex_unlock(&h->mu);
    return l;
}

void core_hooks_attach(struct core_hooks *h, struct core_worker *cw)
{
    tl = local_new(h, cw);
}

bool core_hooks_is_busy(void)
{
    return tl && tl->runs > 0;
}

void core_hooks_detach(void)
{
    if (!tl)
        return;
    pthread_mutex_lock(&tl->h->mu);
    tl->is_stopped = true; /* no more jobs are posted to it */
    pthread_mutex_unlock(&tl->h->mu);
    tl = NULL; /* freed with the hooks, after every thread stopped */
}

struct core_worker *hooks_thread_worker(void)
{
    return tl ? tl->cw : NULL;
}

struct core_hooks *hooks_thread_hooks(void)
{
    return tl ? tl->h : NULL;
}

bool hooks_post_to_worker(struct core_hooks *h, net_mail_fn *fn, void *arg)
{
    pthread_mutex_lock(&h->mu);
    size_t n = 0;
    for (struct hooks_local *l = h->locals; l; l = l->next)
        n += l->cw && !l->is_stopped;
    struct hooks_local *pick = NULL;
    if (n) {
        size_t k = atomic_fetch_add(&h->next_worker, 1) % n;
        for (struct hooks_local *l = h->locals; l && !pick; l = l->next)
            if (l->cw && !l->is_stopped && k-- == 0)
                pick = l;
        /* under the lock: the worker cannot detach and close its mailbox meanwhile */
        net_mailbox_post(pick->cw->mailbox, fn, arg);
    }
    pthread_mutex_unlock(&h->mu);
    return pick != NULL;
}

void hooks_note_tx_enqueue(struct core_hooks *h)
{
    atomic_store(&h->pending_wake, true);
}

void hooks_jobs_wake(struct core_hooks *h)
{
    if (h->wake_jobs)
        h->wake_jobs(h->wake_ctx);
}

/* Loads the scripts once on the calling thread to check them. */
static enum rc check_load(struct core_hooks *h, uint64_t generation, char *err, size_t errlen)
{
    struct core_hooks_source *src;
    enum rc rc = core_hooks_source_read(h->dir, h->vm.memory_max ? h->vm.memory_max : 64u << 20,
                                        &src, err, errlen);
    if (rc && rc != RC_NOT_FOUND) {
        core_hooks_source_free(src);
        return RC_INVALID;
    }
    struct hooks_gen *g = gen_load(h, src, generation, err, errlen);
    if (!g) {
        core_hooks_source_free(src);
        return RC_INVALID;
    }
    /* Every thread makes its state from this very text from now on. */
    struct hooks_source_node *node = xmalloc(sizeof(*node));
    node->src = src;
    node->generation = generation;
    pthread_mutex_lock(&h->mu);
    node->next = h->sources;
    h->sources = node;
    pthread_mutex_unlock(&h->mu);
    bool has_before = false, has_after = false;
    for (size_t i = 0; i < g->hook_count; i++) {
        if (g->hooks[i].is_auth)
            continue;
        has_before = has_before || g->hooks[i].when == WHEN_BEFORE;
        has_after = has_after || g->hooks[i].when == WHEN_AFTER;
    }
    atomic_store(&h->has_before_hooks, has_before);
    atomic_store(&h->has_after_hooks, has_after);
    const char *kinds[HOOKS_MAX_JOB_KINDS];
    size_t nkinds = 0;
    for (size_t i = 0; i < g->job_count && nkinds < HOOKS_MAX_JOB_KINDS; i++)
        kinds[nkinds++] = g->jobs[i].kind;
    hooks_jobs_publish(h, kinds, nkinds);
    log_info("msg=\"scripts loaded\" dir=%s routes=%zu hooks=%zu jobs=%zu", h->dir, g->route_count,
             g->hook_count, g->job_count);
    gen_free(g);
    return RC_OK;
}

enum rc core_hooks_new(const struct core_hooks_config *cfg, core_hooks_schema_fn *schema_of,
                       void *schema_ctx, struct core_hooks **out, char *err, size_t errlen)
{
    struct core_hooks *h = xcalloc(1, sizeof(*h));
    h->dir = xstrdup(cfg->dir);
    h->vm =
        (struct core_hooks_vm_config){.memory_max = cfg->memory_max, .budget_ns = cfg->budget_ns};
    h->schema_of = schema_of;
    h->schema_ctx = schema_ctx;
    h->allow_private_network = cfg->allow_private_network;
    h->wake_jobs = cfg->wake_jobs;
    h->wake_ctx = cfg->wake_ctx;
    atomic_init(&h->generation, 1);
    pthread_mutex_init(&h->mu, NULL);
    enum rc rc = check_load(h, 1, err, errlen);
    if (rc) {
        core_hooks_free(h);
        return rc;
    }
    *out = h;
    return RC_OK;
}

void core_hooks_free(struct core_hooks *h)
{
    if (!h)
        return;
    for (struct hooks_local *l = h->locals, *next; l; l = next) {
        next = l->next;
        gen_free(l->gen);
        xfree(l);
    }
    net_offload_stop(h->http_pool);
    hooks_jobs_free();
    for (struct hooks_source_node *n = h->sources, *next; n; n = next) {
        next = n->next;
        core_hooks_source_free(n->src);
        xfree(n);
    }
    pthread_mutex_destroy(&h->mu);
    xfree(h->dir);
    xfree(h);
}

enum rc core_hooks_reload(struct core_hooks *h, char *err, size_t errlen)
{
    uint64_t next = atomic_load(&h->generation) + 1;
    enum rc rc = check_load(h, next, err, errlen);
    if (!rc)
        atomic_store(&h->generation, next);
    return rc;
}

/* -------------------------------------------------------------------------
 * Runs
 * ------------------------------------------------------------------------- */

struct hooks_run *hooks_run_new(struct core_hooks *h, struct hooks_gen *g, const char *what)
{
    struct hooks_run *run = xcalloc(1, sizeof(*run));
    run->h = h;
    run->gen = g;
    run->what = what;
    g->runs++;
    if (tl)
        tl->runs++;
    return run;
}

/* A run without a request of its own (a hook): its reads and writes run as
 * a superuser, in an arena of its own. */
void hooks_run_as_system(struct hooks_run *run, struct core_worker *cw,
                         const struct core_schema *schema)
{
    run->arena = xmalloc(sizeof(*run->arena));
    arena_init(run->arena, 4096);
    run->su = (struct core_request){.cw = cw, .schema = schema, .arena = run->arena};
    run->su.auth = &superuser;
    run->su.filter_request.context = "default";
    run->su.filter_request.method = "POST";
    run->r = &run->su;
}

static void run_free(struct hooks_run *run)
{
    if (run->req_ref) {
        /* A req kept past its run reads nil from now on, never the
         * request's memory. Clearing and unref'ing allocate nothing. */
        lua_State *L = core_hooks_vm_lua(run->gen->vm);
        lua_rawgeti(L, LUA_REGISTRYINDEX, run->gen->req_runs);
        lua_rawgeti(L, LUA_REGISTRYINDEX, run->req_ref);
        lua_pushnil(L);
        lua_rawset(L, -3);
        lua_pop(L, 1);
        luaL_unref(L, LUA_REGISTRYINDEX, run->req_ref);
    }
    if (run->call)
        core_hooks_call_free(run->call);
    if (run->arena) {
        arena_cleanup(run->arena);
        xfree(run->arena);
    }
    struct hooks_gen *g = run->gen;
    xfree(run);
    if (tl)
        tl->runs--;
    if (--g->runs == 0 && g->is_retired)
        gen_free(g);
}

struct hooks_run *hooks_run_of(lua_State *L)
{
    struct core_hooks_call *call = core_hooks_call_of(L);
    if (!call)
        return NULL;
    struct hooks_run *run = core_hooks_call_owner(call);
    return run ? run : tl_starting;
}

/* Starts run's call with the function and nargs arguments on the state's
 * stack. */
enum core_hooks_status hooks_run_start(struct hooks_run *run, int nargs)
{
    struct hooks_run *outer = tl_starting;
    tl_starting = run;
    enum core_hooks_status st;
    run->call = core_hooks_call_start(run->gen->vm, nargs, &st);
    core_hooks_call_set_owner(run->call, run);
    tl_starting = outer;
    return st;
}

static void route_finish(struct hooks_run *run, enum core_hooks_status st);

/* A call ended or waits: an ended one answers (a route) or logs its error
 * (a hook), and the run is freed. */
void hooks_run_settle(struct hooks_run *run, enum core_hooks_status st)
{
    if (st == CORE_HOOKS_YIELDED)
        return; /* a tarmac.* function resumes it */
    if (run->done)
        route_finish(run, st);
    else if (run->job)
        hooks_job_settled(run, st);
    else if (st == CORE_HOOKS_ERROR)
        core_hooks_call_log(run->call, run->what);
    run_free(run);
}

void hooks_run_resume(struct hooks_run *run, int nresults)
{
    hooks_run_settle(run, core_hooks_call_resume(run->call, nresults));
}

/* -------------------------------------------------------------------------
 * Record hooks (the event bus listener)
 * ------------------------------------------------------------------------- */

static const char *const action_names[] = {
    [CORE_EVENT_CREATE] = "create", [CORE_EVENT_UPDATE] = "update", [CORE_EVENT_DELETE] = "delete"};

static bool hook_matches(const struct hooks_hook *hk, enum hook_when when,
                         enum core_event_action action, const struct core_collection *c)
{
    return !hk->is_auth && hk->when == when && hk->action == action &&
           (!hk->collection || !strcmp(hk->collection, c->name));
}

/* Pushes the event table: {collection, action, record, original}. */
static void push_event(lua_State *L, enum core_event_action action, const struct core_collection *c,
                       json_t *values, json_t *current)
{
    lua_createtable(L, 0, 4);
    lua_pushstring(L, c->name);
    lua_setfield(L, -2, "collection");
    lua_pushstring(L, action_names[action]);
    lua_setfield(L, -2, "action");
    if (core_hooks_push_json(L, values) == RC_OK)
        lua_setfield(L, -2, "record");
    if (current && core_hooks_push_json(L, current) == RC_OK)
        lua_setfield(L, -2, "original");
}

/* A call that ended in error, as what the caller answers: a refusal's
 * status (its code), message and field errors go to p; anything else is
 * logged with its traceback and is the server's 500. */
static enum rc failed_call(struct hooks_run *run, struct core_problem *p, int *status)
{
    const struct core_hooks_error *e = core_hooks_call_error(run->call);
    if (e->kind != CORE_HOOKS_ERR_REFUSED) {
        core_hooks_call_log(run->call, run->what);
        *status = 500;
        return RC_INTERNAL;
    }
    *status = e->status;
    if (e->message[0])
        core_problem_message(p, e->message);
    if (e->data && json_is_object(e->data)) {
        json_decref(p->data);
        p->data = json_deep_copy(e->data);
    }
    return core_problem_rc(e->status);
}

/* One before hook on the writer thread: values may come back changed. */
static enum rc before_one(struct core_hooks *h, struct hooks_gen *g, const struct hooks_hook *hk,
                          struct store_conn *db, enum core_event_action action,
                          const struct core_collection *c, json_t *values, json_t *current,
                          struct core_problem *p)
{
    struct hooks_run *run = hooks_run_new(h, g, hk->name);
    hooks_run_as_system(run, NULL, hooks_schema(h));
    run->db = db;
    lua_State *L = core_hooks_vm_lua(g->vm);
    lua_rawgeti(L, LUA_REGISTRYINDEX, hk->ref);
    push_event(L, action, c, values, current);
    lua_pushvalue(L, -1);
    int ev_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    enum core_hooks_status st = hooks_run_start(run, 1);
    enum rc rc = RC_OK;
    if (st == CORE_HOOKS_DONE && action != CORE_EVENT_DELETE) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, ev_ref);
        lua_getfield(L, -1, "record");
        char err[256];
        json_t *changed = core_hooks_to_json(L, -1, err, sizeof(err));
        lua_pop(L, 2);
        if (!json_is_object(changed)) {
            log_error("msg=\"a before hook left e.record unusable: write refused\" hook=%s "
                      "collection=%s error=\"%s\"",
                      run->what, c->name, changed ? "not a table of fields" : err);
            rc = RC_INTERNAL;
        } else {
            json_object_clear(values);
            json_object_update(values, changed);
        }
        json_decref(changed);
    } else if (st == CORE_HOOKS_YIELDED) {
        log_error("msg=\"a before hook waited: write refused\" hook=%s collection=%s", run->what,
                  c->name);
        rc = RC_INTERNAL;
    } else if (st == CORE_HOOKS_ERROR) {
        int status;
        rc = failed_call(run, p, &status);
    }
    luaL_unref(L, LUA_REGISTRYINDEX, ev_ref);
    run_free(run);
    return rc;
}

static enum rc on_before(void *ctx, struct store_conn *db, enum core_event_action action,
                         const struct core_collection *c, json_t *values, json_t *current,
                         struct core_problem *p)
{
    struct core_hooks *h = ctx;
    if (!tl)
        tl = local_new(h, NULL); /* the writer thread's state */
    struct hooks_gen *g = hooks_current_gen();
    for (size_t i = 0; g && i < g->hook_count; i++) {
        if (!hook_matches(&g->hooks[i], WHEN_BEFORE, action, c))
            continue;
        enum rc rc = before_one(h, g, &g->hooks[i], db, action, c, values, current, p);
        if (rc)
            return rc;
    }
    return RC_OK;
}

/* A write committed: jobs a before hook enqueued in it are due now. */
static void on_committed(void *ctx)
{
    struct core_hooks *h = ctx;
    if (atomic_load(&h->pending_wake) && atomic_exchange(&h->pending_wake, false))
        hooks_jobs_wake(h);
}

static void on_commit(void *ctx, struct core_event *ev)
{
    struct core_hooks *h = ctx;
    if (!tl || !tl->cw)
        return; /* a thread without scripts (the CLI's writes) */
    struct hooks_gen *g = hooks_current_gen();
    for (size_t i = 0; g && i < g->hook_count; i++) {
        const struct hooks_hook *hk = &g->hooks[i];
        if (!hook_matches(hk, WHEN_AFTER, ev->action, ev->c))
            continue;
        struct hooks_run *run = hooks_run_new(h, g, hk->name);
        hooks_run_as_system(run, tl->cw, ev->schema);
        lua_State *L = core_hooks_vm_lua(g->vm);
        lua_rawgeti(L, LUA_REGISTRYINDEX, hk->ref);
        push_event(L, ev->action, ev->c, ev->values, ev->previous);
        hooks_run_settle(run, hooks_run_start(run, 1));
    }
}

/* Whether the scripts have a record hook of when for c: the calling
 * thread's scripts when it runs some (a worker, the writer), else any
 * thread's (the flags of the last load). A write nobody listens to makes no
 * event, and a before hook of one collection costs the others nothing. */
static bool has_hook_for(struct core_hooks *h, enum hook_when when, const struct core_collection *c)
{
    if (!atomic_load(when == WHEN_BEFORE ? &h->has_before_hooks : &h->has_after_hooks))
        return false;
    struct hooks_gen *g = tl && tl->h == h ? hooks_current_gen() : NULL;
    if (!g)
        return true;
    for (size_t i = 0; i < g->hook_count; i++) {
        const struct hooks_hook *hk = &g->hooks[i];
        if (!hk->is_auth && hk->when == when &&
            (!hk->collection || !strcmp(hk->collection, c->name)))
            return true;
    }
    return false;
}

static bool wants(void *ctx, const struct core_collection *c)
{
    return has_hook_for(ctx, WHEN_AFTER, c);
}

static bool wants_before(void *ctx, const struct core_collection *c)
{
    return has_hook_for(ctx, WHEN_BEFORE, c);
}

struct core_event_listener core_hooks_listener(struct core_hooks *h)
{
    return (struct core_event_listener){.wants = wants,
                                        .wants_before = wants_before,
                                        .on_commit = on_commit,
                                        .before = on_before,
                                        .committed = on_committed,
                                        .ctx = h};
}

/* -------------------------------------------------------------------------
 * Auth hooks
 * ------------------------------------------------------------------------- */

static void push_auth_event(lua_State *L, const struct core_collection *c, const char *method,
                            json_t *record)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, c->name);
    lua_setfield(L, -2, "collection");
    lua_pushstring(L, method);
    lua_setfield(L, -2, "method");
    json_t *shown = json_copy(record); /* hidden fields (the hash, tokenKey) stay out */
    for (size_t i = 0; shown && i < c->field_count; i++) {
        if (c->fields[i].is_hidden)
            json_object_del(shown, c->fields[i].name);
    }
    if (shown && core_hooks_push_json(L, shown) == RC_OK)
        lua_setfield(L, -2, "record");
    json_decref(shown);
}

enum rc core_hooks_auth(bool is_after, const struct core_collection *c, const char *method,
                        json_t *record, struct core_problem *p, int *status)
{
    struct hooks_gen *g = hooks_current_gen();
    enum rc rc = RC_OK;
    for (size_t i = 0; g && i < g->hook_count && !rc; i++) {
        const struct hooks_hook *hk = &g->hooks[i];
        if (!hk->is_auth || hk->when != (is_after ? WHEN_AFTER : WHEN_BEFORE) ||
            (hk->collection && strcmp(hk->collection, c->name)))
            continue;
        struct hooks_run *run = hooks_run_new(tl->h, g, hk->name);
        hooks_run_as_system(run, tl->cw, hooks_schema(tl->h));
        run->cannot_wait = !is_after; /* the sign-in's answer waits for it */
        lua_State *L = core_hooks_vm_lua(g->vm);
        lua_rawgeti(L, LUA_REGISTRYINDEX, hk->ref);
        push_auth_event(L, c, method, record);
        enum core_hooks_status st = hooks_run_start(run, 1);
        if (is_after) {
            hooks_run_settle(run, st); /* its errors are only logged */
            continue;
        }
        if (st == CORE_HOOKS_ERROR) {
            rc = failed_call(run, p, status);
        } else if (st == CORE_HOOKS_YIELDED) {
            log_error("msg=\"a before_auth hook waited: sign-in refused\" collection=%s", c->name);
            *status = 500;
            rc = RC_INTERNAL;
        }
        run_free(run);
    }
    return rc;
}

/* -------------------------------------------------------------------------
 * Routes
 * ------------------------------------------------------------------------- */

size_t core_hooks_routes(uint64_t *generation)
{
    struct hooks_gen *g = hooks_current_gen();
    *generation = g ? g->generation : 0;
    return g ? g->route_count : 0;
}

void core_hooks_route(size_t i, const char **method, const char **pattern)
{
    const struct hooks_route *r = &tl->gen->routes[i];
    *method = r->method;
    *pattern = r->pattern;
}

void core_hooks_reply_cleanup(struct core_hooks_reply *reply)
{
    json_decref(reply->headers);
    xfree(reply->text);
    core_problem_cleanup(&reply->problem);
    memset(reply, 0, sizeof(*reply));
}

static bool header_ok(const char *name, const char *value)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || strlen(value) > 4096)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!(ch == '-' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9')))
            return false;
    }
    for (const char *v = value; *v; v++)
        if ((unsigned char)*v < 0x20 && *v != '\t')
            return false;
    return true;
}

/* The route's return values (status, body, headers) into reply; false with
 * why when they are not what a route returns. */
static bool read_reply(lua_State *co, struct core_hooks_reply *reply, char *why, size_t whylen)
{
    int n = lua_gettop(co);
    if (n == 0) {
        reply->status = 204;
        return true;
    }
    int base = 1;
    if (!lua_isinteger(co, base) || lua_tointeger(co, base) < 200 ||
        lua_tointeger(co, base) > 599) {
        snprintf(why, whylen, "a route returns a status (an integer 200-599) first");
        return false;
    }
    reply->status = (int)lua_tointeger(co, base);
    if ((reply->status == 204 || reply->status == 304) && n >= 2 && !lua_isnil(co, base + 1)) {
        snprintf(why, whylen, "a %d answer has no body", reply->status);
        return false;
    }
    if (n >= 2 && lua_type(co, base + 1) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(co, base + 1, &len);
        reply->text = xmalloc(len + 1);
        memcpy(reply->text, s, len + 1);
        reply->text_len = len;
    } else if (n >= 2 && lua_type(co, base + 1) == LUA_TTABLE) {
        struct buf b;
        buf_init(&b, MAX_REPLY);
        struct jsonw w;
        jsonw_init(&w, &b);
        bool ok = core_hooks_write_json(co, base + 1, "body", &w, why, whylen);
        if (ok && jsonw_finish(&w) != RC_OK) {
            snprintf(why, whylen, "a route's body is at most 16 MiB of JSON");
            ok = false;
        }
        if (!ok) {
            buf_cleanup(&b);
            return false;
        }
        reply->text_len = b.len;
        reply->text = b.data; /* the reply owns the buffer's memory now */
        reply->is_json = true;
    } else if (n >= 2 && !lua_isnil(co, base + 1)) {
        snprintf(why, whylen, "a route's body is a table (JSON) or a string");
        return false;
    }
    if (n >= 3 && !lua_isnil(co, base + 2)) {
        json_t *hs = lua_type(co, base + 2) == LUA_TTABLE
                         ? core_hooks_to_json(co, base + 2, why, whylen)
                         : NULL;
        const char *k;
        json_t *v;
        bool ok = json_is_object(hs);
        json_object_foreach(hs, k, v)
        {
            if (!json_is_string(v) || !header_ok(k, json_string_value(v)))
                ok = false;
        }
        if (!ok) {
            json_decref(hs);
            snprintf(why, whylen, "a route's headers are a table of names to string values");
            return false;
        }
        reply->headers = hs;
    }
    return true;
}

static void route_finish(struct hooks_run *run, enum core_hooks_status st)
{
    struct core_hooks_reply reply = {0};
    core_problem_init(&reply.problem);
    if (st == CORE_HOOKS_DONE) {
        char why[256];
        if (!read_reply(core_hooks_call_thread(run->call), &reply, why, sizeof(why))) {
            log_error("msg=\"script route answered wrongly\" route=\"%s\" error=\"%s\"", run->what,
                      why);
            core_hooks_reply_cleanup(&reply);
            reply.status = 500;
            reply.is_error = true;
        }
    } else {
        reply.is_error = true;
        (void)failed_call(run, &reply.problem, &reply.status);
    }
    run->done(run->done_ctx, &reply);
    core_hooks_reply_cleanup(&reply);
}

/* Pushes the requester: {id, collection, record, superuser} or nil. */
static void push_auth(lua_State *L, const struct core_auth *a)
{
    if (!a || (!a->collection && !a->is_superuser)) {
        lua_pushnil(L);
        return;
    }
    lua_createtable(L, 0, 4);
    if (a->id) {
        lua_pushstring(L, a->id);
        lua_setfield(L, -2, "id");
    }
    if (a->collection) {
        lua_pushstring(L, a->collection->name);
        lua_setfield(L, -2, "collection");
        lua_pushstring(L, a->collection->id);
        lua_setfield(L, -2, "collectionId");
    }
    if (a->record && a->collection) {
        /* As the REST API renders it: hidden fields (the password hash,
         * tokenKey) stay out, so a route that answers req.auth leaks none. */
        json_t *shown = json_copy(a->record);
        if (shown && !json_object_get(shown, "collectionId")) {
            json_object_set_new(shown, "collectionId", json_string(a->collection->id));
            json_object_set_new(shown, "collectionName", json_string(a->collection->name));
        }
        for (size_t i = 0; shown && i < a->collection->field_count; i++) {
            if (a->collection->fields[i].is_hidden)
                json_object_del(shown, a->collection->fields[i].name);
        }
        if (shown && core_hooks_push_json(L, shown) == RC_OK)
            lua_setfield(L, -2, "record");
        json_decref(shown);
    }
    lua_pushboolean(L, a->is_superuser);
    lua_setfield(L, -2, "superuser");
}

/* Pushes {name = value} of pairs; with snake, names as @request.headers has
 * them (lower case, - as _). The first of a name wins. */
static void push_pairs(lua_State *L, const struct core_hooks_pair *pairs, size_t n, bool snake)
{
    lua_createtable(L, 0, (int)n);
    for (size_t i = 0; i < n; i++) {
        char key[256];
        size_t len = pairs[i].name.len;
        if (len >= sizeof(key))
            continue;
        for (size_t k = 0; k < len; k++) {
            char ch = pairs[i].name.ptr[k];
            if (snake)
                ch = ch == '-' ? '_' : (ch >= 'A' && ch <= 'Z' ? (char)(ch | 0x20) : ch);
            key[k] = ch;
        }
        lua_pushlstring(L, key, len);
        if (lua_rawget(L, -2) != LUA_TNIL) {
            lua_pop(L, 1);
            continue;
        }
        lua_pop(L, 1);
        lua_pushlstring(L, key, len);
        lua_pushlstring(L, pairs[i].value.ptr, pairs[i].value.len);
        lua_rawset(L, -3);
    }
}

/* The __index of a route's req: params, query, headers, body and auth are
 * made from the run's request at their first use and kept in the table;
 * a req whose run has ended (kept by a script) reads nil. */
static int req_index(lua_State *L)
{
    lua_pushvalue(L, 1);
    lua_rawget(L, lua_upvalueindex(1));
    struct hooks_run *run = lua_touserdata(L, -1);
    lua_pop(L, 1);
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    if (!run || !k)
        return 0;
    const struct core_hooks_request *in = &run->in;
    if (!strcmp(k, "params"))
        push_pairs(L, in->params, in->param_count, false);
    else if (!strcmp(k, "query"))
        push_pairs(L, in->query, in->query_count, false);
    else if (!strcmp(k, "headers"))
        push_pairs(L, in->headers, in->header_count, true);
    else if (!strcmp(k, "body")) {
        if (!in->body || core_hooks_push_json(L, in->body) != RC_OK)
            return 0;
    } else if (!strcmp(k, "auth"))
        push_auth(L, in->r->auth);
    else
        return 0;
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

enum rc core_hooks_route_call(size_t i, uint64_t generation, const struct core_hooks_request *in,
                              core_hooks_route_done_fn *done, void *ctx)
{
    /* The scripts the router was just built from (core_hooks_routes made
     * them current on this thread): a reload that lands in between is
     * taken up by the next request, not turned into a 503 for this one. */
    struct hooks_gen *g = tl ? tl->gen : NULL;
    if (!g || g->generation != generation || i >= g->route_count)
        return RC_BUSY;
    struct hooks_run *run = hooks_run_new(tl->h, g, g->routes[i].pattern);
    run->r = in->r;
    run->su = *in->r;
    run->su.auth = &superuser;
    run->done = done;
    run->done_ctx = ctx;
    run->prepare = in->prepare;
    run->prepare_ctx = in->prepare_ctx;
    lua_State *L = core_hooks_vm_lua(g->vm);
    int nargs = 1;
    if (g->middleware_count) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, g->dispatch);
        lua_rawgeti(L, LUA_REGISTRYINDEX, g->middlewares);
        nargs = 3;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, g->routes[i].ref);
    /* req: method and path now, the other fields at their first use
     * (req_index): most routes read one or two of them. */
    run->in = *in;
    lua_createtable(L, 0, 4);
    lua_pushstring(L, in->method);
    lua_setfield(L, -2, "method");
    lua_pushlstring(L, in->path.ptr, in->path.len);
    lua_setfield(L, -2, "path");
    lua_rawgeti(L, LUA_REGISTRYINDEX, g->req_mt);
    lua_setmetatable(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, g->req_runs);
    lua_pushvalue(L, -2);
    lua_pushlightuserdata(L, run);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    run->req_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    hooks_run_settle(run, hooks_run_start(run, nargs));
    return RC_OK;
}
