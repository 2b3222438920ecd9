/* sandbox.h -- the standard library a hook script sees (layer: core,
 * core/hooks/).
 *
 * Opens base, coroutine, table, string, math and utf8, then cuts them down:
 *   - no dofile, loadfile, warn; collectgarbage answers "count" only;
 *   - load compiles text only (mode "t" forced: a binary chunk, which the
 *     VM, having no bytecode verifier, would run as is, is refused), of
 *     1 MiB at most (compiling runs in C, out of the budget's reach);
 *   - setmetatable refuses a metatable with __gc: a finalizer would run Lua
 *     code whenever the collector happens to run, outside any call's budget;
 *   - string.dump is gone, and the strings' metatable is protected
 *     (getmetatable("") is false), so it cannot lead back to the library;
 *   - string.find, match, gmatch and gsub refuse a subject longer than
 *     64 KiB when the pattern has special characters (find with plain =
 *     true is fine): matching runs in C where the budget's hook cannot stop
 *     it, and a backtracking pattern is quadratic or worse in the subject.
 *     On such a subject a literal pattern may be as long as keeps subject
 *     length x pattern length under 256 Mi. Below 64 KiB a pattern with
 *     several quantifiers (".-.-.-x") can still run for long: a known limit;
 *   - table.move refuses to copy more elements than the cap could hold;
 *   - coroutine.resume and coroutine.close refuse a call's own coroutine
 *     (coroutine.running() hands it out; resuming it from another call would
 *     wake a C function waiting for the database);
 *   - os holds time, clock, date and difftime only;
 *   - no io, no debug, no package: require (core/hooks/vm.c) reads modules
 *     of the hooks directory only.
 * Everything runs on the main state before any call (uncapped). */
#ifndef TARMAC_CORE_HOOKS_SANDBOX_H
#define TARMAC_CORE_HOOKS_SANDBOX_H

#include <lua.h>

#define CORE_HOOKS_PATTERN_SUBJECT_MAX (64 * 1024)    /* bytes */
#define CORE_HOOKS_PATTERN_WORK_MAX ((size_t)1 << 28) /* subject x literal pattern bytes */
#define CORE_HOOKS_LOAD_CHUNK_MAX (1 << 20)           /* bytes load() compiles */

/* Opens the cut-down libraries as globals of L. */
void core_hooks_sandbox_open(lua_State *L);

#endif
