/* json_decode.h -- JSON text straight into Lua values, for
 * tarmac.json.decode (layer: core, core/hooks/).
 *
 * Why not jansson then core_hooks_push_json: jansson's tree costs 15 to 80
 * times the text in C memory ("[]," is a 128-byte array, "{}," more), out
 * of the state's cap, before the first Lua value exists. Parsing into the
 * state directly keeps every byte under the cap. The values are those of
 * core_hooks_push_json (core/hooks/json.h); integers past 64 bits become
 * floats, as in JavaScript. RFC 8259 strictly: no comments, no trailing
 * commas, no leading zeros, UTF-8 only, lone surrogates refused, "\u0000"
 * kept. A repeated key keeps its last value. */
#ifndef TARMAC_CORE_HOOKS_JSON_DECODE_H
#define TARMAC_CORE_HOOKS_JSON_DECODE_H

#include <lua.h>

#include "base/str.h"

/* Pushes the value of text. Raises a Lua error: "tarmac.json.decode: <what>
 * at byte N" for text that is not one JSON value (nesting deeper than 64
 * included), or a memory error. Borrows text, which must stay alive (a Lua
 * string on the stack). */
void core_hooks_json_decode(lua_State *L, struct str text);

#endif
