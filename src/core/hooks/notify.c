/* notify.c -- tarmac.mail and tarmac.realtime: what scripts send out
 * (docs/hooks.md).
 *
 * A mail is an `email` job of the queue (sent by a runner, retried through
 * an SMTP outage; in a before hook it is written in the write's transaction
 * and goes out only if the write commits). A realtime message goes to every
 * worker, which hands it to its own clients subscribed to the topic, at
 * once: so it is refused in a before hook, whose write may still roll back. */
#include <lauxlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonw.h"
#include "core/hooks/json.h"
#include "core/hooks/run_int.h"
#include "core/realtime/realtime.h"
#include "core/schema/collection.h"
#include "net/mailer.h"

#define MAX_TOPIC 2500 /* a subscription's length, CORE_RT_MAX_SUB_LEN */
#define MAX_MESSAGE (1u << 20)

/* The run of the call on L, refused where sending is not allowed. */
static struct hooks_run *sender_run(lua_State *L, const char *fn)
{
    struct hooks_run *run = hooks_run_of(L);
    if (!run)
        luaL_error(L, "%s: only inside a route, a hook or a job", fn);
    if (run->db)
        luaL_error(L,
                   "%s: not in a before hook (its write may still roll back): publish from an "
                   "after hook",
                   fn);
    return run;
}

/* Raises rc with message as tarmac.refuse does (pcall catches it). */
static int refuse(lua_State *L, enum rc rc, const char *message)
{
    struct core_problem p;
    core_problem_init(&p);
    core_problem_message(&p, message);
    return hooks_raise_problem(L, rc, &p);
}

/* msg[key] as a string; NULL when absent and not required. */
static const char *field(lua_State *L, int msg, const char *key, bool is_required)
{
    lua_getfield(L, msg, key);
    const char *v = NULL;
    if (lua_type(L, -1) == LUA_TSTRING)
        v = lua_tostring(L, -1); /* alive in msg */
    else if (!lua_isnil(L, -1) || is_required)
        luaL_error(L, "tarmac.mail.send: msg.%s is a string", key);
    lua_pop(L, 1);
    return v;
}

/* _check(msg) -> the email job's payload, or a refusal (a 400 for a bad
 * address, subject or body, a 413 past the sizes). */
static int l_mail_check(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *to = field(L, 1, "to", true);
    const char *subject = field(L, 1, "subject", true);
    const char *text = field(L, 1, "text", false);
    const char *html = field(L, 1, "html", false);
    if (!text && !html)
        return luaL_error(L, "tarmac.mail.send: msg.text or msg.html is required");
    switch (net_mailer_check(to, subject, text ? text : "", html)) {
    case RC_OK: break;
    case RC_TOO_LARGE: return refuse(L, RC_TOO_LARGE, "The mail was not sent: it is too large.");
    default:
        return refuse(L, RC_INVALID,
                      "The mail was not sent: the address, subject or body is not valid.");
    }
    lua_createtable(L, 0, 4);
    lua_pushstring(L, to);
    lua_setfield(L, -2, "to");
    lua_pushstring(L, subject);
    lua_setfield(L, -2, "subject");
    lua_pushstring(L, text ? text : "");
    lua_setfield(L, -2, "text");
    if (html) {
        lua_pushstring(L, html);
        lua_setfield(L, -2, "html");
    }
    return 1;
}

/* A mail is an `email` job (core/jobs/email_kind.h): durable, retried, and
 * in a before hook written in the write's transaction, so it goes out only
 * if the write commits. */
static const char mail_wrapper[] = "local check = tarmac.mail._check\n"
                                   "tarmac.mail._check = nil\n"
                                   "function tarmac.mail.send(msg)\n"
                                   "  return tarmac.jobs.enqueue('email', check(msg))\n"
                                   "end\n";

/* Why topic cannot be a custom topic, NULL when it can: it must not be
 * empty, hold '?' or a control character, start with '@' (the server's own
 * topics) or begin with a collection's name or id (its record events). */
static const char *topic_problem(const struct core_schema *schema, const char *topic, size_t len)
{
    if (len == 0 || len > MAX_TOPIC)
        return "is empty or longer than 2500 bytes";
    if (topic[0] == '@')
        return "starts with @ (the server's own topics)";
    for (size_t i = 0; i < len; i++) {
        if (topic[i] == '?' || (unsigned char)topic[i] < 0x20 || topic[i] == 0x7f)
            return "holds '?' or a control character";
    }
    size_t head = strcspn(topic, "/");
    if (schema && core_schema_find(schema, (struct str){topic, head}))
        return "begins with a collection's name or id (its record events use it)";
    return NULL;
}

/* tarmac.realtime.publish(topic, data [, {to = record or req.auth}]) */
static int l_publish(lua_State *L)
{
    struct hooks_run *run = sender_run(L, "tarmac.realtime.publish");
    size_t len;
    const char *topic = luaL_checklstring(L, 1, &len);
    luaL_checkany(L, 2);
    const char *problem = topic_problem(run->r->schema, topic, len);
    if (problem)
        return luaL_error(L, "tarmac.realtime.publish: the topic %s", problem);
    const char *to_collection = NULL, *to_id = NULL;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "to");
        if (!lua_isnil(L, -1)) {
            if (!lua_istable(L, -1))
                return luaL_error(L, "tarmac.realtime.publish: opts.to is a record (a table "
                                     "with collectionId and id)");
            lua_getfield(L, -1, "collectionId");
            lua_getfield(L, -2, "id");
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "tarmac.realtime.publish: opts.to needs collectionId and id "
                                     "(a record as the API renders it, or req.auth)");
            to_collection = lua_tostring(L, -2); /* alive in opts.to */
            to_id = lua_tostring(L, -1);
            lua_pop(L, 2);
        }
        lua_pop(L, 1);
    }
    struct buf b;
    buf_init(&b, MAX_MESSAGE);
    struct jsonw w;
    jsonw_init(&w, &b);
    char err[256];
    bool ok = core_hooks_write_json(L, 2, "data", &w, err, sizeof(err));
    enum rc rc = ok ? jsonw_finish(&w) : RC_INVALID;
    if (rc == RC_OK && buf_append(&b, "", 1) == RC_OK) {
        struct core_worker *cw = run->r->cw;
        if (cw && cw->realtime)
            core_realtime_publish(cw->realtime, topic, b.data, to_collection, to_id);
        buf_cleanup(&b);
        return 0;
    }
    buf_cleanup(&b);
    if (!ok)
        return luaL_error(L, "tarmac.realtime.publish: %s", err);
    return luaL_error(L, "tarmac.realtime.publish: data is larger than 1 MiB");
}

enum rc hooks_notify_open(struct core_hooks_vm *vm, char *err, size_t errlen)
{
    static const luaL_Reg mail[] = {{"_check", l_mail_check}, {NULL, NULL}};
    static const luaL_Reg realtime[] = {{"publish", l_publish}, {NULL, NULL}};
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, "tarmac");
    luaL_newlib(L, mail);
    lua_setfield(L, -2, "mail");
    luaL_newlib(L, realtime);
    lua_setfield(L, -2, "realtime");
    lua_pop(L, 1);
    return core_hooks_vm_load_string(vm, "=tarmac.mail", str_from_cstr(mail_wrapper), err, errlen);
}
