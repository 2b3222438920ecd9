/* migrate.c -- see migrate.h. The `m` table of a migration's up/down. */
#include "core/hooks/migrate.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/hooks/json.h"
#include "core/hooks/lib.h"
#include "core/hooks/run_int.h"
#include "core/hooks/vm.h"

/* A migration does DDL and may seed many records (and hash their
 * passwords): more room than a request's hook. */
#define MIGRATION_MEMORY_MAX ((size_t)256 << 20)
#define MIGRATION_BUDGET_NS (600ull * 1000000000ull) /* 10 minutes of wall time */

/* One run: the steps and the first refusal (kept even if pcall caught it). */
struct migration {
    const struct core_hooks_migration_ops *ops;
    void *ctx;
    bool is_refused;
    char refusal[1024]; /* "file.lua:LINE: m.collections.save: message {data}" */
};

static struct migration *migration_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static struct str check_str(lua_State *L, int idx)
{
    size_t n;
    const char *s = luaL_checklstring(L, idx, &n);
    return (struct str){s, n};
}

/* The table at idx as a JSON object or array (new reference); raises when
 * it is not one. */
static json_t *check_json(lua_State *L, int idx, const char *fn, bool is_array)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    char err[256];
    json_t *v = core_hooks_to_json_named(L, idx, "value", err, sizeof(err));
    if (!v)
        luaL_error(L, "%s: %s", fn, err);
    if (is_array ? !json_is_array(v) : !json_is_object(v)) {
        json_decref(v);
        luaL_error(L, "%s: %s", fn, is_array ? "a list of collections" : "a table of fields");
    }
    return v;
}

/* Pushes v (taken) or nil for RC_NOT_FOUND; raises the step's refusal
 * otherwise, after recording it in the run. */
static int finish(lua_State *L, const char *fn, enum rc rc, json_t *v, struct core_problem *p)
{
    if (rc == RC_NOT_FOUND && !p->message[0]) {
        core_problem_cleanup(p);
        lua_pushnil(L);
        return 1;
    }
    if (!rc) {
        core_problem_cleanup(p);
        if (!v) {
            lua_pushnil(L);
            return 1;
        }
        rc = core_hooks_push_json(L, v);
        json_decref(v);
        if (rc)
            return luaL_error(L, "%s: the answer is too deep", fn);
        return 1;
    }
    json_decref(v);
    struct migration *m = migration_of(L);
    char where[256];
    core_hooks_where(L, 1, where, sizeof(where));
    char *data = p->data ? json_dumps(p->data, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char msg[512];
    snprintf(msg, sizeof(msg), "%s: %s%s%s", fn, p->message[0] ? p->message : rc_text(rc),
             data ? " " : "", data ? data : "");
    xfree(data);
    core_problem_cleanup(p);
    if (!m->is_refused) {
        m->is_refused = true;
        snprintf(m->refusal, sizeof(m->refusal), "%s%s%s", where, where[0] ? ": " : "", msg);
    }
    lua_pushstring(L, msg);
    return lua_error(L);
}

/* ---- m.collections ----------------------------------------------------- */

static int l_collection_get(lua_State *L)
{
    struct migration *m = migration_of(L);
    struct str name = check_str(L, 1);
    struct core_problem p;
    core_problem_init(&p);
    json_t *v = NULL;
    enum rc rc = m->ops->collection_get(m->ctx, name, &v);
    return finish(L, "m.collections.get", rc, v, &p);
}

static int l_collection_save(lua_State *L)
{
    struct migration *m = migration_of(L);
    json_t *def = check_json(L, 1, "m.collections.save", false);
    struct core_problem p;
    core_problem_init(&p);
    json_t *v = NULL;
    enum rc rc = m->ops->collection_save(m->ctx, def, &v, &p);
    json_decref(def);
    if (rc == RC_NOT_FOUND && !p.message[0])
        core_problem_message(&p, "Not found.");
    return finish(L, "m.collections.save", rc, v, &p);
}

static int l_collection_delete(lua_State *L)
{
    struct migration *m = migration_of(L);
    struct str name = check_str(L, 1);
    struct core_problem p;
    core_problem_init(&p);
    enum rc rc = m->ops->collection_delete(m->ctx, name, &p);
    if (rc == RC_NOT_FOUND && !p.message[0])
        core_problem_message(&p, "No such collection.");
    finish(L, "m.collections.delete", rc, NULL, &p);
    return 0;
}

static int l_collection_import(lua_State *L)
{
    struct migration *m = migration_of(L);
    json_t *list = check_json(L, 1, "m.collections.import", true);
    bool delete_missing = lua_toboolean(L, 2);
    struct core_problem p;
    core_problem_init(&p);
    enum rc rc = m->ops->collection_import(m->ctx, list, delete_missing, &p);
    json_decref(list);
    if (rc == RC_NOT_FOUND && !p.message[0])
        core_problem_message(&p, "Not found.");
    finish(L, "m.collections.import", rc, NULL, &p);
    return 0;
}

/* ---- m.records --------------------------------------------------------- */

static int l_record_get(lua_State *L)
{
    struct migration *m = migration_of(L);
    struct str col = check_str(L, 1), id = check_str(L, 2);
    struct core_problem p;
    core_problem_init(&p);
    json_t *v = NULL;
    enum rc rc = m->ops->record_get(m->ctx, col, id, &v, &p);
    return finish(L, "m.records.get", rc, v, &p);
}

static int l_record_first(lua_State *L)
{
    struct migration *m = migration_of(L);
    struct str col = check_str(L, 1);
    struct str filter = lua_isnoneornil(L, 2) ? (struct str){"", 0} : check_str(L, 2);
    int params = 0;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        params = 3;
    }
    hooks_push_bound_filter(L, filter, params);
    size_t n;
    const char *bound = lua_tolstring(L, -1, &n); /* stays on the stack */
    struct core_problem p;
    core_problem_init(&p);
    json_t *v = NULL;
    enum rc rc = m->ops->record_first(m->ctx, col, (struct str){bound, n}, &v, &p);
    return finish(L, "m.records.first", rc, v, &p);
}

static int l_record_create(lua_State *L)
{
    struct migration *m = migration_of(L);
    struct str col = check_str(L, 1);
    json_t *data = check_json(L, 2, "m.records.create", false);
    struct core_problem p;
    core_problem_init(&p);
    json_t *v = NULL;
    enum rc rc = m->ops->record_create(m->ctx, col, data, &v, &p);
    json_decref(data);
    if (rc == RC_NOT_FOUND && !p.message[0])
        core_problem_message(&p, "Not found.");
    return finish(L, "m.records.create", rc, v, &p);
}

static int l_record_update(lua_State *L)
{
    struct migration *m = migration_of(L);
    struct str col = check_str(L, 1), id = check_str(L, 2);
    json_t *data = check_json(L, 3, "m.records.update", false);
    struct core_problem p;
    core_problem_init(&p);
    json_t *v = NULL;
    enum rc rc = m->ops->record_update(m->ctx, col, id, data, &v, &p);
    json_decref(data);
    if (rc == RC_NOT_FOUND && !p.message[0])
        core_problem_message(&p, "The record does not exist.");
    return finish(L, "m.records.update", rc, v, &p);
}

static int l_record_delete(lua_State *L)
{
    struct migration *m = migration_of(L);
    struct str col = check_str(L, 1), id = check_str(L, 2);
    struct core_problem p;
    core_problem_init(&p);
    enum rc rc = m->ops->record_delete(m->ctx, col, id, &p);
    if (rc == RC_NOT_FOUND && !p.message[0])
        core_problem_message(&p, "The record does not exist.");
    finish(L, "m.records.delete", rc, NULL, &p);
    return 0;
}

/* Pushes m: {collections = {...}, records = {...}}, each function with the
 * run as its upvalue. */
static void push_m(lua_State *L, struct migration *m)
{
    static const luaL_Reg collections[] = {
        {"get", l_collection_get},
        {"save", l_collection_save},
        {"delete", l_collection_delete},
        {"import", l_collection_import},
        {NULL, NULL},
    };
    static const luaL_Reg records[] = {
        {"get", l_record_get},       {"first", l_record_first},   {"create", l_record_create},
        {"update", l_record_update}, {"delete", l_record_delete}, {NULL, NULL},
    };
    lua_createtable(L, 0, 2);
    lua_createtable(L, 0, 4);
    lua_pushlightuserdata(L, m);
    luaL_setfuncs(L, collections, 1);
    lua_setfield(L, -2, "collections");
    lua_createtable(L, 0, 5);
    lua_pushlightuserdata(L, m);
    luaL_setfuncs(L, records, 1);
    lua_setfield(L, -2, "records");
}

/* True when msg already starts with "name:" (Lua's own position). */
static bool starts_with_file(const char *msg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(msg, name, n) == 0 && msg[n] == ':';
}

enum rc core_hooks_migration_run(const struct core_hooks_migration_ops *ops, void *ctx,
                                 const char *name, struct str code, bool is_up, char *err,
                                 size_t errlen)
{
    const char *fn = is_up ? "up" : "down";
    struct core_hooks_vm_config cfg = {.memory_max = MIGRATION_MEMORY_MAX,
                                       .budget_ns = MIGRATION_BUDGET_NS};
    struct core_hooks_vm *vm = core_hooks_vm_new(&cfg);
    if (!vm) {
        snprintf(err, errlen, "%s: the Lua state cannot start (no memory)", name);
        return RC_NOMEM;
    }
    lua_State *L = core_hooks_vm_lua(vm);
    enum rc rc = core_hooks_vm_load_value(vm, name, code, err, errlen);
    if (!rc && lua_type(L, -1) != LUA_TTABLE) {
        snprintf(err, errlen, "%s: the file returns %s, not a table {up = ..., down = ...}", name,
                 luaL_typename(L, -1));
        rc = RC_INVALID;
    }
    if (!rc) {
        lua_getfield(L, -1, fn);
        if (lua_isnil(L, -1)) {
            snprintf(err, errlen, "%s: has no %s function%s", name, fn,
                     is_up ? "" : ": it cannot be reverted");
            rc = RC_NOT_FOUND;
        } else if (lua_type(L, -1) != LUA_TFUNCTION) {
            snprintf(err, errlen, "%s: %s is a %s, not a function", name, fn, luaL_typename(L, -1));
            rc = RC_INVALID;
        }
    }
    if (rc) {
        core_hooks_vm_free(vm);
        return rc;
    }
    struct migration m = {.ops = ops, .ctx = ctx};
    push_m(L, &m);
    enum core_hooks_status st;
    struct core_hooks_call *call = core_hooks_call_start(vm, 1, &st);
    if (st == CORE_HOOKS_ERROR) {
        const struct core_hooks_error *e = core_hooks_call_error(call);
        if (m.is_refused)
            snprintf(err, errlen, "%s", m.refusal);
        else if (starts_with_file(e->message, name) || !e->where[0])
            snprintf(err, errlen, "%s%s%s", starts_with_file(e->message, name) ? "" : name,
                     starts_with_file(e->message, name) ? "" : ": ", e->message);
        else
            snprintf(err, errlen, "%s: %s", e->where, e->message);
        rc = RC_INVALID;
    } else if (st == CORE_HOOKS_YIELDED) {
        snprintf(err, errlen, "%s: %s waited for something a migration cannot wait for", name, fn);
        rc = RC_INVALID;
    } else if (m.is_refused) {
        /* caught by the script, but the transaction may hold half of it */
        snprintf(err, errlen, "%s", m.refusal);
        rc = RC_INVALID;
    }
    core_hooks_call_free(call);
    core_hooks_vm_free(vm);
    return rc;
}
