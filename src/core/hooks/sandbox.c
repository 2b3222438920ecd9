/* sandbox.c -- see sandbox.h.
 *
 * A wrapper checks its arguments and then calls the library's own function,
 * kept as its upvalue, with all of them: error messages and results stay
 * the library's. None of the wrapped functions yields, so calling them with
 * lua_call (which a yield could not cross) takes nothing away. */
#include "core/hooks/sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include "core/hooks/hooks_int.h"

/* Calls upvalue 1 with every argument; returns all its results. */
static int call_original(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Replaces t[name] (t on top of the stack) with fn closing over the old value. */
static void wrap_field(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, name);
}

/* load's reader function, in front of the script's (upvalue 1), counting
 * the bytes it gave (upvalue 2) against CORE_HOOKS_LOAD_CHUNK_MAX. */
static int counted_reader(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 0, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
        lua_Integer n = lua_tointeger(L, lua_upvalueindex(2)) + (lua_Integer)lua_rawlen(L, -1);
        if (n > CORE_HOOKS_LOAD_CHUNK_MAX)
            return luaL_error(L, "chunk over %d bytes", CORE_HOOKS_LOAD_CHUNK_MAX);
        lua_pushinteger(L, n);
        lua_replace(L, lua_upvalueindex(2));
    }
    return 1;
}

static int load_text_only(lua_State *L)
{
    /* load(chunk [, chunkname [, mode [, env]]]): the env argument counts
     * when present, even as nil, so keep the argument count. */
    int n = lua_gettop(L) >= 4 ? 4 : 3;
    lua_settop(L, n);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    /* Compiling runs in C, where the budget's hook does not: bound it. */
    if (lua_type(L, 1) == LUA_TSTRING && lua_rawlen(L, 1) > CORE_HOOKS_LOAD_CHUNK_MAX) {
        lua_pushnil(L);
        lua_pushfstring(L, "chunk over %d bytes", CORE_HOOKS_LOAD_CHUNK_MAX);
        return 2;
    }
    if (lua_type(L, 1) == LUA_TFUNCTION) {
        lua_pushvalue(L, 1);
        lua_pushinteger(L, 0);
        lua_pushcclosure(L, counted_reader, 2);
        lua_replace(L, 1);
    }
    return call_original(L);
}

static int setmetatable_no_gc(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        /* Lua marks an object for finalization when its metatable has a
         * __gc field at this moment (one added later is ignored), and
         * looks it up raw: so do we. */
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc is not available in hooks");
        lua_pop(L, 1);
    }
    return call_original(L);
}

static int collectgarbage_count(lua_State *L)
{
    const char *opt = luaL_optstring(L, 1, "collect");
    if (strcmp(opt, "count") != 0)
        return luaL_error(L, "collectgarbage: only \"count\" is available in hooks");
    int kb = lua_gc(L, LUA_GCCOUNT);
    int bytes = lua_gc(L, LUA_GCCOUNTB);
    lua_pushnumber(L, (lua_Number)kb + (lua_Number)bytes / 1024.0);
    return 1;
}

static bool has_specials(const char *p, size_t len)
{
    /* lstrlib.c's SPECIALS: a pattern without them is matched as plain text */
    for (size_t i = 0; i < len; i++) {
        if (strchr("^$*+?.([%-", p[i]) && p[i] != '\0')
            return true;
    }
    return false;
}

static int guard_subject(lua_State *L, bool can_be_plain)
{
    size_t slen;
    size_t plen;
    luaL_checklstring(L, 1, &slen);
    const char *p = luaL_checklstring(L, 2, &plen);
    bool is_literal = (can_be_plain && lua_toboolean(L, 4)) || !has_specials(p, plen);
    if (slen > CORE_HOOKS_PATTERN_SUBJECT_MAX && !is_literal)
        return luaL_error(L,
                          "pattern matching on a subject over %d bytes is refused in hooks "
                          "(use string.find with plain = true, or split the text)",
                          CORE_HOOKS_PATTERN_SUBJECT_MAX);
    /* Literal text is sought position by position, each compared up to the
     * pattern's length: a long pattern in a long subject is slow too. */
    if (slen > CORE_HOOKS_PATTERN_SUBJECT_MAX && plen > CORE_HOOKS_PATTERN_WORK_MAX / slen)
        return luaL_error(L, "a %d-byte pattern in a %d-byte subject is refused in hooks",
                          (int)plen, (int)(slen > INT32_MAX ? INT32_MAX : slen));
    return call_original(L);
}

static int guard_find(lua_State *L)
{
    return guard_subject(L, true);
}

static int guard_other(lua_State *L)
{
    return guard_subject(L, false);
}

static int guard_call_thread(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);
    if (co && core_hooks_call_is_thread(L, co))
        return luaL_error(L, "a hook call's own coroutine cannot be resumed or closed");
    return call_original(L);
}

static int guard_close(lua_State *L)
{
    if (core_hooks_call_is_over(L))
        return luaL_error(L, "time budget exceeded");
    return guard_call_thread(L);
}

/* xpcall's message handler, in front of the script's (upvalue 1): skipped
 * once the budget is spent, when Lua would run it with hooks off. */
static int guarded_handler(lua_State *L)
{
    if (core_hooks_call_is_over(L)) {
        lua_settop(L, 1);
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int xpcall_guarded(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guarded_handler, 1);
    lua_replace(L, 2);
    return call_original(L);
}

/* coroutine.wrap's function, as lcorolib.c's auxwrap but for one thing: a
 * coroutine that died of the spent budget is not reset, since resetting
 * runs its __close with hooks off. Upvalue 1: the coroutine. */
static int wrapped_resume(lua_State *L)
{
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int narg = lua_gettop(L);
    int st = lua_status(co);
    if ((st == LUA_OK && lua_gettop(co) == 0) || (st != LUA_OK && st != LUA_YIELD))
        return luaL_error(L, "cannot resume dead coroutine");
    if (!lua_checkstack(co, narg))
        return luaL_error(L, "too many arguments to resume");
    lua_xmove(L, co, narg);
    int nres;
    st = lua_resume(co, L, narg, &nres);
    if (st == LUA_OK || st == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            return luaL_error(L, "too many results to resume");
        }
        lua_xmove(co, L, nres);
        return nres;
    }
    lua_xmove(co, L, 1); /* the error object */
    st = lua_status(co);
    if (st != LUA_OK && st != LUA_YIELD && !core_hooks_call_is_over(L)) {
        st = lua_resetthread(co); /* close its tbc variables */
        lua_xmove(co, L, 1);
    }
    if (st != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

static int coroutine_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, wrapped_resume, 1);
    return 1;
}

/* table.move(a1, f, e, t [, a2]) copies e - f + 1 elements in C; more
 * than the memory cap could hold are nils or a runaway count. */
static int table_move_bounded(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer max = (lua_Integer)(core_hooks_vm_of(L)->memory_max / 16);
    if (e >= f && (f < 0 ? e >= max + f : e - f >= max))
        return luaL_error(L, "table.move: more than %I elements", max);
    return call_original(L);
}

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
    luaL_requiref(L, name, open, 1);
    lua_pop(L, 1);
}

static void open_os(lua_State *L)
{
    static const char *const kept[] = {"time", "clock", "date", "difftime"};
    lua_pushcfunction(L, luaopen_os);
    lua_call(L, 0, 1);
    lua_createtable(L, 0, 4);
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        lua_getfield(L, -2, kept[i]);
        lua_setfield(L, -2, kept[i]);
    }
    lua_setglobal(L, "os");
    lua_pop(L, 1);
}

void core_hooks_sandbox_open(lua_State *L)
{
    open_lib(L, LUA_GNAME, luaopen_base);
    open_lib(L, LUA_COLIBNAME, luaopen_coroutine);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, LUA_UTF8LIBNAME, luaopen_utf8);
    open_os(L);

    lua_pushglobaltable(L);
    static const char *const removed[] = {"dofile", "loadfile", "warn", "require"};
    for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, removed[i]);
    }
    wrap_field(L, "load", load_text_only);
    wrap_field(L, "setmetatable", setmetatable_no_gc);
    wrap_field(L, "xpcall", xpcall_guarded);
    lua_pushcfunction(L, collectgarbage_count);
    lua_setfield(L, -2, "collectgarbage");
    lua_pop(L, 1);

    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    wrap_field(L, "find", guard_find);
    wrap_field(L, "match", guard_other);
    wrap_field(L, "gmatch", guard_other);
    wrap_field(L, "gsub", guard_other);
    lua_pop(L, 1);
    /* The strings' metatable: its __index is the string table above, but a
     * script must neither read it (getmetatable("") is false) nor change
     * what every string's methods are. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    lua_getglobal(L, LUA_TABLIBNAME);
    wrap_field(L, "move", table_move_bounded);
    lua_pop(L, 1);

    lua_getglobal(L, LUA_COLIBNAME);
    wrap_field(L, "resume", guard_call_thread);
    wrap_field(L, "close", guard_close);
    lua_pushcfunction(L, coroutine_wrap);
    lua_setfield(L, -2, "wrap");
    lua_pop(L, 1);
}
