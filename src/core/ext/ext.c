/* ext.c -- see ext.h. The declared extensions, the registry their init
 * functions fill (tarmac_on, tarmac_route), the event-bus listener that runs
 * their record hooks, and the event handle those hooks get. */
#include "core/ext/ext.h"
#include "core/ext/ext_int.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/coro.h"
#include "base/log.h"
#include "core/hooks/hooks.h"

#define MAX_EXTENSIONS 16
#define MAX_HOOKS 64
#define MAX_ROUTES 64

struct ext_hook {
    enum tarmac_hook hook;
    char *collection; /* NULL: every collection */
    tarmac_hook_fn *fn;
    void *arg;
    const char *ext; /* the extension's name, for the log */
};

struct ext_route {
    char method[8];
    char *pattern;
    tarmac_route_fn *fn;
    void *arg;
};

/* The registration handle: valid while its init runs. */
struct tarmac_ext {
    const struct tarmac_ext_def *def;
    bool is_open;
};

/* Filled before main() (declared) and by core_ext_start (the rest); read-only
 * once the workers run. */
static struct {
    const struct tarmac_ext_def *declared[MAX_EXTENSIONS];
    size_t declared_count;
    bool is_overfull; /* more than MAX_EXTENSIONS declared */
    size_t started;
    struct ext_hook hooks[MAX_HOOKS];
    size_t hook_count;
    struct ext_route routes[MAX_ROUTES];
    size_t route_count;
    core_ext_schema_fn *schema_of;
    void *schema_ctx;
} reg;

static _Thread_local struct core_worker *tl_cw;
static _Thread_local unsigned tl_pending; /* writes in flight on this thread */

static const struct core_auth superuser = {.is_superuser = true};

/* -------------------------------------------------------------------------
 * Registration
 * ------------------------------------------------------------------------- */

void tarmac_ext_declare(const struct tarmac_ext_def *def)
{
    if (reg.declared_count == MAX_EXTENSIONS) {
        reg.is_overfull = true; /* before main(): reported by core_ext_start */
        return;
    }
    reg.declared[reg.declared_count++] = def;
}

enum rc core_ext_start(core_ext_schema_fn *schema_of, void *schema_ctx, char *err, size_t errlen)
{
    reg.schema_of = schema_of;
    reg.schema_ctx = schema_ctx;
    if (reg.is_overfull) {
        snprintf(err, errlen, "more than %d extensions are linked in", MAX_EXTENSIONS);
        return RC_INVALID;
    }
    for (size_t i = reg.started; i < reg.declared_count; i++) {
        const struct tarmac_ext_def *def = reg.declared[i];
        if (def->api_version != TARMAC_EXT_API_VERSION) {
            snprintf(err, errlen,
                     "extension %s was built for API version %d; this binary has version %d",
                     def->name, def->api_version, TARMAC_EXT_API_VERSION);
            return RC_INVALID;
        }
        struct tarmac_ext ext = {.def = def, .is_open = true};
        int rc = def->init(&ext);
        ext.is_open = false;
        if (rc) {
            snprintf(err, errlen, "extension %s: its init returned %d", def->name, rc);
            return RC_INVALID;
        }
        reg.started = i + 1;
        log_info("msg=\"extension started\" name=%s", def->name);
    }
    if (reg.started)
        log_info("msg=\"extensions\" count=%zu hooks=%zu routes=%zu", reg.started, reg.hook_count,
                 reg.route_count);
    return RC_OK;
}

size_t core_ext_count(void)
{
    return reg.started;
}

int tarmac_on(struct tarmac_ext *ext, enum tarmac_hook hook, const char *collection,
              tarmac_hook_fn *fn, void *arg)
{
    if (!ext || !ext->is_open || !fn || (unsigned)hook > TARMAC_AFTER_DELETE) {
        log_error("msg=\"tarmac_on: only in an extension's init, with a hook and a function\"");
        return TARMAC_INVALID;
    }
    if (reg.hook_count == MAX_HOOKS) {
        log_error("msg=\"tarmac_on: at most %d hooks\" extension=%s", MAX_HOOKS, ext->def->name);
        return TARMAC_INVALID;
    }
    reg.hooks[reg.hook_count++] = (struct ext_hook){
        .hook = hook,
        .collection = collection ? xstrdup(collection) : NULL,
        .fn = fn,
        .arg = arg,
        .ext = ext->def->name,
    };
    return TARMAC_OK;
}

int tarmac_route(struct tarmac_ext *ext, const char *method, const char *pattern,
                 tarmac_route_fn *fn, void *arg)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    if (!ext || !ext->is_open || !fn || !method || !pattern) {
        log_error("msg=\"tarmac_route: only in an extension's init, with a function\"");
        return TARMAC_INVALID;
    }
    size_t m = 0;
    while (m < sizeof(methods) / sizeof(methods[0]) && strcmp(methods[m], method))
        m++;
    const char *why = m == sizeof(methods) / sizeof(methods[0])
                          ? "the method is not one of GET, POST, PUT, PATCH, DELETE"
                          : core_hooks_pattern_problem(pattern);
    for (size_t i = 0; !why && i < reg.route_count; i++)
        if (!strcmp(reg.routes[i].method, method) &&
            core_hooks_same_route(reg.routes[i].pattern, pattern))
            why = "the route is registered twice";
    if (!why && reg.route_count == MAX_ROUTES)
        why = "at most 64 routes";
    if (why) {
        log_error("msg=\"tarmac_route: %s\" extension=%s route=\"%s %s\"", why, ext->def->name,
                  method, pattern);
        return TARMAC_INVALID;
    }
    struct ext_route *r = &reg.routes[reg.route_count++];
    snprintf(r->method, sizeof(r->method), "%s", method);
    r->pattern = xstrdup(pattern);
    r->fn = fn;
    r->arg = arg;
    return TARMAC_OK;
}

size_t core_ext_routes(void)
{
    return reg.route_count;
}

void core_ext_route(size_t i, const char **method, const char **pattern)
{
    *method = reg.routes[i].method;
    *pattern = reg.routes[i].pattern;
}

void core_ext_route_call(size_t i, struct tarmac_request *req)
{
    /* include/tarmac.h promises reads answer at once: an extension's reads
     * wait without yielding (its locks and thread-locals stay its own). */
    coro_hold();
    reg.routes[i].fn(reg.routes[i].arg, req);
    coro_release();
}

/* -------------------------------------------------------------------------
 * Threads and scopes
 * ------------------------------------------------------------------------- */

void core_ext_attach(struct core_worker *cw)
{
    tl_cw = cw;
}

bool core_ext_is_busy(void)
{
    return tl_pending > 0;
}

void core_ext_detach(void)
{
    tl_cw = NULL;
}

void core_ext_scope_init(struct core_ext_scope *s, void (*on_idle)(void *owner), void *owner)
{
    memset(s, 0, sizeof(*s));
    s->on_idle = on_idle;
    s->owner = owner;
}

void core_ext_scope_close(struct core_ext_scope *s)
{
    s->is_closed = true;
    if (!s->pending && s->on_idle)
        s->on_idle(s->owner);
}

void core_ext_write_started(struct core_ext_scope *s)
{
    s->pending++;
    tl_pending++;
}

void core_ext_write_undo(struct core_ext_scope *s)
{
    tl_pending--;
    s->pending--;
}

void core_ext_write_ended(struct core_ext_scope *s)
{
    tl_pending--;
    if (--s->pending == 0 && s->is_closed && s->on_idle)
        s->on_idle(s->owner);
}

/* -------------------------------------------------------------------------
 * Record hooks (the event bus listener)
 * ------------------------------------------------------------------------- */

struct tarmac_event {
    enum tarmac_hook hook;
    const struct core_collection *c;
    struct tarmac_record record;
    struct tarmac_record original;
    bool has_original;
    struct core_problem *p;
    struct tarmac_ctx *ctx;
};

/* The hook of when (0: before, 3: after) and action: the enum's order. */
static enum tarmac_hook hook_of(bool is_after, enum core_event_action action)
{
    static const enum tarmac_hook hooks[2][3] = {
        {[CORE_EVENT_CREATE] = TARMAC_BEFORE_CREATE,
         [CORE_EVENT_UPDATE] = TARMAC_BEFORE_UPDATE,
         [CORE_EVENT_DELETE] = TARMAC_BEFORE_DELETE},
        {[CORE_EVENT_CREATE] = TARMAC_AFTER_CREATE,
         [CORE_EVENT_UPDATE] = TARMAC_AFTER_UPDATE,
         [CORE_EVENT_DELETE] = TARMAC_AFTER_DELETE},
    };
    return hooks[is_after][action];
}

static bool hook_matches(const struct ext_hook *hk, enum tarmac_hook hook,
                         const struct core_collection *c)
{
    return hk->hook == hook && (!hk->collection || !strcmp(hk->collection, c->name));
}

/* Whether an extension hooks c before (is_after false) or after writes. */
static bool has_hook_for(bool is_after, const struct core_collection *c)
{
    for (size_t i = 0; i < reg.hook_count; i++) {
        bool hook_is_after = reg.hooks[i].hook >= TARMAC_AFTER_CREATE;
        if (hook_is_after == is_after &&
            (!reg.hooks[i].collection || !strcmp(reg.hooks[i].collection, c->name)))
            return true;
    }
    return false;
}

static bool wants(void *ctx, const struct core_collection *c)
{
    (void)ctx;
    return has_hook_for(true, c);
}

static bool wants_before(void *ctx, const struct core_collection *c)
{
    (void)ctx;
    return has_hook_for(false, c);
}

static enum rc on_before(void *ctx, struct store_conn *db, enum core_event_action action,
                         const struct core_collection *c, json_t *values, json_t *current,
                         struct core_problem *p)
{
    (void)ctx;
    enum tarmac_hook hook = hook_of(false, action);
    for (size_t i = 0; i < reg.hook_count; i++) {
        const struct ext_hook *hk = &reg.hooks[i];
        if (!hook_matches(hk, hook, c))
            continue;
        /* A before hook reads from the write's transaction and never writes
         * (tarmac_records_* refuse): nothing outlives the call. */
        struct arena arena;
        arena_init(&arena, 1024);
        struct core_request su = {
            .schema = reg.schema_of(reg.schema_ctx), .arena = &arena, .auth = &superuser};
        struct core_ext_scope scope;
        core_ext_scope_init(&scope, NULL, NULL);
        struct tarmac_ctx x = {.scope = &scope, .r = &su, .db = db};
        struct tarmac_event ev = {
            .hook = hook,
            .c = c,
            .record = {.v = values, .is_writable = action != CORE_EVENT_DELETE},
            .original = {.v = current},
            .has_original = current != NULL,
            .p = p,
            .ctx = &x,
        };
        int code = hk->fn(hk->arg, &ev);
        arena_cleanup(&arena);
        if (code == TARMAC_OK)
            continue;
        if (code < 400 || code > 599) {
            log_error("msg=\"a before hook returned a code that is no status: write refused\" "
                      "extension=%s collection=%s code=%d",
                      hk->ext, c->name, code);
            code = 500;
        }
        return core_problem_rc(code);
    }
    return RC_OK;
}

/* An after hook's records calls: a superuser on the worker, in an arena of
 * its own, freed when the hook returned and its writes answered. */
struct after_run {
    struct arena arena;
    struct core_request su;
    struct core_ext_scope scope;
    struct tarmac_ctx ctx;
};

static void after_run_free(void *owner)
{
    struct after_run *run = owner;
    arena_cleanup(&run->arena);
    xfree(run);
}

static void on_commit(void *ctx, struct core_event *ev)
{
    (void)ctx;
    if (!tl_cw)
        return; /* a thread that is no worker (the CLI's writes) */
    enum tarmac_hook hook = hook_of(true, ev->action);
    for (size_t i = 0; i < reg.hook_count; i++) {
        const struct ext_hook *hk = &reg.hooks[i];
        if (!hook_matches(hk, hook, ev->c))
            continue;
        struct after_run *run = xcalloc(1, sizeof(*run));
        arena_init(&run->arena, 4096);
        run->su = (struct core_request){
            .cw = tl_cw, .schema = ev->schema, .arena = &run->arena, .auth = &superuser};
        run->su.filter_request.context = "default";
        run->su.filter_request.method = "POST";
        core_ext_scope_init(&run->scope, after_run_free, run);
        run->ctx = (struct tarmac_ctx){.scope = &run->scope, .r = &run->su};
        struct core_problem p;
        core_problem_init(&p);
        struct tarmac_event e = {
            .hook = hook,
            .c = ev->c,
            .record = {.v = ev->values},
            .original = {.v = ev->previous},
            .has_original = ev->previous != NULL,
            .p = &p,
            .ctx = &run->ctx,
        };
        coro_hold();
        int code = hk->fn(hk->arg, &e);
        coro_release();
        if (code)
            log_warn("msg=\"an after hook failed\" extension=%s collection=%s code=%d "
                     "message=\"%s\"",
                     hk->ext, ev->c->name, code, p.message);
        core_problem_cleanup(&p);
        core_ext_scope_close(&run->scope);
    }
}

struct core_event_listener core_ext_listener(void)
{
    return (struct core_event_listener){
        .wants = wants, .wants_before = wants_before, .on_commit = on_commit, .before = on_before};
}

const char *tarmac_event_collection(const struct tarmac_event *ev)
{
    return ev->c->name;
}

enum tarmac_hook tarmac_event_hook(const struct tarmac_event *ev)
{
    return ev->hook;
}

struct tarmac_record *tarmac_event_record(struct tarmac_event *ev)
{
    return &ev->record;
}

const struct tarmac_record *tarmac_event_original(const struct tarmac_event *ev)
{
    return ev->has_original ? &ev->original : NULL;
}

void tarmac_event_error(struct tarmac_event *ev, const char *message)
{
    core_problem_message(ev->p, message ? message : "");
}

void tarmac_event_field_error(struct tarmac_event *ev, const char *field, const char *code,
                              const char *message)
{
    if (field && code && message)
        core_problem_field(ev->p, field, code, message, NULL);
}

struct tarmac_ctx *tarmac_event_ctx(struct tarmac_event *ev)
{
    return ev->ctx;
}
