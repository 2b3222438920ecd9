/* lib.h -- the `tarmac` global table of helpers and tarmac.refuse (layer:
 * core, core/hooks/).
 *
 * tarmac.null and tarmac.json (core/hooks/json.h), tarmac.crypto
 * (hmac_sha256, sha256, random_id, equal), tarmac.base64 (encode, decode),
 * tarmac.time (now, iso), tarmac.log (info, warn, error) and tarmac.refuse;
 * print() logs as tarmac.log.info. docs/hooks.md shows each. Each group is
 * a luaL_Reg table. base/secure.h must have been initialised (secure_init). */
#ifndef TARMAC_CORE_HOOKS_LIB_H
#define TARMAC_CORE_HOOKS_LIB_H

#include <jansson.h>
#include <lua.h>

/* What tarmac.refuse(status, message [, data]) raised: a userdata with a
 * private metatable, which no script can forge. */
struct core_hooks_refusal {
    int status;   /* 400..599 */
    json_t *data; /* the field errors or NULL; owned (freed with the userdata) */
};

/* Sets the global `tarmac` (and replaces print). Raises only for memory,
 * which cannot happen outside a call. */
void core_hooks_lib_open(lua_State *L);

/* The refusal at idx and its message (valid while the value is on the
 * stack), or NULL when the value there is not one. */
const struct core_hooks_refusal *core_hooks_refusal_test(lua_State *L, int idx,
                                                         const char **message);

/* The "file.lua:12" of the innermost Lua function on L's stack at level or
 * above, into out; "" when there is none. */
void core_hooks_where(lua_State *L, int level, char *out, size_t outlen);

/* Writes s[0..len) escaped as the content of a JSON string into out (NUL
 * terminated, cut at outlen - 1 bytes, never mid-escape), for log values
 * that hold text a script chose: quotes, backslashes and newlines stay in
 * the one line. Returns out. */
char *core_hooks_log_escape(const char *s, size_t len, char *out, size_t outlen);

#endif
