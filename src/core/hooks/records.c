/* records.c -- tarmac.records.*: the records API of scripts (docs/hooks.md).
 *
 * Reads run on the calling worker's read connection, as the REST API's do,
 * and return at once; writes go through core's save path (record_save.h:
 * validation, rules, files, the writer's transaction) and suspend the
 * script's coroutine until the writer answered, so a script never blocks its
 * loop. Both run as the call's requester (a route's), or as a superuser in
 * hooks and with opts.superuser. A "before" hook runs inside a write on the
 * writer thread: it may read records by id from that transaction, nothing
 * else. Filters take {:name} placeholders bound from a table, as the SDKs'
 * pb.filter() does: a value never becomes filter syntax. */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "core/hooks/run_int.h"
#include "core/hooks/json.h"
#include "core/filter/filter_bind.h"
#include "core/record/record_save.h"

/* -------------------------------------------------------------------------
 * Errors: the contract's statuses, raised as refusals
 * ------------------------------------------------------------------------- */

/* Pushes {status, message, data} for rc and p. */
static void push_problem(lua_State *L, enum rc rc, const struct core_problem *p)
{
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, core_problem_status(rc));
    lua_setfield(L, -2, "status");
    lua_pushstring(L, p && p->message[0] ? p->message : "");
    lua_setfield(L, -2, "message");
    if (p && p->data && core_hooks_push_json(L, p->data) == RC_OK)
        lua_setfield(L, -2, "data");
}

/* Raises rc as tarmac.refuse would: a script may catch it with pcall;
 * uncaught, a route answers it (a 4xx is the client's). Frees p first (the
 * raise does not return); the caller has freed its own memory. */
int hooks_raise_problem(lua_State *L, enum rc rc, struct core_problem *p)
{
    lua_getglobal(L, "tarmac");
    lua_getfield(L, -1, "refuse");
    lua_pushinteger(L, core_problem_status(rc));
    lua_pushstring(L, p && p->message[0] ? p->message : "");
    if (!(p && p->data && core_hooks_push_json(L, p->data) == RC_OK))
        lua_pushnil(L);
    if (p)
        core_problem_cleanup(p);
    lua_call(L, 3, 0);
    return 0; /* not reached: refuse raises */
}

/* -------------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------------- */

static struct hooks_run *run_or_fail(lua_State *L, const char *fn)
{
    struct hooks_run *run = hooks_run_of(L);
    if (!run)
        luaL_error(L, "tarmac.records.%s: only inside a route or a hook", fn);
    hooks_run_prepare(run); /* rules read the request's @request data */
    return run;
}

static bool opt_bool(lua_State *L, int opts, const char *key)
{
    if (lua_type(L, opts) != LUA_TTABLE)
        return false;
    lua_getfield(L, opts, key);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* opts[key] as a string (in the state: valid while opts is), "" when absent. */
static struct str opt_str(lua_State *L, int opts, const char *key)
{
    if (lua_type(L, opts) != LUA_TTABLE)
        return (struct str){"", 0};
    lua_getfield(L, opts, key);
    struct str s = {"", 0};
    if (lua_type(L, -1) == LUA_TSTRING)
        s.ptr = lua_tolstring(L, -1, &s.len);
    else if (!lua_isnil(L, -1))
        luaL_error(L, "tarmac.records: opts.%s is a string", key);
    lua_pop(L, 1); /* the string stays alive in opts */
    return s;
}

static int64_t opt_int(lua_State *L, int opts, const char *key, int64_t def)
{
    if (lua_type(L, opts) != LUA_TTABLE)
        return def;
    lua_getfield(L, opts, key);
    int64_t v = def;
    if (lua_isinteger(L, -1))
        v = lua_tointeger(L, -1);
    else if (!lua_isnil(L, -1))
        luaL_error(L, "tarmac.records: opts.%s is an integer", key);
    lua_pop(L, 1);
    return v;
}

static struct core_request *requester(struct hooks_run *run, lua_State *L, int opts)
{
    return opt_bool(L, opts, "superuser") ? &run->su : run->r;
}

static const struct core_collection *collection_or_fail(lua_State *L, struct core_request *r,
                                                        const char *name)
{
    const struct core_collection *c = core_schema_find(r->schema, str_from_cstr(name));
    if (!c) {
        struct core_problem p;
        core_problem_init(&p);
        core_problem_message(&p, "Missing collection context.");
        hooks_raise_problem(L, RC_NOT_FOUND, &p);
    }
    return c;
}

/* -------------------------------------------------------------------------
 * Filters with {:name} parameters
 * ------------------------------------------------------------------------- */

/* Pushes filter with its {:name} placeholders bound to the values of the
 * table at params (0: none), as core/filter/filter_bind.h does for C
 * extensions. */
void hooks_push_bound_filter(lua_State *L, struct str filter, int params)
{
    char why[160];
    json_t *p = NULL;
    if (params) {
        p = core_hooks_to_json(L, params, why, sizeof(why));
        if (!p)
            luaL_error(L, "tarmac.records: filter params: %s", why);
    }
    struct buf b;
    buf_init(&b, 2 * CORE_FILTER_MAX_BOUND);
    enum rc rc = core_filter_bind(filter, p, &b, why, sizeof(why));
    json_decref(p);
    if (rc) {
        buf_cleanup(&b);
        luaL_error(L, "tarmac.records: %s", rc == RC_INVALID ? why : "a bound filter is too large");
    }
    lua_pushlstring(L, b.data ? b.data : "", b.len);
    buf_cleanup(&b);
}

/* tarmac.filter(expr, params): the filter text with its parameters bound. */
static int l_filter(lua_State *L)
{
    size_t n;
    const char *f = luaL_checklstring(L, 1, &n);
    luaL_checktype(L, 2, LUA_TTABLE);
    hooks_push_bound_filter(L, (struct str){f, n}, 2);
    return 1;
}

/* -------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------- */

/* A read's outcome: the JSON core wrote to b as a Lua value, or its problem
 * raised. Frees b and p. */
static int push_answer(lua_State *L, const char *fn, enum rc rc, struct buf *b,
                       struct core_problem *p)
{
    json_t *v = rc ? NULL : json_loadb(b->data, b->len, 0, NULL);
    buf_cleanup(b);
    if (rc || !v)
        return hooks_raise_problem(L, rc ? rc : RC_INTERNAL, p);
    core_problem_cleanup(p);
    rc = core_hooks_push_json(L, v);
    json_decref(v);
    if (rc)
        return luaL_error(L, "tarmac.records.%s: a record is too deep", fn);
    return 1;
}

/* records.get(collection, id [, opts]): the record, or nil when it does not
 * exist or the view rule hides it. */
static int l_get(lua_State *L)
{
    struct hooks_run *run = run_or_fail(L, "get");
    const char *name = luaL_checkstring(L, 1);
    size_t idlen;
    const char *id = luaL_checklstring(L, 2, &idlen);
    struct core_request *r = requester(run, L, 3);
    const struct core_collection *c = collection_or_fail(L, r, name);
    if (run->db) {
        /* A before hook: the write's transaction, no rule. */
        json_t *v = NULL;
        enum rc rc = core_record_load(run->db, c, (struct str){id, idlen}, &v);
        if (rc == RC_NOT_FOUND) {
            lua_pushnil(L);
            return 1;
        }
        if (rc)
            return hooks_raise_problem(L, rc, NULL);
        rc = core_hooks_push_json(L, v);
        json_decref(v);
        if (rc)
            return luaL_error(L, "tarmac.records.get: the record is too deep");
        return 1;
    }
    struct core_output_opts o = {.expand = opt_str(L, 3, "expand"),
                                 .fields = opt_str(L, 3, "fields")};
    struct buf b;
    buf_init(&b, 64u << 20);
    struct core_problem p;
    core_problem_init(&p);
    core_worker_begin_read(r->cw);
    enum rc rc = core_record_view(r, c, (struct str){id, idlen}, &o, &b, &p);
    if (rc == RC_NOT_FOUND) {
        buf_cleanup(&b);
        core_problem_cleanup(&p);
        lua_pushnil(L);
        return 1;
    }
    return push_answer(L, "get", rc, &b, &p);
}

static int list(lua_State *L, const char *fn, struct core_list_opts *lo, int opts)
{
    struct hooks_run *run = run_or_fail(L, fn);
    const char *name = luaL_checkstring(L, 1);
    if (run->db)
        return luaL_error(L, "tarmac.records.%s: not in a before hook (records.get works there)",
                          fn);
    struct core_request *r = requester(run, L, opts);
    const struct core_collection *c = collection_or_fail(L, r, name);
    struct str f = opt_str(L, opts, "filter");
    int params = 0;
    if (lua_type(L, opts) == LUA_TTABLE) {
        lua_getfield(L, opts, "params");
        params = lua_type(L, -1) == LUA_TTABLE ? lua_gettop(L) : 0;
    }
    hooks_push_bound_filter(L, f, params);
    lo->filter.ptr = lua_tolstring(L, -1, &lo->filter.len); /* stays on the stack */
    lo->sort = opt_str(L, opts, "sort");
    struct core_output_opts o = {.expand = opt_str(L, opts, "expand"),
                                 .fields = opt_str(L, opts, "fields")};
    struct buf b;
    buf_init(&b, 64u << 20);
    struct core_problem p;
    core_problem_init(&p);
    core_worker_begin_read(r->cw);
    enum rc rc = core_record_list(r, c, lo, &o, &b, &p, NULL);
    return push_answer(L, fn, rc, &b, &p);
}

/* records.list(collection [, opts]): a page {page, perPage, totalItems,
 * totalPages, items} as the REST list answers it. */
static int l_list(lua_State *L)
{
    struct core_list_opts lo = {0};
    lo.page = opt_int(L, 2, "page", 1);
    lo.per_page = opt_int(L, 2, "perPage", CORE_LIST_DEFAULT_PER_PAGE);
    lo.skip_total = opt_bool(L, 2, "skipTotal");
    if (lo.page < 1 || lo.per_page < 1 || lo.per_page > CORE_LIST_MAX_PER_PAGE)
        return luaL_error(L, "tarmac.records.list: page >= 1 and perPage 1..1000");
    return list(L, "list", &lo, 2);
}

/* records.first(collection, filter, params [, opts]): the first record the
 * filter matches, or nil. */
static int l_first(lua_State *L)
{
    luaL_checkstring(L, 2);
    /* the filter and params as list's opts: {filter=, params=, ...opts} */
    lua_settop(L, 4);
    lua_createtable(L, 0, 8);
    if (lua_type(L, 4) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, 4)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_settable(L, 5);
        }
    }
    lua_pushvalue(L, 2);
    lua_setfield(L, 5, "filter");
    lua_pushvalue(L, 3);
    lua_setfield(L, 5, "params");
    struct core_list_opts lo = {.page = 1, .per_page = 1, .skip_total = true};
    list(L, "first", &lo, 5);
    lua_getfield(L, -1, "items");
    lua_geti(L, -1, 1);
    return 1;
}

/* -------------------------------------------------------------------------
 * Writes (suspend the call until the writer answered)
 * ------------------------------------------------------------------------- */

struct pending_save {
    struct hooks_run *run;
    json_t *body; /* kept until the save ends (the save borrows it) */
};

/* Moves a finished save's problem into dst (freeing what dst held): the
 * save frees nothing of it afterwards. */
static void take_save_problem(struct core_problem *dst, struct core_save *s)
{
    struct core_problem *sp = core_record_save_problem(s);
    core_problem_cleanup(dst);
    *dst = *sp;
    sp->data = NULL;
}

/* The record a finished save left (NULL for a delete, or with *rc and p
 * set when it failed or cannot be rendered). */
static json_t *save_result(struct core_save *s, enum rc *rc, struct core_problem *p)
{
    *rc = core_record_save_rc(s);
    if (*rc) {
        take_save_problem(p, s);
        return NULL;
    }
    if (core_record_save_kind(s) == CORE_WRITE_DELETE)
        return NULL;
    struct buf b;
    buf_init(&b, 64u << 20);
    struct core_output_opts o = {0};
    *rc = core_record_save_answer(s, &o, &b, p);
    json_t *v = *rc ? NULL : json_loadb(b.data, b.len, 0, NULL);
    if (!*rc && !v)
        *rc = RC_INTERNAL;
    buf_cleanup(&b);
    return v;
}

static void save_done(struct core_save *s, void *ctx)
{
    struct pending_save *ps = ctx;
    struct hooks_run *run = ps->run;
    lua_State *co = core_hooks_call_thread(run->call);
    enum rc rc;
    struct core_problem p;
    core_problem_init(&p);
    json_t *v = save_result(s, &rc, &p);
    lua_pushboolean(co, rc == RC_OK);
    if (rc)
        push_problem(co, rc, &p);
    else if (!v || core_hooks_push_json(co, v) != RC_OK)
        lua_pushnil(co);
    json_decref(v);
    core_problem_cleanup(&p);
    json_decref(ps->body);
    xfree(ps);
    hooks_run_resume(run, 2);
}

/* _save(kind, collection, id, data, opts) -> ok, record-or-problem (after
 * the writer answered). The Lua wrappers raise the problem. */
static int l_save(lua_State *L)
{
    static const char *const kinds[] = {"create", "update", "delete", NULL};
    int kind = luaL_checkoption(L, 1, NULL, kinds);
    struct hooks_run *run = run_or_fail(L, kinds[kind]);
    if (run->db || run->cannot_wait)
        return luaL_error(
            L,
            "tarmac.records.%s: not in a before hook (it runs inside a write or a sign-in: "
            "change e.record, or write from an after hook)",
            kinds[kind]);
    if (!core_hooks_can_yield(L))
        return luaL_error(L,
                          "tarmac.records.%s: cannot wait here (inside a coroutine or a "
                          "metamethod)",
                          kinds[kind]);
    const char *name = luaL_checkstring(L, 2);
    size_t idlen = 0;
    const char *id = kind == CORE_WRITE_CREATE ? NULL : luaL_checklstring(L, 3, &idlen);
    json_t *body = NULL;
    if (kind != CORE_WRITE_DELETE) {
        luaL_checktype(L, 4, LUA_TTABLE);
        char err[256];
        body = core_hooks_to_json(L, 4, err, sizeof(err));
        if (!json_is_object(body)) {
            json_decref(body);
            return luaL_error(L, "tarmac.records.%s: data: %s", kinds[kind],
                              body ? "a table of fields" : err);
        }
    }
    struct core_request *base = requester(run, L, 5);
    const struct core_collection *c = core_schema_find(base->schema, str_from_cstr(name));
    struct core_problem p;
    core_problem_init(&p);
    enum rc rc = RC_OK;
    struct core_save *s = NULL;
    struct pending_save *ps = NULL;
    if (!c) {
        core_problem_message(&p, "Missing collection context.");
        rc = RC_NOT_FOUND;
    } else {
        /* The rules see this data as @request.body. */
        struct core_request *r = arena_alloc(base->arena, sizeof(*r));
        *r = *base;
        r->filter_request.body = body;
        r->filter_request.context = "default";
        r->is_manager = false;
        struct core_save_input in = {
            .kind = (enum core_write_kind)kind,
            .c = c,
            .id = (struct str){id, idlen},
            .body = body,
        };
        rc = core_record_save_access(r, c, in.kind, &p);
        if (!rc)
            rc = core_record_save_prepare(r, &in, &p, &s);
        if (!rc) {
            ps = xcalloc(1, sizeof(*ps));
            ps->run = run;
            ps->body = body;
            rc = core_record_save_start(s, save_done, NULL, ps);
            if (rc) {
                xfree(ps);
                ps = NULL;
            }
        }
    }
    if (ps)
        return core_hooks_yield(L); /* save_done resumes with (ok, value) */
    json_decref(body);
    lua_pushboolean(L, 0);
    push_problem(L, rc, &p);
    core_problem_cleanup(&p);
    return 2;
}

/* -------------------------------------------------------------------------
 * Transactions: several writes, all or none (core's batch path)
 * ------------------------------------------------------------------------- */

#define TX_MAX_WRITES 100

struct tx_item {
    struct core_save_input in;
    struct core_save *s;
    struct core_write_job *job; /* parked by ready until the batch goes */
    json_t *body;               /* owned until the transaction ends */
    json_t *result;             /* the record as the transaction left it */
    bool is_started;
    bool is_done;
};

struct tx {
    struct hooks_run *run;
    struct core_request *base;
    struct tx_item *items;
    size_t count;
    size_t next;  /* the item being prepared */
    bool in_loop; /* start_items is on the stack: callbacks leave it to it */
    bool in_call; /* l_transaction has not returned yet */
    bool is_answered;
    bool is_submitted;
    bool is_failed; /* before the batch: failed_at says which */
    size_t failed_at;
    enum rc rc;
    struct core_problem problem;
    struct core_write_job **jobs;
    struct core_write_batch wb;
};

static void tx_free(struct tx *tx)
{
    for (size_t i = 0; i < tx->count; i++) {
        json_decref(tx->items[i].body);
        json_decref(tx->items[i].result);
    }
    core_problem_cleanup(&tx->problem);
    xfree(tx->items);
    xfree(tx->jobs);
    xfree(tx);
}

/* Pushes (true, {records}) or (false, problem) on co. */
static void push_tx_result(lua_State *co, struct tx *tx)
{
    if (tx->rc) {
        lua_pushboolean(co, 0);
        push_problem(co, tx->rc, &tx->problem);
        return;
    }
    lua_pushboolean(co, 1);
    lua_createtable(co, (int)tx->count, 0);
    for (size_t i = 0; i < tx->count; i++) {
        if (!tx->items[i].result || core_hooks_push_json(co, tx->items[i].result) != RC_OK)
            lua_pushboolean(co, 1); /* a delete: keeps the list without holes */
        lua_rawseti(co, -2, (lua_Integer)i + 1);
    }
}

/* The transaction ended: the script gets its result, now (when it ended
 * before the call returned: l_transaction returns it) or by resuming. */
static void tx_answer(struct tx *tx)
{
    if (tx->in_call) {
        tx->is_answered = true;
        return;
    }
    struct hooks_run *run = tx->run;
    push_tx_result(core_hooks_call_thread(run->call), tx);
    tx_free(tx);
    hooks_run_resume(run, 2);
}

static void tx_fail(struct tx *tx, size_t i, enum rc rc, struct core_problem *p)
{
    if (tx->is_failed)
        return;
    tx->is_failed = true;
    tx->failed_at = i;
    tx->rc = rc;
    core_problem_cleanup(&tx->problem);
    tx->problem = *p;
    core_problem_init(p);
}

static void start_items(struct tx *tx);

static void tx_ready(struct core_save *s, struct core_write_job *job, void *ctx)
{
    (void)s;
    struct tx *tx = ctx;
    tx->items[tx->next].job = job;
    tx->next++;
    if (!tx->in_loop)
        start_items(tx);
}

/* A save ended: after the batch (its result is kept), or before it (a
 * failure while it was prepared, or a parked one given back). */
static void tx_done(struct core_save *s, void *ctx)
{
    struct tx *tx = ctx;
    size_t i = 0;
    while (i < tx->count && tx->items[i].s != s)
        i++;
    struct tx_item *it = &tx->items[i];
    it->is_done = true;
    struct core_problem p;
    core_problem_init(&p);
    enum rc rc;
    json_t *v = save_result(s, &rc, &p);
    if (tx->is_submitted) {
        it->result = v;
    } else {
        json_decref(v);
        if (rc && !it->job) /* failed while it was prepared */
            tx_fail(tx, i, rc, &p);
    }
    core_problem_cleanup(&p);
    if (!tx->is_submitted && !tx->in_loop && tx->is_failed && i == tx->failed_at)
        start_items(tx); /* goes on to give the parked ones back and answer */
}

static void tx_batch_done(struct core_write_batch *wb)
{
    struct tx *tx = wb->ctx;
    for (size_t i = 0; i < tx->count; i++)
        tx->jobs[i]->done(tx->jobs[i]); /* tx_done keeps each result */
    if (wb->rc) {
        struct core_save *s = tx->items[wb->failed].s;
        tx->rc = core_record_save_rc(s) ? core_record_save_rc(s) : wb->rc;
        take_save_problem(&tx->problem, s);
    }
    tx_answer(tx);
}

/* Prepares the items in order, each parked by ready; then submits them as
 * one batch. A failure gives the parked ones back and answers it. */
static void start_items(struct tx *tx)
{
    tx->in_loop = true;
    while (!tx->is_failed && tx->next < tx->count) {
        size_t i = tx->next;
        struct tx_item *it = &tx->items[i];
        if (it->is_started) {
            tx->in_loop = false;
            return; /* waiting for its ready (the offload pool) */
        }
        it->is_started = true;
        struct core_request *r = arena_alloc(tx->base->arena, sizeof(*r));
        *r = *tx->base;
        r->filter_request.body = it->body;
        r->filter_request.context = "default";
        r->is_manager = false;
        struct core_problem p;
        core_problem_init(&p);
        enum rc rc = core_record_save_access(r, it->in.c, it->in.kind, &p);
        if (!rc)
            rc = core_record_save_prepare(r, &it->in, &p, &it->s);
        if (!rc)
            rc = core_record_save_start(it->s, tx_done, tx_ready, tx);
        if (rc)
            tx_fail(tx, i, rc, &p);
        core_problem_cleanup(&p);
    }
    tx->in_loop = false;
    if (tx->is_failed) {
        for (size_t k = 0; k < tx->count; k++) {
            struct core_write_job *job = tx->items[k].job;
            if (job && !tx->items[k].is_done) {
                job->rc = RC_CONFLICT; /* rolled back with the failing one */
                job->done(job);
            }
        }
        tx_answer(tx);
        return;
    }
    tx->jobs = xcalloc(tx->count, sizeof(*tx->jobs));
    for (size_t i = 0; i < tx->count; i++)
        tx->jobs[i] = tx->items[i].job;
    tx->is_submitted = true;
    tx->wb.jobs = tx->jobs;
    tx->wb.count = tx->count;
    tx->wb.done = tx_batch_done;
    tx->wb.ctx = tx;
    core_record_submit_batch(tx->base->cw, &tx->wb);
}

/* Reads write i of the list at idx ({action, collection, id, data}) into
 * it; raises a script error for a malformed one. */
static void tx_read_item(lua_State *L, struct core_request *base, struct tx *tx, size_t i)
{
    static const char *const kinds[] = {"create", "update", "delete", NULL};
    struct tx_item *it = &tx->items[i];
    int t = lua_gettop(L);
    if (!lua_istable(L, t)) {
        tx_free(tx);
        luaL_error(L, "tarmac.records.transaction: write %d is a table", (int)i + 1);
    }
    lua_getfield(L, t, "action");
    lua_getfield(L, t, "collection");
    lua_getfield(L, t, "id");
    const char *action = lua_tostring(L, t + 1);
    const char *name = lua_tostring(L, t + 2);
    int kind = -1;
    for (int k = 0; action && kinds[k]; k++)
        if (!strcmp(action, kinds[k]))
            kind = k;
    const char *why = kind < 0 ? "action is create, update or delete"
                      : !name  ? "collection is a name"
                      : kind != CORE_WRITE_CREATE && !lua_isstring(L, t + 3) ? "id is a record id"
                                                                             : NULL;
    if (why) {
        tx_free(tx);
        luaL_error(L, "tarmac.records.transaction: write %d: %s", (int)i + 1, why);
    }
    it->in.kind = (enum core_write_kind)kind;
    it->in.c = core_schema_find(base->schema, str_from_cstr(name));
    it->in.is_batch_item = true;
    if (kind != CORE_WRITE_CREATE) {
        size_t n;
        const char *id = lua_tolstring(L, t + 3, &n);
        char *copy = arena_alloc(base->arena, n + 1);
        memcpy(copy, id, n + 1);
        it->in.id = (struct str){copy, n};
    }
    lua_pop(L, 3);
    if (kind != CORE_WRITE_DELETE) {
        lua_getfield(L, t, "data");
        char err[256] = "a table of fields";
        json_t *body = lua_istable(L, -1) ? core_hooks_to_json(L, -1, err, sizeof(err)) : NULL;
        if (!json_is_object(body)) {
            json_decref(body);
            tx_free(tx);
            luaL_error(L, "tarmac.records.transaction: write %d: data: %s", (int)i + 1, err);
        }
        it->body = body;
        it->in.body = body;
        lua_pop(L, 1);
    }
}

/* _transaction(writes, opts) -> ok, records-or-problem (after the writer
 * answered). */
static int l_transaction(lua_State *L)
{
    struct hooks_run *run = run_or_fail(L, "transaction");
    if (run->db || run->cannot_wait)
        return luaL_error(L, "tarmac.records.transaction: not in a before hook (it runs inside a "
                             "write or a sign-in)");
    if (!core_hooks_can_yield(L))
        return luaL_error(L, "tarmac.records.transaction: cannot wait here (inside a coroutine "
                             "or a metamethod)");
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t n = (size_t)lua_rawlen(L, 1);
    if (n == 0 || n > TX_MAX_WRITES)
        return luaL_error(L, "tarmac.records.transaction: 1 to %d writes", TX_MAX_WRITES);
    struct core_request *base = requester(run, L, 2);
    struct tx *tx = xcalloc(1, sizeof(*tx));
    tx->run = run;
    tx->base = base;
    tx->count = n;
    tx->items = xcalloc(n, sizeof(*tx->items));
    core_problem_init(&tx->problem);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i + 1);
        tx_read_item(L, base, tx, i);
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < n; i++) {
        if (!tx->items[i].in.c) {
            struct core_problem p;
            core_problem_init(&p);
            core_problem_message(&p, "Missing collection context.");
            tx_free(tx);
            lua_pushboolean(L, 0);
            push_problem(L, RC_NOT_FOUND, &p);
            core_problem_cleanup(&p);
            return 2;
        }
    }
    tx->in_call = true;
    start_items(tx); /* answers through tx_answer, now or later */
    tx->in_call = false;
    if (tx->is_answered) { /* failed before anything went to the writer */
        push_tx_result(L, tx);
        tx_free(tx);
        return 2;
    }
    return core_hooks_yield(L);
}

/* The public functions over _save: they raise a failed write's problem. */
static const char wrappers[] =
    "local save = tarmac.records._save\n"
    "tarmac.records._save = nil\n"
    "local function check(ok, v)\n"
    "  if not ok then tarmac.refuse(v.status, v.message, v.data) end\n"
    "  return v\n"
    "end\n"
    "function tarmac.records.create(collection, data, opts)\n"
    "  return check(save('create', collection, nil, data, opts))\n"
    "end\n"
    "function tarmac.records.update(collection, id, data, opts)\n"
    "  return check(save('update', collection, id, data, opts))\n"
    "end\n"
    "function tarmac.records.delete(collection, id, opts)\n"
    "  check(save('delete', collection, id, nil, opts))\n"
    "end\n"
    "function tarmac.records.count(collection, filter, params, opts)\n"
    "  local o = { filter = filter, params = params, perPage = 1,\n"
    "              fields = 'id', superuser = opts and opts.superuser }\n"
    "  return tarmac.records.list(collection, o).totalItems\n"
    "end\n"
    "local transaction = tarmac.records._transaction\n"
    "tarmac.records._transaction = nil\n"
    "function tarmac.records.transaction(writes, opts)\n"
    "  return check(transaction(writes, opts))\n"
    "end\n";

enum rc hooks_records_open(struct core_hooks_vm *vm, char *err, size_t errlen)
{
    static const luaL_Reg fns[] = {
        {"get", l_get},
        {"list", l_list},
        {"first", l_first},
        {"_save", l_save},
        {"_transaction", l_transaction},
        {NULL, NULL},
    };
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, "tarmac");
    luaL_newlib(L, fns);
    lua_setfield(L, -2, "records");
    lua_pushcfunction(L, l_filter);
    lua_setfield(L, -2, "filter");
    lua_pop(L, 1);
    return core_hooks_vm_load_string(vm, "=tarmac.records", str_from_cstr(wrappers), err, errlen);
}
