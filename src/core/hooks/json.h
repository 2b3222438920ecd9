/* json.h -- values between Lua and jansson, and the tarmac.json table (layer:
 * core, core/hooks/).
 *
 * JSON null is tarmac.null, a light userdata sentinel (a table field cannot
 * hold nil). An array becomes a table with the array metatable (protected,
 * shared by all arrays; tarmac.json.array(t) sets it), so that [] and {}
 * round-trip: going back, a table with that metatable, or whose keys are
 * exactly 1..n (n >= 1), is an array; a table with only string keys is an
 * object; an empty plain table is an object. Integers stay integers (int64)
 * and reals floats. Nesting is limited to 64 levels both ways, which also
 * stops a table that contains itself. */
#ifndef TARMAC_CORE_HOOKS_JSON_H
#define TARMAC_CORE_HOOKS_JSON_H

#include <jansson.h>
#include <lua.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"

#define CORE_HOOKS_JSON_DEPTH_MAX 64 /* arrays and objects inside each other */

/* Pushes v as a Lua value: object -> table, array -> table with the array
 * metatable, null -> tarmac.null, integer -> integer, real -> float, true,
 * false, string (NULs kept). Never raises: RC_TOO_LARGE when v nests deeper
 * than 64, RC_NOMEM when the state's memory cap (a call running) or Lua's
 * stack limit is reached; nothing is pushed on error. Borrows v. */
enum rc core_hooks_push_json(lua_State *L, const json_t *v);

/* The Lua value at idx as JSON: a new reference, or NULL with err (errlen
 * bytes) filled, naming the path with Lua's 1-based indices
 * ("value.items[3]: not a JSON value (function)"). Errors: a table with keys
 * other than exactly 1..n or only strings (mixed keys, holes, float keys),
 * functions, threads, userdata other than tarmac.null, NaN and infinities,
 * strings that are not UTF-8, nesting deeper than 64 (cycles), and a tree
 * that would take more C memory than the state's cap, roughly ("too large
 * to convert"). nil is null. Never raises and calls no metamethod. Borrows
 * the value. */
json_t *core_hooks_to_json(lua_State *L, int idx, char *err, size_t errlen);
/* The same with the root named root in the path ("body.items[3]: ..."). */
json_t *core_hooks_to_json_named(lua_State *L, int idx, const char *root, char *err, size_t errlen);

/* Pushes tarmac.null. */
/* Writes the Lua value at idx as JSON text to w, by the same rules as
 * core_hooks_to_json but with no tree in between (object keys in table
 * order). false with err ("root.items[3]: ...") when it is not JSON; w may
 * then hold part of it. */
struct jsonw;
bool core_hooks_write_json(lua_State *L, int idx, const char *root, struct jsonw *w, char *err,
                           size_t errlen);
void core_hooks_push_null(lua_State *L);
/* True when the value at idx is tarmac.null. */
bool core_hooks_is_null(lua_State *L, int idx);
/* Sets the array metatable on the table at idx. */
void core_hooks_mark_array(lua_State *L, int idx);

/* Pushes the tarmac.json table (encode, decode, array) after creating the
 * array metatable; for core/hooks/lib.c when it builds `tarmac`. */
void core_hooks_json_open(lua_State *L);

#endif
