/* http.c -- tarmac.http.request: outbound HTTP from scripts (docs/hooks.md).
 *
 * The request runs on a pool of threads of its own (net/http_out.h is
 * blocking; the app's offload pool is for CPU work such as password hashes,
 * and a slow remote must not hold it), while the script's coroutine waits:
 * the worker's loop serves other requests meanwhile, and the answer resumes
 * the script on that loop. The same rules as webhooks: http and https only,
 * no redirects, private addresses refused unless --allow-private-network. */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/hooks/json.h"
#include "core/hooks/run_int.h"
#include "net/http_out.h"
#include "net/offload.h"

#define MAX_RESPONSE (8u << 20)
#define MAX_TIMEOUT_MS 60000

struct http_call {
    struct hooks_run *run;
    struct net_http_out_req req;
    struct net_http_out_resp resp;
    struct buf response;
    char *method;
    char *url;
    char *body;
    char *headers[NET_HTTP_OUT_MAX_HEADERS];
};

static void call_free(struct http_call *hc)
{
    xfree(hc->method);
    xfree(hc->url);
    xfree(hc->body);
    for (size_t i = 0; i < hc->req.header_count; i++)
        xfree(hc->headers[i]);
    buf_cleanup(&hc->response);
    xfree(hc);
}

static void work(void *ctx)
{
    struct http_call *hc = ctx;
    net_http_out_send(&hc->req, &hc->resp);
}

static const char *const fail_words[] = {
    [NET_HTTP_OUT_OK] = "",
    [NET_HTTP_OUT_REFUSED] = "refused: a private address",
    [NET_HTTP_OUT_TIMEOUT] = "timeout",
    [NET_HTTP_OUT_NETWORK] = "network error",
    [NET_HTTP_OUT_BAD_URL] = "not an http(s) URL",
    [NET_HTTP_OUT_TOO_LARGE] = "the response is too large",
};

/* Back on the loop: (response, nil) or (nil, why). */
static void done(enum rc rc, void *ctx)
{
    struct http_call *hc = ctx;
    struct hooks_run *run = hc->run;
    lua_State *co = core_hooks_call_thread(run->call);
    if (rc) {
        lua_pushnil(co);
        lua_pushstring(co, "busy: too many requests wait for a thread");
    } else if (hc->resp.fail != NET_HTTP_OUT_OK) {
        lua_pushnil(co);
        lua_pushfstring(co, "%s%s%s", fail_words[hc->resp.fail], hc->resp.error[0] ? ": " : "",
                        hc->resp.error);
    } else {
        lua_createtable(co, 0, 3);
        lua_pushinteger(co, hc->resp.status);
        lua_setfield(co, -2, "status");
        lua_pushlstring(co, hc->response.data ? hc->response.data : "", hc->response.len);
        lua_setfield(co, -2, "body");
        json_t *v = hc->response.len
                        ? json_loadb(hc->response.data, hc->response.len, JSON_DECODE_ANY, NULL)
                        : NULL;
        if (v && core_hooks_push_json(co, v) == RC_OK)
            lua_setfield(co, -2, "json");
        json_decref(v);
        lua_pushnil(co);
    }
    call_free(hc);
    hooks_run_resume(run, 2);
}

static char *opt_string(lua_State *L, int opts, const char *key, const char *def)
{
    lua_getfield(L, opts, key);
    const char *s = lua_isnil(L, -1) ? def : lua_tostring(L, -1);
    if (!s && !lua_isnil(L, -1))
        luaL_error(L, "tarmac.http.request: %s is a string", key);
    char *out = s ? xstrdup(s) : NULL;
    lua_pop(L, 1);
    return out;
}

/* tarmac.http.request{url=, method=, headers=, body=, timeout=} ->
 * {status, body, json} or nil, why. Waits without blocking the loop. */
static int l_request(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    struct hooks_run *run = hooks_run_of(L);
    if (!run || run->db || run->cannot_wait || !run->r || !run->r->cw)
        return luaL_error(L, "tarmac.http.request: only in a route or an after hook (a before "
                             "hook runs inside a write: enqueue the call from an after hook)");
    if (!core_hooks_can_yield(L))
        return luaL_error(L, "tarmac.http.request: cannot wait here (inside a coroutine or a "
                             "metamethod)");
    lua_getfield(L, 1, "url");
    if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "tarmac.http.request: url is a string");
    lua_pop(L, 1);
    lua_getfield(L, 1, "method");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "tarmac.http.request: method is a string");
    lua_pop(L, 1);
    lua_getfield(L, 1, "timeout");
    lua_Integer timeout = lua_isnil(L, -1) ? 10000 : lua_tointeger(L, -1);
    if (timeout <= 0 || timeout > MAX_TIMEOUT_MS)
        return luaL_error(L, "tarmac.http.request: timeout is 1..60000 ms");
    lua_pop(L, 1);
    /* Everything that can raise is checked before anything is allocated. */
    lua_getfield(L, 1, "headers");
    int headers = lua_gettop(L);
    size_t nheaders = 0;
    if (!lua_isnil(L, headers)) {
        luaL_checktype(L, headers, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, headers)) {
            size_t nlen, vlen;
            const char *n = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &nlen) : NULL;
            const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &vlen) : NULL;
            if (!n || !v || !nlen || memchr(n, ':', nlen) || strpbrk(n, "\r\n") ||
                strpbrk(v, "\r\n") || strlen(n) != nlen || strlen(v) != vlen)
                return luaL_error(L, "tarmac.http.request: headers are names to string values");
            if (++nheaders >= NET_HTTP_OUT_MAX_HEADERS)
                return luaL_error(L, "tarmac.http.request: at most 31 headers");
            lua_pop(L, 1);
        }
    }
    lua_getfield(L, 1, "body");
    int body = lua_gettop(L);
    json_t *json_body = NULL;
    if (lua_type(L, body) == LUA_TTABLE) {
        char err[256];
        json_body = core_hooks_to_json(L, body, err, sizeof(err));
        if (!json_body)
            return luaL_error(L, "tarmac.http.request: body: %s", err);
    } else if (!lua_isnil(L, body) && lua_type(L, body) != LUA_TSTRING) {
        return luaL_error(L, "tarmac.http.request: body is a string or a table (JSON)");
    }
    struct http_call *hc = xcalloc(1, sizeof(*hc));
    hc->run = run;
    hc->method = opt_string(L, 1, "method", "GET");
    hc->url = opt_string(L, 1, "url", NULL);
    size_t body_len = 0;
    if (json_body) {
        hc->body = json_dumps(json_body, JSON_COMPACT);
        json_decref(json_body);
        body_len = hc->body ? strlen(hc->body) : 0;
        hc->headers[hc->req.header_count++] = xstrdup("Content-Type: application/json");
    } else if (lua_type(L, body) == LUA_TSTRING) {
        const char *b = lua_tolstring(L, body, &body_len);
        hc->body = xmalloc(body_len + 1);
        memcpy(hc->body, b, body_len + 1);
    }
    if (nheaders) {
        lua_pushnil(L);
        while (lua_next(L, headers)) {
            const char *n = lua_tostring(L, -2), *v = lua_tostring(L, -1);
            size_t len = strlen(n) + strlen(v) + 3;
            char *h = xmalloc(len);
            snprintf(h, len, "%s: %s", n, v);
            hc->headers[hc->req.header_count++] = h;
            lua_pop(L, 1);
        }
    }
    for (size_t i = 0; i < hc->req.header_count; i++)
        hc->req.headers[i] = hc->headers[i];
    buf_init(&hc->response, MAX_RESPONSE);
    hc->req.method = hc->method;
    hc->req.url = hc->url;
    hc->req.body = (struct str){hc->body ? hc->body : "", body_len};
    hc->req.timeout_ms = timeout;
    hc->req.allow_private_network = hooks_allow_private_network(run->h);
    hc->req.response = &hc->response;
    enum rc rc = net_offload_submit(hooks_http_pool(run->h), run->r->cw->mailbox, work, done, hc);
    if (rc) {
        call_free(hc);
        lua_pushnil(L);
        lua_pushstring(L, "busy: too many requests wait for a thread");
        return 2;
    }
    return core_hooks_yield(L); /* done() resumes with (response, nil) or (nil, why) */
}

void hooks_http_open(lua_State *L)
{
    static const luaL_Reg fns[] = {{"request", l_request}, {NULL, NULL}};
    lua_getglobal(L, "tarmac");
    luaL_newlib(L, fns);
    lua_setfield(L, -2, "http");
    lua_pop(L, 1);
}
