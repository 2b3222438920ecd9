/* vm.h -- one sandboxed Lua 5.4 state for the hooks of issue #13 (layer:
 * core, core/hooks/).
 *
 * A state opens base, coroutine, table, string, math and utf8 only, cut down
 * so that a script reaches no file, process or C library outside the hooks
 * directory (docs/hooks.md, "Runtime and sandbox", lists what is left), plus
 * the `tarmac` global table of helpers (core/hooks/lib.h, core/hooks/json.h).
 * Its memory is capped by a counting allocator; each call runs in a coroutine
 * (core/hooks/call.h) under a CPU-time budget checked by an instruction-count
 * hook. Scripts are the administrator's, not a client's: the sandbox keeps
 * them from the machine and from hanging or bloating a worker, it does not
 * keep two scripts of one state apart.
 *
 * A state belongs to one thread (a worker's loop): nothing here is
 * thread-safe. Only files of core/hooks/ include the Lua headers. */
#ifndef TARMAC_CORE_HOOKS_VM_H
#define TARMAC_CORE_HOOKS_VM_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/str.h"
#include "core/hooks/call.h"

#define CORE_HOOKS_MEMORY_MAX_DEFAULT ((size_t)64 << 20) /* bytes */
#define CORE_HOOKS_BUDGET_NS_DEFAULT 1000000000u         /* 1 s */

struct core_hooks_vm_config {
    size_t memory_max;  /* bytes the state may hold; 0 = 64 MiB */
    uint64_t budget_ns; /* CPU time one call may run (summed over its resumes); 0 = 1 s */
};

struct core_hooks_vm;

/* A new state with the sandboxed standard library and the `tarmac` global
 * table (tarmac.null, json, crypto, base64, time, log, refuse). cfg may be
 * NULL for the defaults. Returns NULL when Lua cannot start (no memory).
 * Free it with core_hooks_vm_free(). */
struct core_hooks_vm *core_hooks_vm_new(const struct core_hooks_vm_config *cfg);
/* Frees vm; accepts NULL. Calls still alive (a yielded call waiting for the
 * database) keep the state open until the last of them is freed, so an owner
 * that swaps in a reloaded vm can free the old one at once. */
void core_hooks_vm_free(struct core_hooks_vm *vm);
/* The main state, for registering functions (tarmac.records, ...) and pushing
 * a call's function and arguments. Valid until vm is freed. Outside a call
 * the cap does not apply to it: what the owner pushes cannot fail for memory
 * (a real out-of-memory aborts, as xmalloc). */
lua_State *core_hooks_vm_lua(struct core_hooks_vm *vm);
/* Bytes the state holds now. */
size_t core_hooks_vm_memory(const struct core_hooks_vm *vm);

/* Loads every `*.lua` file of dir (not recursing, no dot files; names sorted
 * bytewise), each as a text chunk (binary chunks refused) run once in the
 * global environment under the budget, as a call that cannot wait. A file
 * that a previous one loaded with require() is not run again; a file whose
 * name is a module name (`[A-Za-z0-9_]+.lua`) is recorded as loaded, so a
 * later require() returns what it returned. Sets the dir used by require()
 * first. RC_OK; RC_NOT_FOUND when dir does not exist (allowed: no scripts);
 * RC_INVALID with err = "file.lua:LINE: message" when one fails to load or
 * run (the files before it ran: the caller then frees this vm and keeps its
 * previous one); RC_IO with err filled when dir or a file cannot be read.
 * Borrows dir; err (errlen bytes, NUL-terminated) may be NULL. */
enum rc core_hooks_vm_load_dir(struct core_hooks_vm *vm, const char *dir, char *err, size_t errlen);
/* The same for one chunk given as text (tests, migrations): name is the chunk
 * name in messages ("orders.lua" gives "orders.lua:3: ..."). RC_OK or
 * RC_INVALID with err filled. Borrows name and code. */
enum rc core_hooks_vm_load_string(struct core_hooks_vm *vm, const char *name, struct str code,
                                  char *err, size_t errlen);

/* As core_hooks_vm_load_string, leaving the chunk's first result (nil when
 * none) on top of the main state's stack when it returns RC_OK (a
 * migration file returns its table). */
enum rc core_hooks_vm_load_value(struct core_hooks_vm *vm, const char *name, struct str code,
                                 char *err, size_t errlen);

/* The scripts of a folder as read once: every state made from one source
 * runs the same text whenever it is made (a reload reads the folder once;
 * each thread makes its state from it later). require() takes a module from
 * it when it holds the file, else reads the folder. */
struct core_hooks_source;
/* Reads every *.lua file of dir (top level; names sorted; at most max_bytes
 * each). *out is always set (free it): RC_NOT_FOUND for a missing dir (an
 * empty source), RC_IO / RC_INVALID with err. */
enum rc core_hooks_source_read(const char *dir, size_t max_bytes, struct core_hooks_source **out,
                               char *err, size_t errlen);
void core_hooks_source_free(struct core_hooks_source *src);
/* As core_hooks_vm_load_dir, from src, which must outlive vm. */
enum rc core_hooks_vm_load_source(struct core_hooks_vm *vm, const struct core_hooks_source *src,
                                  char *err, size_t errlen);

#endif
