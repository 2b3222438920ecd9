/* json.c -- see json.h.
 *
 * Lua -> JSON walks the table twice: once to count and classify the keys
 * (array, object, or neither), once to build. It calls no metamethod (raw
 * access only) and allocates nothing in the state, so it cannot raise: a
 * conversion the integrator starts outside a call, or from a C function
 * holding C memory, never unwinds past its cleanup. JSON -> Lua runs inside
 * lua_pcall for the same reason: the cap may refuse any push.
 *
 * tarmac.json.decode parses straight into the state (json_decode.c says
 * why). tarmac.json.encode writes through base/jsonw so that numbers look
 * as they do in the API's answers (the shortest decimal that reads back,
 * integral floats without ".0"); object keys are sorted, so a script that
 * signs a body it encoded gets the same text every time. */
#include "core/hooks/json.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonw.h"
#include "base/utf8.h"
#include "core/hooks/hooks_int.h"
#include "core/hooks/json_decode.h"

/* Only their addresses matter: the registry key of the array metatable, and
 * the light userdata that is tarmac.null. */
static const char array_mt_key = 'a';
static const char null_sentinel = 'n';

void core_hooks_push_null(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&null_sentinel);
}

bool core_hooks_is_null(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == &null_sentinel;
}

void core_hooks_mark_array(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key);
    lua_setmetatable(L, idx);
}

static bool is_array_marked(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return false;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key);
    bool is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return is;
}

/* ---- JSON -> Lua ------------------------------------------------------ */

struct push_ctx {
    const json_t *v;
    enum rc rc; /* set before raising a non-memory error */
};

static void push_fail(lua_State *L, struct push_ctx *c, enum rc rc)
{
    c->rc = rc;
    lua_pushboolean(L, 0); /* allocates nothing: the error object */
    lua_error(L);
}

static void push_value(lua_State *L, const json_t *v, int depth, struct push_ctx *c)
{
    if ((json_is_object(v) || json_is_array(v)) && depth >= CORE_HOOKS_JSON_DEPTH_MAX)
        push_fail(L, c, RC_TOO_LARGE);
    if (!lua_checkstack(L, 4))
        push_fail(L, c, RC_NOMEM);
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        lua_createtable(L, 0, (int)json_object_size(v));
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item)
        {
            lua_pushstring(L, key);
            push_value(L, item, depth + 1, c);
            lua_rawset(L, -3);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        lua_createtable(L, n > INT32_MAX ? INT32_MAX : (int)n, 0);
        for (size_t i = 0; i < n; i++) {
            push_value(L, json_array_get(v, i), depth + 1, c);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        core_hooks_mark_array(L, -1);
        break;
    }
    case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
    case JSON_REAL: lua_pushnumber(L, json_real_value(v)); break;
    case JSON_TRUE: lua_pushboolean(L, 1); break;
    case JSON_FALSE: lua_pushboolean(L, 0); break;
    case JSON_NULL: core_hooks_push_null(L); break;
    }
}

static int push_protected(lua_State *L)
{
    struct push_ctx *c = lua_touserdata(L, 1);
    push_value(L, c->v, 0, c);
    return 1;
}

enum rc core_hooks_push_json(lua_State *L, const json_t *v)
{
    if (!lua_checkstack(L, 3))
        return RC_NOMEM;
    struct push_ctx c = {v, RC_OK};
    lua_pushcfunction(L, push_protected);
    lua_pushlightuserdata(L, &c);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK)
        return RC_OK;
    lua_pop(L, 1);
    return c.rc ? c.rc : RC_NOMEM;
}

/* ---- Lua -> JSON ------------------------------------------------------ */

struct to_ctx {
    char path[256]; /* "value.items[3]", cut with "..." when longer */
    size_t path_len;
    char *err;
    size_t errlen;
    size_t bytes_left; /* of C memory the tree may take, roughly */
};

/* What a json_t costs in C memory, roughly (the struct, malloc's overhead,
 * a slot in its container): the tree is bounded by the state's cap, so a
 * script cannot turn its capped memory into several times as much C. */
#define JSON_VALUE_COST 64

static json_t *fail(struct to_ctx *c, const char *what)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s: %s", c->path, what);
    return NULL;
}

/* Appends a path segment (".key" or "[i]"); returns the length to restore
 * afterwards. */
static size_t path_push(struct to_ctx *c, const char *key, lua_Integer i)
{
    size_t was = c->path_len;
    size_t room = sizeof(c->path) - was;
    /* No printf: a path is kept for every key of every value converted. */
    char seg[32];
    const char *text = seg;
    size_t n;
    if (key) {
        size_t klen = strlen(key);
        if (klen + 1 < room) {
            c->path[was] = '.';
            memcpy(c->path + was + 1, key, klen + 1);
            c->path_len = was + 1 + klen;
            return was;
        }
        n = room; /* too long: cut below */
    } else {
        char *end = seg + sizeof(seg) - 1, *q = end;
        unsigned long long u = (unsigned long long)i;
        *q-- = ']';
        do {
            *q-- = (char)('0' + u % 10);
            u /= 10;
        } while (u && q > seg);
        *q = '[';
        text = q;
        n = (size_t)(end - q + 1);
    }
    if (n < room) {
        memcpy(c->path + was, text, n);
        c->path[was + n] = '\0';
        c->path_len = was + n;
        return was;
    }
    memcpy(c->path + sizeof(c->path) - 4, "...", 4); /* cut, and says so */
    c->path_len = sizeof(c->path) - 1;
    return was;
}

static void path_pop(struct to_ctx *c, size_t was)
{
    c->path_len = was;
    c->path[was] = '\0';
}

static json_t *to_value(lua_State *L, int idx, int depth, struct to_ctx *c);

/* Counts the keys of the table at idx: n in all; is_seq when each is an
 * integer in 1..n (so they are exactly 1..n); all_str when each is a string. */
static void classify_keys(lua_State *L, int idx, lua_Integer *n, bool *is_seq, bool *all_str)
{
    lua_Integer count = 0;
    bool ints_in_range = true;
    bool strings = true;
    lua_Integer max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        if (lua_type(L, -2) == LUA_TNUMBER && lua_isinteger(L, -2)) {
            lua_Integer k = lua_tointeger(L, -2);
            if (k < 1)
                ints_in_range = false;
            else if (k > max)
                max = k;
            strings = false;
        } else {
            ints_in_range = false;
            if (lua_type(L, -2) != LUA_TSTRING)
                strings = false;
        }
        lua_pop(L, 1);
    }
    *n = count;
    *is_seq = ints_in_range && max == count;
    *all_str = strings;
}

static json_t *table_to_array(lua_State *L, int idx, lua_Integer n, int depth, struct to_ctx *c)
{
    json_t *arr = json_array();
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        size_t was = path_push(c, NULL, i);
        json_t *item = to_value(L, lua_gettop(L), depth + 1, c);
        lua_pop(L, 1);
        if (!item) {
            json_decref(arr);
            return NULL;
        }
        path_pop(c, was);
        json_array_append_new(arr, item);
    }
    return arr;
}

static json_t *table_to_object(lua_State *L, int idx, int depth, struct to_ctx *c)
{
    json_t *obj = json_object();
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t klen;
        const char *key = lua_tolstring(L, -2, &klen); /* a string: nothing converted */
        size_t was = path_push(c, key, 0);
        json_t *item = NULL;
        if (!utf8_is_valid(key, klen) || memchr(key, '\0', klen)) {
            fail(c, "the key is not UTF-8 text without NUL");
        } else if (klen > c->bytes_left) {
            fail(c, "too large to convert (past the memory limit)");
        } else {
            c->bytes_left -= klen;
            item = to_value(L, lua_gettop(L), depth + 1, c);
        }
        if (!item) {
            lua_pop(L, 2);
            json_decref(obj);
            return NULL;
        }
        path_pop(c, was);
        json_object_set_new_nocheck(obj, key, item);
        lua_pop(L, 1);
    }
    return obj;
}

static json_t *table_to_json(lua_State *L, int idx, int depth, struct to_ctx *c)
{
    if (depth >= CORE_HOOKS_JSON_DEPTH_MAX)
        return fail(c, "nested deeper than 64 tables (or a table inside itself)");
    if (!lua_checkstack(L, 6))
        return fail(c, "out of Lua stack");
    lua_Integer n;
    bool is_seq;
    bool all_str;
    classify_keys(L, idx, &n, &is_seq, &all_str);
    if (is_array_marked(L, idx)) {
        if (n && !is_seq)
            return fail(c, "an array (tarmac.json.array) with keys other than 1..n");
        return table_to_array(L, idx, n, depth, c);
    }
    if (n && is_seq)
        return table_to_array(L, idx, n, depth, c);
    if (!all_str)
        return fail(c, "a table whose keys are neither 1..n nor all strings");
    return table_to_object(L, idx, depth, c);
}

static json_t *to_value(lua_State *L, int idx, int depth, struct to_ctx *c)
{
    size_t cost = JSON_VALUE_COST + (lua_type(L, idx) == LUA_TSTRING ? lua_rawlen(L, idx) : 0);
    if (cost > c->bytes_left)
        return fail(c, "too large to convert (past the memory limit)");
    c->bytes_left -= cost;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return json_null();
    case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer((json_int_t)lua_tointeger(L, idx));
        if (!isfinite(lua_tonumber(L, idx)))
            return fail(c, "NaN and infinities are not JSON numbers");
        return json_real(lua_tonumber(L, idx));
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (!utf8_is_valid(s, len))
            return fail(c, "not UTF-8 text");
        return json_stringn_nocheck(s, len);
    }
    case LUA_TLIGHTUSERDATA:
        if (core_hooks_is_null(L, idx))
            return json_null();
        return fail(c, "not a JSON value (userdata)");
    case LUA_TTABLE: return table_to_json(L, idx, depth, c);
    default: {
        char what[48];
        snprintf(what, sizeof(what), "not a JSON value (%s)", lua_typename(L, lua_type(L, idx)));
        return fail(c, what);
    }
    }
}

json_t *core_hooks_to_json_named(lua_State *L, int idx, const char *root, char *err, size_t errlen)
{
    struct to_ctx c = {.err = err, .errlen = errlen};
    c.bytes_left = core_hooks_vm_of(L)->memory_max;
    snprintf(c.path, sizeof(c.path), "%s", root);
    c.path_len = strlen(c.path);
    if (err && errlen)
        err[0] = '\0';
    return to_value(L, lua_absindex(L, idx), 0, &c);
}

json_t *core_hooks_to_json(lua_State *L, int idx, char *err, size_t errlen)
{
    return core_hooks_to_json_named(L, idx, "value", err, errlen);
}

/* ---- Lua -> JSON text, with no tree in between (a route's answer) ------ */

static bool write_value(lua_State *L, int idx, int depth, struct jsonw *w, struct to_ctx *c);

static bool write_table(lua_State *L, int idx, int depth, struct jsonw *w, struct to_ctx *c)
{
    if (depth >= CORE_HOOKS_JSON_DEPTH_MAX)
        return fail(c, "nested deeper than 64 tables (or a table inside itself)"), false;
    if (!lua_checkstack(L, 6))
        return fail(c, "out of Lua stack"), false;
    lua_Integer n;
    bool is_seq;
    bool all_str;
    classify_keys(L, idx, &n, &is_seq, &all_str);
    bool is_marked = is_array_marked(L, idx);
    if (is_marked && n && !is_seq)
        return fail(c, "an array (tarmac.json.array) with keys other than 1..n"), false;
    if (is_marked || (n && is_seq)) {
        jsonw_array_begin(w);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            size_t was = path_push(c, NULL, i);
            bool ok = write_value(L, lua_gettop(L), depth + 1, w, c);
            lua_pop(L, 1);
            if (!ok)
                return false;
            path_pop(c, was);
        }
        jsonw_array_end(w);
        return true;
    }
    if (!all_str)
        return fail(c, "a table whose keys are neither 1..n nor all strings"), false;
    jsonw_object_begin(w);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t klen;
        const char *key = lua_tolstring(L, -2, &klen);
        size_t was = path_push(c, key, 0);
        if (!utf8_is_valid(key, klen) || memchr(key, '\0', klen)) {
            lua_pop(L, 2);
            return fail(c, "the key is not UTF-8 text without NUL"), false;
        }
        jsonw_key(w, (struct str){key, klen});
        if (!write_value(L, lua_gettop(L), depth + 1, w, c)) {
            lua_pop(L, 2);
            return false;
        }
        path_pop(c, was);
        lua_pop(L, 1);
    }
    jsonw_object_end(w);
    return true;
}

static bool write_value(lua_State *L, int idx, int depth, struct jsonw *w, struct to_ctx *c)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL: jsonw_null(w); return true;
    case LUA_TBOOLEAN: jsonw_bool(w, lua_toboolean(L, idx)); return true;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            jsonw_int(w, (int64_t)lua_tointeger(L, idx));
            return true;
        }
        if (!isfinite(lua_tonumber(L, idx)))
            return fail(c, "NaN and infinities are not JSON numbers"), false;
        jsonw_double(w, lua_tonumber(L, idx));
        return true;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (!utf8_is_valid(s, len))
            return fail(c, "not UTF-8 text"), false;
        jsonw_string(w, (struct str){s, len});
        return true;
    }
    case LUA_TLIGHTUSERDATA:
        if (core_hooks_is_null(L, idx)) {
            jsonw_null(w);
            return true;
        }
        return fail(c, "not a JSON value (userdata)"), false;
    case LUA_TTABLE: return write_table(L, idx, depth, w, c);
    default: {
        char what[48];
        snprintf(what, sizeof(what), "not a JSON value (%s)", lua_typename(L, lua_type(L, idx)));
        return fail(c, what), false;
    }
    }
}

bool core_hooks_write_json(lua_State *L, int idx, const char *root, struct jsonw *w, char *err,
                           size_t errlen)
{
    struct to_ctx c = {.err = err, .errlen = errlen};
    size_t n = strlen(root);
    n = n < sizeof(c.path) - 1 ? n : sizeof(c.path) - 1;
    memcpy(c.path, root, n); /* on every answer of a route: no printf */
    c.path[n] = '\0';
    c.path_len = n;
    if (err && errlen)
        err[0] = '\0';
    return write_value(L, lua_absindex(L, idx), 0, w, &c);
}

/* ---- tarmac.json ------------------------------------------------------ */

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void write_json(struct jsonw *w, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
        size_t i = 0;
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item)
        {
            keys[i++] = key;
        }
        qsort(keys, n, sizeof(*keys), compare_keys);
        jsonw_object_begin(w);
        for (i = 0; i < n; i++) {
            jsonw_key_cstr(w, keys[i]);
            write_json(w, json_object_get(v, keys[i]));
        }
        jsonw_object_end(w);
        xfree(keys);
        break;
    }
    case JSON_ARRAY:
        jsonw_array_begin(w);
        for (size_t i = 0; i < json_array_size(v); i++)
            write_json(w, json_array_get(v, i));
        jsonw_array_end(w);
        break;
    case JSON_STRING:
        jsonw_string(w, (struct str){json_string_value(v), json_string_length(v)});
        break;
    case JSON_INTEGER: jsonw_int(w, json_integer_value(v)); break;
    case JSON_REAL: jsonw_double(w, json_real_value(v)); break;
    case JSON_TRUE:
    case JSON_FALSE: jsonw_bool(w, json_is_true(v)); break;
    case JSON_NULL: jsonw_null(w); break;
    }
}

struct owned_text {
    const char *p;
    size_t len;
};

static int push_text_protected(lua_State *L)
{
    const struct owned_text *t = lua_touserdata(L, 1);
    lua_pushlstring(L, t->p, t->len);
    return 1;
}

/* tarmac.json.encode(v): compact JSON text, keys sorted. */
static int json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    char err[320];
    json_t *j = core_hooks_to_json(L, 1, err, sizeof(err));
    if (!j)
        return luaL_error(L, "tarmac.json.encode: %s", err);
    struct buf b;
    buf_init(&b, core_hooks_vm_of(L)->memory_max);
    struct jsonw w;
    jsonw_init(&w, &b);
    write_json(&w, j);
    json_decref(j);
    enum rc rc = jsonw_finish(&w);
    if (rc) {
        buf_cleanup(&b);
        return luaL_error(L, "tarmac.json.encode: %s", rc_text(rc));
    }
    /* The text is C memory: push it where a refusal of the cap cannot skip
     * the free below. */
    struct owned_text t = {b.data ? b.data : "", b.len};
    lua_pushcfunction(L, push_text_protected);
    lua_pushlightuserdata(L, &t);
    int st = lua_pcall(L, 1, 1, 0);
    buf_cleanup(&b);
    if (st != LUA_OK)
        return lua_error(L);
    return 1;
}

/* tarmac.json.decode(s): the value; raises on text that is not JSON. */
static int json_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    core_hooks_json_decode(L, (struct str){s, len});
    return 1;
}

/* tarmac.json.array(t): t, marked as an array (so {} encodes as []). */
static int json_array_mark(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    core_hooks_mark_array(L, 1);
    return 1;
}

static const luaL_Reg json_funcs[] = {
    {"encode", json_encode},
    {"decode", json_decode},
    {"array", json_array_mark},
    {NULL, NULL},
};

void core_hooks_json_open(lua_State *L)
{
    /* The array metatable is protected: getmetatable() on an array gives its
     * name, and a script can neither change nor replace it (one table serves
     * every array of the state). */
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "tarmac.array");
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, "tarmac.array");
    lua_setfield(L, -2, "__name");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &array_mt_key);
    luaL_newlib(L, json_funcs);
}
