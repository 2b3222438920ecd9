/* call.h -- one call of a hook function in flight (layer: core, core/hooks/).
 *
 * A call runs in its own coroutine, anchored in the state's registry until
 * the call is freed, so that a C API function (a lua_CFunction the integrator
 * registers) can suspend it with core_hooks_yield() while it waits for the
 * database writer or an HTTP answer, and the owner resumes it later from a
 * libuv callback with core_hooks_call_resume(). While a call runs (between
 * the start or a resume and its return) the state's memory cap applies and
 * its budget counts; time spent suspended does not. A call may start another
 * from a C function it called (a record hook run inside tarmac.records):
 * both count the inner call's time.
 *
 * Included by core/hooks/vm.h; the same thread rules apply (one thread). */
#ifndef TARMAC_CORE_HOOKS_CALL_H
#define TARMAC_CORE_HOOKS_CALL_H

#include <jansson.h>
#include <lua.h>
#include <stdbool.h>

struct core_hooks_vm;
struct core_hooks_call;

enum core_hooks_status { CORE_HOOKS_DONE, CORE_HOOKS_YIELDED, CORE_HOOKS_ERROR };

/* What ended a call in error. */
struct core_hooks_error {
    enum {
        CORE_HOOKS_ERR_SCRIPT,  /* a Lua error (error(), a bad argument, a bad refuse) */
        CORE_HOOKS_ERR_BUDGET,  /* the call ran past the vm's budget_ns */
        CORE_HOOKS_ERR_MEMORY,  /* an allocation would have passed the vm's memory_max */
        CORE_HOOKS_ERR_REFUSED, /* tarmac.refuse() escaped the script */
    } kind;
    char where[256];   /* "orders.lua:12" of the innermost Lua frame that failed, "" if unknown */
    char message[512]; /* the error message (for the log only, never sent to a client); for
                        * REFUSED the message given to tarmac.refuse, for the client */
    int status;        /* REFUSED: 400..599 */
    json_t *data;      /* REFUSED: the field errors; owned by the call; NULL if none */
};

/* Starts a call: the function and its nargs arguments are on top of the main
 * state's stack (core_hooks_vm_lua; popped). Returns the call (never NULL;
 * aborts on no memory like xmalloc) and sets *status:
 *   DONE     the results are on the call's thread (core_hooks_call_thread),
 *            alone on its stack: read them, then free the call;
 *   ERROR    see core_hooks_call_error() and core_hooks_call_log();
 *   YIELDED  a C function suspended it with core_hooks_yield(); the owner
 *            resumes it with core_hooks_call_resume() or drops it with
 *            core_hooks_call_free().
 * Free the call with core_hooks_call_free() in every case. */
struct core_hooks_call *core_hooks_call_start(struct core_hooks_vm *vm, int nargs,
                                              enum core_hooks_status *status);
/* Resumes a YIELDED call with nresults values the caller pushed on the call's
 * thread: they are what the suspended C function returns to the script.
 * Returns the new status, as for core_hooks_call_start(). */
enum core_hooks_status core_hooks_call_resume(struct core_hooks_call *call, int nresults);
/* The call's coroutine: results after DONE; where to push resume values. */
lua_State *core_hooks_call_thread(struct core_hooks_call *call);
/* After ERROR: what happened; valid until the call is freed. */
const struct core_hooks_error *core_hooks_call_error(const struct core_hooks_call *call);
/* After ERROR: one log_warn line with what (the hook's name, caller's words),
 * the kind, where, the message and the Lua traceback. The integrator calls it
 * where it handles the failure; none of it goes to a client. Borrows what. */
void core_hooks_call_log(const struct core_hooks_call *call, const char *what);
/* Frees a call in any state; accepts NULL. A yielded call is abandoned: its
 * to-be-closed variables are closed (under what is left of its budget) and
 * its coroutine is dropped. Frees the vm too when core_hooks_vm_free() was
 * called and this was its last call. */
void core_hooks_call_free(struct core_hooks_call *call);

/* For C API functions (lua_CFunction) that wait: suspends the running call;
 * the function returns what this returns (`return core_hooks_yield(L);`),
 * and when the owner resumes the call, the script sees the values pushed for
 * core_hooks_call_resume() as the function's results. Raises the Lua error
 * "cannot wait here" when L is not the running call's own coroutine or cannot
 * yield there: inside a user coroutine (coroutine.wrap/resume), under a C
 * function that called Lua (table.sort's comparator, string.gsub's
 * replacement, a __tostring run by tostring()), in a required module's main
 * chunk, or while loading scripts. */
int core_hooks_yield(lua_State *L);
/* True when core_hooks_yield(L) would suspend rather than raise. */
bool core_hooks_can_yield(lua_State *L);
/* The call running now in L's state (the innermost one when calls nest), or
 * NULL when none runs (or scripts are loading): what a C API function asks to
 * find its request. Every thread a script runs on belongs to a state's call. */
struct core_hooks_call *core_hooks_call_of(lua_State *L);
/* Attaches an owner pointer (the request waiting on the call); borrowed. */
void core_hooks_call_set_owner(struct core_hooks_call *call, void *owner);
/* The pointer given to core_hooks_call_set_owner(), or NULL. */
void *core_hooks_call_owner(const struct core_hooks_call *call);

#endif
