/* vm.c -- see vm.h. The state, its allocator, loading scripts, require().
 *
 * The allocator counts what Lua holds (by the sizes Lua reports) and has
 * three modes: while a call runs, a growth that would pass memory_max
 * fails (Lua then collects in full and tries once more before it raises
 * "not enough memory") and memory comes from try_realloc, the fault point
 * of test builds; while the state starts, memory comes from try_realloc
 * without a cap and a failure makes core_hooks_vm_new() return NULL; the
 * rest of the time -- core/hooks/ doing its own bookkeeping, the owner
 * pushing arguments -- nothing may fail, so it is xrealloc (abort on OOM,
 * like every xmalloc). A shrink never fails, as Lua requires: if realloc
 * cannot move the block, the old one is big enough and is kept. */
#include "core/hooks/vm.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/log.h"
#include "core/hooks/hooks_int.h"
#include "core/hooks/lib.h"
#include "core/hooks/sandbox.h"

#define MODULE_NAME_MAX 128 /* bytes of a require() name */

/* Registry keys (their addresses): the table of loaded modules, and the
 * value a module has while its main chunk runs. */
static const char loaded_key = 'l';
static const char loading_sentinel = 's';

static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct core_hooks_vm *vm = ud;
    if (!ptr)
        osize = 0; /* then osize is the kind of object Lua is making */
    if (nsize == 0) {
        xfree(ptr);
        vm->memory_used -= osize;
        return NULL;
    }
    if (nsize <= osize) {
        void *q = try_realloc(ptr, nsize);
        vm->memory_used -= osize - nsize;
        return q ? q : ptr;
    }
    size_t grow = nsize - osize;
    void *q;
    if (vm->is_capped) {
        if (grow > vm->memory_max || vm->memory_used > vm->memory_max - grow) {
            if (vm->running)
                vm->running->is_memory_refused = true;
            return NULL;
        }
        q = try_realloc(ptr, nsize);
        if (!q && vm->running)
            vm->running->is_memory_refused = true;
    } else if (vm->is_starting) {
        q = try_realloc(ptr, nsize);
    } else {
        q = xrealloc(ptr, nsize);
    }
    if (q)
        vm->memory_used += grow;
    return q;
}

static int panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    log_error("msg=\"lua state panic\" error=\"%s\"", msg ? msg : "?");
    abort();
}

/* ---- require ---------------------------------------------------------- */

/* `[A-Za-z0-9_]+` parts joined by dots; no "..", no '/', no leading dot. */
static bool is_module_name(const char *s, size_t len)
{
    if (len == 0 || len > MODULE_NAME_MAX)
        return false;
    bool after_dot = true;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (after_dot)
                return false;
            after_dot = true;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
        after_dot = false;
    }
    return !after_dot;
}

/* Reads path whole into a new buffer (free it with xfree). RC_NOT_FOUND,
 * RC_TOO_LARGE past max bytes, RC_IO. */
static enum rc read_file(const char *path, size_t max, char **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT || errno == ENOTDIR ? RC_NOT_FOUND : RC_IO;
    enum rc rc = RC_OK;
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = RC_IO;
        goto out;
    }
    if ((unsigned long long)st.st_size > max) {
        rc = RC_TOO_LARGE;
        goto out;
    }
    data = xmalloc((size_t)st.st_size + 1);
    len = fread(data, 1, (size_t)st.st_size + 1, f);
    if (ferror(f) || len > (size_t)st.st_size) {
        rc = RC_IO; /* or it grew while read: try again later */
        xfree(data);
        data = NULL;
    }
out:
    fclose(f);
    *out = data;
    *out_len = len;
    return rc;
}

/* The scripts of a folder as read once (vm.h). */
struct core_hooks_source {
    char *dir;
    size_t count;
    char **names; /* sorted */
    char **texts;
    size_t *lens;
};

/* The text of rel (a path under the hooks folder): from the vm's source when
 * it holds it, else read from the folder. As read_file. */
static enum rc file_text(struct core_hooks_vm *vm, const char *rel, char **out, size_t *len)
{
    const struct core_hooks_source *src = vm->source;
    for (size_t i = 0; src && i < src->count; i++) {
        if (strcmp(src->names[i], rel) == 0) {
            *out = xmalloc(src->lens[i] + 1);
            memcpy(*out, src->texts[i], src->lens[i] + 1);
            *len = src->lens[i];
            return RC_OK;
        }
    }
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", vm->dir, rel) >= sizeof(path))
        return RC_TOO_LARGE;
    return read_file(path, vm->memory_max, out, len);
}

static int require_module(lua_State *L)
{
    struct core_hooks_vm *vm = core_hooks_vm_of(L);
    size_t len;
    const char *name = luaL_checklstring(L, 1, &len);
    if (!is_module_name(name, len))
        return luaL_error(L, "require: '%s' is not a module name (letters, digits, _, dots)", name);
    lua_settop(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &loaded_key); /* 2 */
    lua_pushvalue(L, 1);
    lua_rawget(L, 2);
    if (lua_touserdata(L, -1) == &loading_sentinel)
        return luaL_error(L, "require: '%s' requires itself (through others)", name);
    if (!lua_isnil(L, -1))
        return 1;
    lua_pop(L, 1);
    if (!vm->dir)
        return luaL_error(L, "require: module '%s' not found (no hooks directory)", name);

    char rel[MODULE_NAME_MAX + 8];
    snprintf(rel, sizeof(rel), "%s.lua", name);
    for (char *p = rel; p < rel + len; p++) {
        if (*p == '.')
            *p = '/';
    }
    char *code;
    size_t code_len;
    enum rc rc = file_text(vm, rel, &code, &code_len);
    if (rc == RC_NOT_FOUND)
        return luaL_error(L, "require: module '%s' not found (%s)", name, rel);
    if (rc)
        return luaL_error(L, "require: module '%s': %s", name, rc_text(rc));
    char chunkname[sizeof(rel) + 1];
    snprintf(chunkname, sizeof(chunkname), "@%s", rel);
    int st = luaL_loadbufferx(L, code, code_len, chunkname, "t");
    xfree(code);
    if (st != LUA_OK)
        return lua_error(L);
    lua_pushvalue(L, 1);
    lua_pushlightuserdata(L, (void *)&loading_sentinel);
    lua_rawset(L, 2);
    /* A module's main chunk runs protected so that a failure forgets it
     * (a later require tries again) before the error goes on as it was. */
    lua_pushvalue(L, 1);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pushvalue(L, 1);
        lua_pushnil(L);
        lua_rawset(L, 2);
        return lua_error(L);
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, 1);
    lua_pushvalue(L, -2);
    lua_rawset(L, 2);
    return 1;
}

/* ---- the state -------------------------------------------------------- */

static int open_all(lua_State *L)
{
    core_hooks_sandbox_open(L);
    core_hooks_lib_open(L);
    core_hooks_call_open(L);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &loaded_key);
    lua_pushcfunction(L, require_module);
    lua_setglobal(L, "require");
    return 0;
}

struct core_hooks_vm *core_hooks_vm_new(const struct core_hooks_vm_config *cfg)
{
    struct core_hooks_vm *vm = xcalloc(1, sizeof(*vm));
    vm->memory_max = cfg && cfg->memory_max ? cfg->memory_max : CORE_HOOKS_MEMORY_MAX_DEFAULT;
    vm->budget_ns = cfg && cfg->budget_ns ? cfg->budget_ns : CORE_HOOKS_BUDGET_NS_DEFAULT;
    vm->is_starting = true;
    vm->L = lua_newstate(lua_alloc, vm);
    if (!vm->L) {
        xfree(vm);
        return NULL;
    }
    *(struct core_hooks_vm **)lua_getextraspace(vm->L) = vm;
    lua_atpanic(vm->L, panic);
    lua_pushcfunction(vm->L, open_all);
    int st = lua_pcall(vm->L, 0, 0, 0);
    vm->is_starting = false;
    if (st != LUA_OK) {
        lua_close(vm->L);
        xfree(vm);
        return NULL;
    }
    return vm;
}

void core_hooks_vm_release(struct core_hooks_vm *vm)
{
    if (!vm->is_freed || vm->calls_alive)
        return;
    lua_close(vm->L);
    xfree(vm->dir);
    xfree(vm);
}

void core_hooks_vm_free(struct core_hooks_vm *vm)
{
    if (!vm)
        return;
    vm->is_freed = true;
    core_hooks_vm_release(vm);
}

lua_State *core_hooks_vm_lua(struct core_hooks_vm *vm)
{
    return vm->L;
}

size_t core_hooks_vm_memory(const struct core_hooks_vm *vm)
{
    return vm->memory_used;
}

/* ---- loading scripts -------------------------------------------------- */

/* err = "prefix: msg", or msg alone when prefix is NULL. */
static void set_err(char *err, size_t errlen, const char *prefix, const char *msg)
{
    if (!err || !errlen)
        return;
    if (prefix)
        snprintf(err, errlen, "%s: %s", prefix, msg);
    else
        snprintf(err, errlen, "%s", msg);
}

/* True when msg starts with "name:LINE:" (Lua's position prefix). */
static bool has_position(const char *msg)
{
    const char *colon = strchr(msg, ':');
    if (!colon || colon == msg || strchr(" \t\n", msg[0]))
        return false;
    const char *p = colon + 1;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p == ':';
}

/* Runs code as a load call named name; the chunk's first result is left on
 * the main stack when want_result (nil when none). */
static enum rc run_chunk(struct core_hooks_vm *vm, const char *name, struct str code,
                         bool want_result, char *err, size_t errlen)
{
    lua_State *L = vm->L;
    char chunkname[300];
    snprintf(chunkname, sizeof(chunkname), "@%s", name);
    /* Compiling is memory a file chose: under the cap. */
    bool was = vm->is_capped;
    vm->is_capped = true;
    int st = luaL_loadbufferx(L, code.ptr, code.len, chunkname, "t");
    vm->is_capped = was;
    if (st != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        msg = msg ? msg : "not enough memory";
        set_err(err, errlen, has_position(msg) ? NULL : name, msg);
        lua_pop(L, 1);
        return RC_INVALID;
    }
    struct core_hooks_call *call = core_hooks_call_new(vm, 0, true);
    enum rc rc = RC_OK;
    if (core_hooks_call_run(call, 0) == CORE_HOOKS_DONE) {
        if (want_result) {
            lua_settop(call->co, 1);
            lua_xmove(call->co, L, 1);
        }
    } else {
        const struct core_hooks_error *e = &call->error;
        const char *where = e->where[0] ? e->where : name;
        set_err(err, errlen, has_position(e->message) ? NULL : where, e->message);
        rc = RC_INVALID;
    }
    core_hooks_call_free(call);
    return rc;
}

enum rc core_hooks_vm_load_string(struct core_hooks_vm *vm, const char *name, struct str code,
                                  char *err, size_t errlen)
{
    return run_chunk(vm, name, code, false, err, errlen);
}

enum rc core_hooks_vm_load_value(struct core_hooks_vm *vm, const char *name, struct str code,
                                 char *err, size_t errlen)
{
    return run_chunk(vm, name, code, true, err, errlen);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the *.lua files of d, sorted; free each and the array. */
static char **list_scripts(DIR *d, size_t *n)
{
    char **names = NULL;
    size_t count = 0;
    size_t cap = 0;
    const struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len <= 4 || strcmp(de->d_name + len - 4, ".lua") != 0)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            names = xrealloc(names, cap * sizeof(*names));
        }
        names[count++] = xstrdup(de->d_name);
    }
    if (count)
        qsort(names, count, sizeof(*names), compare_names);
    *n = count;
    return names;
}

/* Loads one file of the directory; see core_hooks_vm_load_dir. */
static enum rc load_file(struct core_hooks_vm *vm, const char *file, char *err, size_t errlen)
{
    size_t stem_len = strlen(file) - 4;
    bool is_module = is_module_name(file, stem_len) && !memchr(file, '.', stem_len);
    lua_State *L = vm->L;
    if (is_module) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &loaded_key);
        lua_pushlstring(L, file, stem_len);
        bool is_loaded = lua_rawget(L, -2) != LUA_TNIL;
        lua_pop(L, 2);
        if (is_loaded)
            return RC_OK; /* a file before it required it */
    }
    char *code;
    size_t len;
    enum rc rc = file_text(vm, file, &code, &len);
    if (rc == RC_NOT_FOUND)
        return RC_OK; /* removed since listed, or a dangling link */
    if (rc) {
        set_err(err, errlen, file, rc_text(rc));
        return rc == RC_TOO_LARGE ? RC_INVALID : RC_IO;
    }
    if (is_module) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &loaded_key);
        lua_pushlstring(L, file, stem_len);
        lua_pushlightuserdata(L, (void *)&loading_sentinel);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    rc = run_chunk(vm, file, (struct str){code, len}, is_module, err, errlen);
    xfree(code);
    if (rc || !is_module)
        return rc;
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_rawgetp(L, LUA_REGISTRYINDEX, &loaded_key);
    lua_pushlstring(L, file, stem_len);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 2);
    return RC_OK;
}

enum rc core_hooks_vm_load_dir(struct core_hooks_vm *vm, const char *dir, char *err, size_t errlen)
{
    set_err(err, errlen, NULL, "");
    DIR *d = opendir(dir);
    if (!d) {
        bool is_missing = errno == ENOENT;
        set_err(err, errlen, dir, is_missing ? "no such directory" : strerror(errno));
        return is_missing ? RC_NOT_FOUND : RC_IO;
    }
    xfree(vm->dir);
    vm->dir = xstrdup(dir);
    size_t n;
    char **names = list_scripts(d, &n);
    closedir(d);
    enum rc rc = RC_OK;
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = load_file(vm, names[i], err, errlen);
        xfree(names[i]);
    }
    xfree(names);
    return rc;
}

enum rc core_hooks_source_read(const char *dir, size_t max_bytes, struct core_hooks_source **out,
                               char *err, size_t errlen)
{
    set_err(err, errlen, NULL, "");
    struct core_hooks_source *src = xcalloc(1, sizeof(*src));
    src->dir = xstrdup(dir);
    *out = src;
    DIR *d = opendir(dir);
    if (!d) {
        bool is_missing = errno == ENOENT;
        set_err(err, errlen, dir, is_missing ? "no such directory" : strerror(errno));
        return is_missing ? RC_NOT_FOUND : RC_IO;
    }
    size_t n;
    char **names = list_scripts(d, &n);
    closedir(d);
    src->names = xcalloc(n ? n : 1, sizeof(*src->names));
    src->texts = xcalloc(n ? n : 1, sizeof(*src->texts));
    src->lens = xcalloc(n ? n : 1, sizeof(*src->lens));
    enum rc rc = RC_OK;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        char *code = NULL;
        size_t len = 0;
        enum rc r = RC_OK;
        if (!rc && (size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path))
            r = RC_TOO_LARGE;
        else if (!rc)
            r = read_file(path, max_bytes, &code, &len);
        if (!rc && r && r != RC_NOT_FOUND) {
            set_err(err, errlen, names[i], rc_text(r));
            rc = r == RC_TOO_LARGE ? RC_INVALID : RC_IO;
        }
        if (!rc && !r) {
            src->names[src->count] = names[i];
            src->texts[src->count] = code;
            src->lens[src->count] = len;
            src->count++;
            names[i] = NULL;
        } else {
            xfree(code);
        }
        xfree(names[i]);
    }
    xfree(names);
    return rc;
}

void core_hooks_source_free(struct core_hooks_source *src)
{
    if (!src)
        return;
    for (size_t i = 0; i < src->count; i++) {
        xfree(src->names[i]);
        xfree(src->texts[i]);
    }
    xfree(src->names);
    xfree(src->texts);
    xfree(src->lens);
    xfree(src->dir);
    xfree(src);
}

enum rc core_hooks_vm_load_source(struct core_hooks_vm *vm, const struct core_hooks_source *src,
                                  char *err, size_t errlen)
{
    set_err(err, errlen, NULL, "");
    xfree(vm->dir);
    vm->dir = xstrdup(src->dir);
    vm->source = src;
    enum rc rc = RC_OK;
    for (size_t i = 0; i < src->count && !rc; i++)
        rc = load_file(vm, src->names[i], err, errlen);
    return rc;
}
