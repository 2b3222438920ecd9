/* hooks_int.h -- what the files of core/hooks/ share and nothing else
 * includes: the state and call structs, the registry keys (layer: core,
 * core/hooks/). */
#ifndef TARMAC_CORE_HOOKS_HOOKS_INT_H
#define TARMAC_CORE_HOOKS_HOOKS_INT_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/budget.h"
#include "base/rc.h"
#include "base/str.h"
#include "core/hooks/call.h"

/* Instructions between two looks at the clock: a look costs a coarse clock
 * read (tens of ns), 1000 instructions a few microseconds. */
#define CORE_HOOKS_COUNT_STEP 1000

#define HOOKS_SPARE_THREADS 8

struct core_hooks_vm {
    lua_State *L;
    size_t memory_used;                     /* bytes Lua holds, as its allocator calls report */
    size_t memory_max;                      /* the cap while a call runs */
    uint64_t budget_ns;                     /* each call's budget */
    bool is_capped;                         /* a call runs: the cap applies, try_realloc */
    bool is_starting;                       /* core_hooks_vm_new: try_realloc, no cap */
    struct core_hooks_call *running;        /* innermost call running now, or NULL */
    char *dir;                              /* for require(); NULL before load_dir */
    const struct core_hooks_source *source; /* the files as read once, or NULL (borrowed) */
    unsigned calls_alive;                   /* calls not yet freed */
    /* Coroutines of calls that returned, kept (anchored in the calls table)
     * for the next calls: a new one costs a lua_State and its stack. */
    lua_State *spare[HOOKS_SPARE_THREADS];
    unsigned spare_count;
    bool is_freed; /* core_hooks_vm_free was called; close with the last call */
};

struct core_hooks_call {
    struct core_hooks_vm *vm;
    lua_State *co;
    struct budget budget;
    enum core_hooks_status status;
    bool is_load;           /* a script's main chunk (load_dir/load_string): cannot wait */
    bool is_waiting;        /* suspended by core_hooks_yield, not by coroutine.yield */
    bool has_run;           /* started: status is meaningful */
    bool is_memory_refused; /* the cap refused an allocation while it ran */
    void *owner;
    struct core_hooks_error error;
    char *traceback; /* after ERROR; owned */
};

/* The vm a thread of its state belongs to: every thread copies the main
 * thread's extra space when it is created (lua_newthread). */
static inline struct core_hooks_vm *core_hooks_vm_of(lua_State *L)
{
    return *(struct core_hooks_vm **)lua_getextraspace(L);
}

/* The cap off while core/hooks/ does its own work on the state (anchoring a
 * call, copying an error out), so that bookkeeping never raises: returns the
 * previous setting for core_hooks_vm_recap. */
static inline bool core_hooks_vm_uncap(struct core_hooks_vm *vm)
{
    bool was = vm->is_capped;
    vm->is_capped = false;
    return was;
}
static inline void core_hooks_vm_recap(struct core_hooks_vm *vm, bool was)
{
    vm->is_capped = was;
}

/* Creates the registry table that anchors calls' coroutines. (call.c) */
void core_hooks_call_open(lua_State *L);
/* A new call of the function and nargs arguments on top of vm->L (popped),
 * not yet run; is_load for a script's main chunk. (call.c) */
struct core_hooks_call *core_hooks_call_new(struct core_hooks_vm *vm, int nargs, bool is_load);
/* Runs (or resumes with narg values) call; returns and records its status. (call.c) */
enum core_hooks_status core_hooks_call_run(struct core_hooks_call *call, int narg);
/* True when co is the coroutine of a live call (a script must not resume or
 * close it, and coroutine.running() hands it out). (call.c) */
bool core_hooks_call_is_thread(lua_State *L, lua_State *co);
/* True when the running call's budget is spent. Lua code must then not run
 * for the script's sake: the error the budget hook raised left hooks off
 * (lua_State.allowhook) on the thread it hit until a pcall boundary, and a
 * message handler or __close run there would not be stopped. (call.c) */
bool core_hooks_call_is_over(lua_State *L);
/* Closes the state if core_hooks_vm_free was called and no call is alive. (vm.c) */
void core_hooks_vm_release(struct core_hooks_vm *vm);

#endif
