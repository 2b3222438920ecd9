/* call.c -- see call.h.
 *
 * The budget. A count hook on the call's coroutine (inherited by every
 * coroutine a script creates: lua_newthread copies the creator's hook)
 * looks at the call's budget every CORE_HOOKS_COUNT_STEP instructions. Once it
 * is spent, the hook raises on that thread at every instruction: a script
 * that catches the error (pcall, or an error object it keeps) cannot run a
 * single instruction more, so the error reaches the top whatever it
 * catches. An error raised from a hook leaves hooks off on its thread
 * until a pcall boundary restores them (Lua's allowhook), so once the
 * budget is spent no message handler (xpcall) and no __close (a failed
 * call's, a dead coroutine's) runs: see core/hooks/sandbox.c. The budget is
 * the monotonic clock read coarsely (base/budget.h)
 * between resume and return: a thread CPU clock would need a system call
 * per look.
 *
 * Running threads are found through vm->running (the innermost call), not
 * through the thread: a script's own coroutines have no link back to their
 * call. The registry table at &calls_key maps each live call's coroutine
 * (as a light userdata) to the thread, which anchors it against the
 * collector and lets coroutine.resume tell a call's coroutine. */
#include "core/hooks/call.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/coro.h"
#include "base/alloc.h"
#include "base/log.h"
#include "core/hooks/hooks_int.h"
#include "core/hooks/lib.h"

static const char calls_key = 'c'; /* its address is the registry key */

void core_hooks_call_open(lua_State *L)
{
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &calls_key);
}

bool core_hooks_call_is_thread(lua_State *L, lua_State *co)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &calls_key);
    bool is = lua_rawgetp(L, -1, co) != LUA_TNIL;
    lua_pop(L, 2);
    return is;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct core_hooks_call *call = core_hooks_vm_of(L)->running;
    if (!call || !budget_is_over(&call->budget)) {
        /* A coroutine that ran when an earlier call's budget was spent */
        if (lua_gethookcount(L) != CORE_HOOKS_COUNT_STEP)
            lua_sethook(L, count_hook, LUA_MASKCOUNT, CORE_HOOKS_COUNT_STEP);
        return;
    }
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    char where[256];
    core_hooks_where(L, 0, where, sizeof(where));
    lua_pushfstring(L, "%s%stime budget exceeded", where, where[0] ? ": " : "");
    lua_error(L);
}

struct core_hooks_call *core_hooks_call_new(struct core_hooks_vm *vm, int nargs, bool is_load)
{
    lua_State *L = vm->L;
    bool was = core_hooks_vm_uncap(vm);
    struct core_hooks_call *call = xcalloc(1, sizeof(*call));
    call->vm = vm;
    call->is_load = is_load;
    budget_init(&call->budget, vm->budget_ns);
    lua_State *co;
    if (vm->spare_count) {
        co = vm->spare[--vm->spare_count]; /* anchored still; its hook is set */
    } else {
        co = lua_newthread(L);
        lua_rawgetp(L, LUA_REGISTRYINDEX, &calls_key);
        lua_pushvalue(L, -2);
        lua_rawsetp(L, -2, co);
        lua_pop(L, 2);
        lua_sethook(co, count_hook, LUA_MASKCOUNT, CORE_HOOKS_COUNT_STEP);
    }
    if (!lua_checkstack(co, nargs + 1)) {
        log_error("msg=\"hook call with too many arguments\" nargs=%d", nargs);
        abort();
    }
    lua_xmove(L, co, nargs + 1);
    call->co = co;
    vm->calls_alive++;
    core_hooks_vm_recap(vm, was);
    return call;
}

/* Brackets the time a call's code runs: the cap on, the budget counting,
 * the call the innermost running one. */
struct run_frame {
    struct core_hooks_call *outer;
    bool was_capped;
};

static void enter(struct core_hooks_call *call, struct run_frame *f)
{
    struct core_hooks_vm *vm = call->vm;
    f->outer = vm->running;
    f->was_capped = vm->is_capped;
    vm->running = call;
    vm->is_capped = true;
    budget_resume(&call->budget);
    /* The worker's Lua state is one: a script's database call must not let
     * another request's script run on it meanwhile (PostgreSQL tasks). */
    coro_hold();
}

static void leave(struct core_hooks_call *call, const struct run_frame *f)
{
    coro_release();
    budget_pause(&call->budget);
    call->vm->running = f->outer;
    call->vm->is_capped = f->was_capped;
}

static void copy_text(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* Fills call->error from the error object on top of the coroutine (or the
 * stray yield when st is LUA_YIELD) and keeps the traceback. Runs uncapped. */
static void record_error(struct core_hooks_call *call, int st)
{
    struct core_hooks_vm *vm = call->vm;
    lua_State *co = call->co;
    struct core_hooks_error *e = &call->error;
    lua_checkstack(co, 4);
    core_hooks_where(co, 0, e->where, sizeof(e->where));
    const char *refused_msg = NULL;
    const struct core_hooks_refusal *r =
        st == LUA_YIELD ? NULL : core_hooks_refusal_test(co, -1, &refused_msg);
    size_t len = 0;
    const char *s = lua_type(co, -1) == LUA_TSTRING ? lua_tolstring(co, -1, &len) : NULL;
    if (call->budget.is_over) {
        e->kind = CORE_HOOKS_ERR_BUDGET;
        snprintf(e->message, sizeof(e->message), "time budget of %llu ms exceeded",
                 (unsigned long long)(vm->budget_ns / 1000000));
    } else if (r) {
        e->kind = CORE_HOOKS_ERR_REFUSED;
        e->status = r->status;
        copy_text(e->message, sizeof(e->message), refused_msg, strlen(refused_msg));
        e->data = r->data ? json_incref(r->data) : NULL;
    } else if (st == LUA_ERRMEM ||
               (call->is_memory_refused && s && strcmp(s, "not enough memory") == 0)) {
        /* The second case: a memory error caught and raised again (by a
         * pcall in the script, or by a helper that freed C memory first). */
        e->kind = CORE_HOOKS_ERR_MEMORY;
        snprintf(e->message, sizeof(e->message), "not enough memory (hooks may hold %zu bytes)",
                 vm->memory_max);
    } else {
        e->kind = CORE_HOOKS_ERR_SCRIPT;
        if (st == LUA_YIELD)
            snprintf(e->message, sizeof(e->message),
                     "coroutine.yield outside a coroutine (a hook's own code cannot yield)");
        else if (s)
            copy_text(e->message, sizeof(e->message), s, len);
        else if (lua_type(co, -1) == LUA_TNUMBER && lua_isinteger(co, -1))
            snprintf(e->message, sizeof(e->message), "%lld", (long long)lua_tointeger(co, -1));
        else if (lua_type(co, -1) == LUA_TNUMBER)
            snprintf(e->message, sizeof(e->message), "%.14g", (double)lua_tonumber(co, -1));
        else
            snprintf(e->message, sizeof(e->message), "(error object is a %s value)",
                     luaL_typename(co, -1));
    }
    luaL_traceback(vm->L, co, e->message, 0);
    call->traceback = xstrdup(lua_tostring(vm->L, -1));
    lua_pop(vm->L, 1);
}

/* Closes the to-be-closed variables of the coroutine left by an error or a
 * yield, as coroutine.close does: their __close runs under the budget. Not
 * once the budget is spent (see core_hooks_call_is_over). */
static void close_thread(struct core_hooks_call *call)
{
    if (call->budget.is_over)
        return;
    struct run_frame f;
    enter(call, &f);
    (void)lua_resetthread(call->co);
    leave(call, &f);
}

enum core_hooks_status core_hooks_call_run(struct core_hooks_call *call, int narg)
{
    struct core_hooks_vm *vm = call->vm;
    struct run_frame f;
    call->has_run = true;
    call->is_waiting = false;
    enter(call, &f);
    int nres = 0;
    int st = lua_resume(call->co, f.outer ? f.outer->co : vm->L, narg, &nres);
    leave(call, &f);
    bool was = core_hooks_vm_uncap(vm);
    if (st == LUA_OK) {
        /* Only the results stay on the coroutine's stack. */
        int extra = lua_gettop(call->co) - nres;
        if (extra > 0) {
            lua_rotate(call->co, 1, -extra);
            lua_pop(call->co, extra);
        }
        call->status = CORE_HOOKS_DONE;
    } else if (st == LUA_YIELD && call->is_waiting) {
        call->status = CORE_HOOKS_YIELDED;
    } else {
        record_error(call, st);
        call->status = CORE_HOOKS_ERROR;
        close_thread(call);
    }
    core_hooks_vm_recap(vm, was);
    return call->status;
}

struct core_hooks_call *core_hooks_call_start(struct core_hooks_vm *vm, int nargs,
                                              enum core_hooks_status *status)
{
    struct core_hooks_call *call = core_hooks_call_new(vm, nargs, false);
    *status = core_hooks_call_run(call, nargs);
    return call;
}

enum core_hooks_status core_hooks_call_resume(struct core_hooks_call *call, int nresults)
{
    if (call->status != CORE_HOOKS_YIELDED) {
        log_error("msg=\"hook call resumed while not suspended\" status=%d", (int)call->status);
        abort();
    }
    return core_hooks_call_run(call, nresults);
}

lua_State *core_hooks_call_thread(struct core_hooks_call *call)
{
    return call->co;
}

const struct core_hooks_error *core_hooks_call_error(const struct core_hooks_call *call)
{
    return &call->error;
}

static const char *kind_name(const struct core_hooks_error *e)
{
    static const char *const names[] = {
        [CORE_HOOKS_ERR_SCRIPT] = "script",
        [CORE_HOOKS_ERR_BUDGET] = "budget",
        [CORE_HOOKS_ERR_MEMORY] = "memory",
        [CORE_HOOKS_ERR_REFUSED] = "refused",
    };
    return names[e->kind];
}

void core_hooks_call_log(const struct core_hooks_call *call, const char *what)
{
    if (call->status != CORE_HOOKS_ERROR)
        return;
    const struct core_hooks_error *e = &call->error;
    char message[600];
    char traceback[1200];
    const char *tb = call->traceback ? call->traceback : "";
    core_hooks_log_escape(e->message, strlen(e->message), message, sizeof(message));
    core_hooks_log_escape(tb, strlen(tb), traceback, sizeof(traceback));
    if (e->kind == CORE_HOOKS_ERR_REFUSED)
        log_warn("msg=\"hook refused\" hook=%s kind=%s status=%d where=%s message=\"%s\"", what,
                 kind_name(e), e->status, e->where[0] ? e->where : "?", message);
    else
        log_warn("msg=\"hook failed\" hook=%s kind=%s where=%s error=\"%s\" traceback=\"%s\"", what,
                 kind_name(e), e->where[0] ? e->where : "?", message, traceback);
}

void core_hooks_call_free(struct core_hooks_call *call)
{
    if (!call)
        return;
    struct core_hooks_vm *vm = call->vm;
    if (call->has_run && call->status == CORE_HOOKS_YIELDED)
        close_thread(call);
    bool was = core_hooks_vm_uncap(vm);
    if (call->has_run && call->status == CORE_HOOKS_DONE && !vm->is_freed &&
        lua_status(call->co) == LUA_OK && vm->spare_count < HOOKS_SPARE_THREADS) {
        /* It returned: its stack holds only its results; the next call reuses it. */
        lua_settop(call->co, 0);
        vm->spare[vm->spare_count++] = call->co;
    } else {
        lua_rawgetp(vm->L, LUA_REGISTRYINDEX, &calls_key);
        lua_pushnil(vm->L);
        lua_rawsetp(vm->L, -2, call->co);
        lua_pop(vm->L, 1);
    }
    core_hooks_vm_recap(vm, was);
    json_decref(call->error.data);
    xfree(call->traceback);
    xfree(call);
    vm->calls_alive--;
    core_hooks_vm_release(vm);
}

bool core_hooks_can_yield(lua_State *L)
{
    const struct core_hooks_call *call = core_hooks_vm_of(L)->running;
    return call && !call->is_load && call->co == L && lua_isyieldable(L);
}

int core_hooks_yield(lua_State *L)
{
    if (!core_hooks_can_yield(L))
        return luaL_error(L, "cannot wait here (only in a hook's own code: not inside a "
                             "coroutine, a function called from C, or a module's main chunk)");
    core_hooks_vm_of(L)->running->is_waiting = true;
    return lua_yield(L, 0);
}

bool core_hooks_call_is_over(lua_State *L)
{
    const struct core_hooks_call *call = core_hooks_vm_of(L)->running;
    return call && call->budget.is_over;
}

struct core_hooks_call *core_hooks_call_of(lua_State *L)
{
    return core_hooks_vm_of(L)->running;
}

void core_hooks_call_set_owner(struct core_hooks_call *call, void *owner)
{
    call->owner = owner;
}

void *core_hooks_call_owner(const struct core_hooks_call *call)
{
    return call->owner;
}
