/* sandbox.h -- the standard library a hook script sees (layer: core,
 * core/hooks/).
 *
 * Opens base, coroutine, table, string, math and utf8, then cuts them down:
 *   - no dofile, loadfile, warn; collectgarbage answers "count" only;
 *   - load compiles text only (mode "t" forced: a binary chunk, which the
 *     bytecode verifier-less VM would run as is, is refused);
 *   - setmetatable refuses a metatable with __gc: a finalizer would run Lua
 *     code whenever the collector happens to run, outside any call's budget;
 *   - string.dump is gone, and the strings' metatable is protected
 *     (getmetatable("") is false), so it cannot lead back to the library;
 *   - string.find, match, gmatch and gsub refuse a subject longer than
 *     64 KiB when the pattern has special characters (find with plain =
 *     true is fine): matching runs in C where the budget's hook cannot stop
 *     it, and a backtracking pattern is quadratic or worse in the subject;
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

#define CORE_HOOKS_PATTERN_SUBJECT_MAX (64 * 1024) /* bytes */

/* Opens the cut-down libraries as globals of L. */
void core_hooks_sandbox_open(lua_State *L);

#endif
