/* lib.c -- see lib.h.
 *
 * Every helper that makes a string a script chose the size of builds it in
 * a luaL_Buffer, so it is state memory under the cap, never C memory a
 * refusal of the cap could leak. */
#include "core/hooks/lib.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/b64.h"
#include "base/chrono.h"
#include "base/log.h"
#include "base/secure.h"
#include "base/utf8.h"
#include "base/str.h"
#include "core/hooks/json.h"

static const char refusal_mt_key = 'r'; /* its address is the registry key */

#define LOG_TEXT_MAX 1024            /* bytes of a script's log message kept */
#define RANDOM_ID_MAX 255            /* tarmac.crypto.random_id(n) */
#define ISO_MS_MAX 253402300799999LL /* 9999-12-31 23:59:59.999 */

char *core_hooks_log_escape(const char *s, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t n = 2;
        esc[0] = '\\';
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
        } else if (c == '\n') {
            esc[1] = 'n';
        } else if (c == '\t') {
            esc[1] = 't';
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        } else {
            esc[0] = (char)c;
            n = 1;
        }
        if (o + n >= outlen)
            break;
        memcpy(out + o, esc, n);
        o += n;
    }
    if (outlen)
        out[o] = '\0';
    return out;
}

void core_hooks_where(lua_State *L, int level, char *out, size_t outlen)
{
    lua_Debug ar;
    if (outlen)
        out[0] = '\0';
    for (; lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
            continue;
        snprintf(out, outlen, "%s:%d", ar.short_src, ar.currentline);
        return;
    }
}

static void push_hex(lua_State *L, const unsigned char *p, size_t len)
{
    luaL_Buffer b;
    char *d = luaL_buffinitsize(L, &b, len * 2);
    str_hex_encode(p, len, d);
    luaL_pushresultsize(&b, len * 2);
}

/* ---- tarmac.crypto ---------------------------------------------------- */

static int crypto_hmac_sha256(lua_State *L)
{
    size_t klen;
    size_t mlen;
    const char *key = luaL_checklstring(L, 1, &klen);
    const char *msg = luaL_checklstring(L, 2, &mlen);
    unsigned char mac[SECURE_HMAC_SHA256_BYTES];
    secure_hmac_sha256((struct str){key, klen}, msg, mlen, mac);
    push_hex(L, mac, sizeof(mac));
    return 1;
}

static int crypto_sha256(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    unsigned char h[32];
    secure_sha256(s, len, h);
    push_hex(L, h, sizeof(h));
    return 1;
}

static int crypto_random_id(lua_State *L)
{
    lua_Integer n = luaL_optinteger(L, 1, 15);
    luaL_argcheck(L, n >= 1 && n <= RANDOM_ID_MAX, 1, "length must be 1..255");
    char id[RANDOM_ID_MAX];
    (void)secure_random_id(id, (size_t)n);
    lua_pushlstring(L, id, (size_t)n);
    return 1;
}

static int crypto_equal(lua_State *L)
{
    size_t alen;
    size_t blen;
    const char *a = luaL_checklstring(L, 1, &alen);
    const char *b = luaL_checklstring(L, 2, &blen);
    lua_pushboolean(L, secure_str_equal((struct str){a, alen}, (struct str){b, blen}));
    return 1;
}

static const luaL_Reg crypto_funcs[] = {
    {"hmac_sha256", crypto_hmac_sha256},
    {"sha256", crypto_sha256},
    {"random_id", crypto_random_id},
    {"equal", crypto_equal},
    {NULL, NULL},
};

/* ---- tarmac.base64 ---------------------------------------------------- */

/* The variant named by the optional argument at idx: "std" (padded, the
 * default) or "url" (URL-safe, unpadded: JWT segments). */
static enum b64_variant check_variant(lua_State *L, int idx)
{
    static const char *const names[] = {"std", "url", NULL};
    static const enum b64_variant variants[] = {B64_STD_PAD, B64_URL};
    return variants[luaL_checkoption(L, idx, "std", names)];
}

static int base64_encode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    enum b64_variant v = check_variant(L, 2);
    size_t n = b64_encoded_len(v, len);
    if (n == SIZE_MAX)
        return luaL_error(L, "tarmac.base64.encode: too large");
    luaL_Buffer b;
    char *d = luaL_buffinitsize(L, &b, n);
    luaL_pushresultsize(&b, b64_encode(v, s, len, d));
    return 1;
}

static int base64_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    enum b64_variant v = check_variant(L, 2);
    size_t cap = b64_decoded_max(len);
    luaL_Buffer b;
    char *d = luaL_buffinitsize(L, &b, cap);
    size_t n = 0;
    if (b64_decode(v, (struct str){s, len}, d, cap, &n) != RC_OK)
        return luaL_error(L, "tarmac.base64.decode: not base64 (%s)", v == B64_URL ? "url" : "std");
    luaL_pushresultsize(&b, n);
    return 1;
}

static const luaL_Reg base64_funcs[] = {
    {"encode", base64_encode},
    {"decode", base64_decode},
    {NULL, NULL},
};

/* ---- tarmac.time ------------------------------------------------------ */

static int time_now(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)chrono_real_ms());
    return 1;
}

static int time_iso(lua_State *L)
{
    lua_Integer ms;
    if (lua_isnoneornil(L, 1)) {
        ms = (lua_Integer)chrono_real_ms();
    } else if (lua_isinteger(L, 1)) {
        ms = lua_tointeger(L, 1);
    } else {
        lua_Number f = luaL_checknumber(L, 1);
        luaL_argcheck(L, isfinite(f) && f >= 0 && f <= (lua_Number)ISO_MS_MAX, 1,
                      "milliseconds out of range");
        ms = (lua_Integer)floor(f);
    }
    luaL_argcheck(L, ms >= 0 && ms <= ISO_MS_MAX, 1, "milliseconds out of range");
    char out[32];
    int n = chrono_format_db_ms((int64_t)ms, out);
    lua_pushlstring(L, out, (size_t)n);
    return 1;
}

static const luaL_Reg time_funcs[] = {
    {"now", time_now},
    {"iso", time_iso},
    {NULL, NULL},
};

/* ---- tarmac.log and print --------------------------------------------- */

/* Logs the arguments joined by tabs (tostring'd: a __tostring runs, under
 * the budget) with the script's place. */
static void log_args(lua_State *L, enum log_level level)
{
    if (!log_enabled(level))
        return;
    char where[256];
    core_hooks_where(L, 1, where, sizeof(where));
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    char escaped[LOG_TEXT_MAX];
    core_hooks_log_escape(text, len, escaped, sizeof(escaped));
    log_write(level, "msg=\"hook log\" script=%s text=\"%s\"", where[0] ? where : "?", escaped);
}

static int log_info_l(lua_State *L)
{
    log_args(L, LOG_INFO);
    return 0;
}

static int log_warn_l(lua_State *L)
{
    log_args(L, LOG_WARN);
    return 0;
}

static int log_error_l(lua_State *L)
{
    log_args(L, LOG_ERROR);
    return 0;
}

static const luaL_Reg log_funcs[] = {
    {"info", log_info_l},
    {"warn", log_warn_l},
    {"error", log_error_l},
    {NULL, NULL},
};

/* ---- tarmac.refuse ---------------------------------------------------- */

static int refusal_gc(lua_State *L)
{
    struct core_hooks_refusal *r = lua_touserdata(L, 1);
    json_decref(r->data);
    r->data = NULL;
    return 0;
}

static int refusal_tostring(lua_State *L)
{
    const char *message = "";
    const struct core_hooks_refusal *r = core_hooks_refusal_test(L, 1, &message);
    lua_pushfstring(L, "refused: %d %s", r ? r->status : 0, message);
    return 1;
}

const struct core_hooks_refusal *core_hooks_refusal_test(lua_State *L, int idx,
                                                         const char **message)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx))
        return NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &refusal_mt_key);
    bool is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!is)
        return NULL;
    if (message) {
        lua_getiuservalue(L, idx, 1);
        *message = lua_tostring(L, -1); /* the userdata keeps the string alive */
        lua_pop(L, 1);
    }
    return lua_touserdata(L, idx);
}

/* tarmac.refuse(status, message [, data]): ends the call with status,
 * message and field errors for the client (a pcall can catch it). */
static int refuse(lua_State *L)
{
    lua_Integer status = luaL_checkinteger(L, 1);
    size_t mlen;
    const char *message = luaL_optlstring(L, 2, "", &mlen);
    if (status < 400 || status > 599)
        return luaL_error(L, "tarmac.refuse: status %d is not 400..599", (int)status);
    if (!utf8_is_valid(message, mlen))
        return luaL_error(L, "tarmac.refuse: the message is not UTF-8 text");
    lua_settop(L, 3);
    lua_pushlstring(L, message, mlen); /* a string even when none was given */
    lua_replace(L, 2);
    struct core_hooks_refusal *r = lua_newuserdatauv(L, sizeof(*r), 1);
    r->status = (int)status;
    r->data = NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &refusal_mt_key);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, 1);
    if (!lua_isnil(L, 3)) {
        /* Converted now, so a bad table fails where it is given. */
        char err[320];
        r->data = core_hooks_to_json_named(L, 3, "data", err, sizeof(err));
        if (!r->data)
            return luaL_error(L, "tarmac.refuse: %s", err);
        if (!json_is_object(r->data))
            return luaL_error(L, "tarmac.refuse: data must be a table of field errors");
    }
    return lua_error(L);
}

/* A caught refusal reads as {status, message, data} (read-only: the fields
 * live in the userdata). */
static int refusal_index(lua_State *L)
{
    const char *message = "";
    const struct core_hooks_refusal *r = core_hooks_refusal_test(L, 1, &message);
    const char *key = luaL_checkstring(L, 2);
    if (!strcmp(key, "status"))
        lua_pushinteger(L, r->status);
    else if (!strcmp(key, "message"))
        lua_pushstring(L, message);
    else if (!strcmp(key, "data") && r->data && core_hooks_push_json(L, r->data) == RC_OK)
        ; /* pushed */
    else
        lua_pushnil(L);
    return 1;
}

static const luaL_Reg refusal_meta[] = {
    {"__gc", refusal_gc},
    {"__tostring", refusal_tostring},
    {"__index", refusal_index},
    {NULL, NULL},
};

/* ---- the tarmac table ------------------------------------------------- */

static void set_lib(lua_State *L, const char *name, const luaL_Reg *funcs)
{
    lua_newtable(L);
    luaL_setfuncs(L, funcs, 0);
    lua_setfield(L, -2, name);
}

void core_hooks_lib_open(lua_State *L)
{
    luaL_newlibtable(L, refusal_meta);
    luaL_setfuncs(L, refusal_meta, 0);
    lua_pushliteral(L, "tarmac.refusal");
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, "tarmac.refusal");
    lua_setfield(L, -2, "__name");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &refusal_mt_key);

    lua_createtable(L, 0, 8);
    core_hooks_push_null(L);
    lua_setfield(L, -2, "null");
    core_hooks_json_open(L);
    lua_setfield(L, -2, "json");
    set_lib(L, "crypto", crypto_funcs);
    set_lib(L, "base64", base64_funcs);
    set_lib(L, "time", time_funcs);
    set_lib(L, "log", log_funcs);
    lua_pushcfunction(L, refuse);
    lua_setfield(L, -2, "refuse");
    lua_setglobal(L, "tarmac");

    lua_pushcfunction(L, log_info_l);
    lua_setglobal(L, "print");
}
