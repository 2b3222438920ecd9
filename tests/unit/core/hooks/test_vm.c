/* test_vm.c -- unit tests of core/hooks/vm.h and call.h: loading a
 * directory (order, errors, require), every sandbox escape refused, the time
 * budget (loops, loops under pcall, coroutines, yielded time not counted),
 * the memory cap (and a usable state after it), tarmac.refuse, and calls
 * suspended by a C function and resumed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/secure.h"
#include "core/hooks/vm.h"

#define MS 1000000ull /* ns */

static struct core_hooks_vm *new_vm(size_t memory_max, uint64_t budget_ns)
{
    struct core_hooks_vm_config cfg = {memory_max, budget_ns};
    struct core_hooks_vm *vm = core_hooks_vm_new(&cfg);
    assert_non_null(vm);
    return vm;
}

/* Loads code as "t.lua"; fails the test with Lua's message if it does not load. */
static void load(struct core_hooks_vm *vm, const char *code)
{
    char err[512];
    enum rc rc = core_hooks_vm_load_string(vm, "t.lua", str_from_cstr(code), err, sizeof(err));
    if (rc)
        fail_msg("load: %s", err);
}

/* The load error of code, "" when it loads. */
static const char *load_err(struct core_hooks_vm *vm, const char *code)
{
    static char err[512];
    enum rc rc = core_hooks_vm_load_string(vm, "t.lua", str_from_cstr(code), err, sizeof(err));
    if (!rc)
        return "";
    assert_int_equal(rc, RC_INVALID);
    return err;
}

#define assert_contains(haystack, needle)                                                          \
    do {                                                                                           \
        const char *h_ = (haystack);                                                               \
        if (!strstr(h_, (needle)))                                                                 \
            fail_msg("\"%s\" does not contain \"%s\"", h_, (needle));                              \
    } while (0)

static enum core_hooks_status last_status; /* of the last start() */

/* Starts global fn with the integer arguments given (n of them); the status
 * goes to last_status. */
static struct core_hooks_call *start(struct core_hooks_vm *vm, const char *fn, int n, ...)
{
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, fn);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        lua_pushinteger(L, va_arg(ap, int));
    va_end(ap);
    struct core_hooks_call *call = core_hooks_call_start(vm, n, &last_status);
    assert_int_equal(lua_gettop(L), 0);
    return call;
}

/* Runs global fn expecting an error of kind; returns a copy of its message. */
static const char *run_error(struct core_hooks_vm *vm, const char *fn, int kind)
{
    static char msg[512];
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, fn);
    enum core_hooks_status st;
    struct core_hooks_call *call = core_hooks_call_start(vm, 0, &st);
    if (st != CORE_HOOKS_ERROR)
        fail_msg("%s: status %d, expected an error", fn, (int)st);
    const struct core_hooks_error *e = core_hooks_call_error(call);
    if ((int)e->kind != kind)
        fail_msg("%s: kind %d (%s), expected %d", fn, (int)e->kind, e->message, kind);
    snprintf(msg, sizeof(msg), "%s", e->message);
    core_hooks_call_free(call);
    return msg;
}

/* Runs global fn expecting DONE and one integer result. */
static lua_Integer run_int(struct core_hooks_vm *vm, const char *fn)
{
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, fn);
    enum core_hooks_status st;
    struct core_hooks_call *call = core_hooks_call_start(vm, 0, &st);
    if (st != CORE_HOOKS_DONE)
        fail_msg("%s: status %d: %s", fn, (int)st, core_hooks_call_error(call)->message);
    lua_State *co = core_hooks_call_thread(call);
    assert_int_equal(lua_gettop(co), 1);
    lua_Integer v = lua_tointeger(co, 1);
    core_hooks_call_free(call);
    return v;
}

/* ---- a temporary hooks directory -------------------------------------- */

static char tmp_dir[64];

static void write_file(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmp_dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void make_dir(void)
{
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/tarmac-hooks-XXXXXX");
    assert_non_null(mkdtemp(tmp_dir));
}

static void remove_dir(void)
{
    nftw(tmp_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- loading ---------------------------------------------------------- */

static void test_load_dir_sorted_and_skips_others(void **state)
{
    (void)state;
    make_dir();
    write_file("b.lua", "ORDER = ORDER .. 'b'\n");
    write_file("a.lua", "ORDER = (ORDER or '') .. 'a'\n");
    write_file("B.lua", "ORDER = (ORDER or '') .. 'B'\n"); /* 'B' < 'a' bytewise */
    write_file("c.txt", "error('not a script')\n");
    write_file(".hidden.lua", "error('a dot file')\n");
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/sub", tmp_dir);
    mkdir(sub, 0700);
    write_file("sub/deep.lua", "error('not recursed into')\n");
    struct core_hooks_vm *vm = new_vm(0, 0);
    char err[256];
    assert_int_equal(core_hooks_vm_load_dir(vm, tmp_dir, err, sizeof(err)), RC_OK);
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, "ORDER");
    assert_string_equal(lua_tostring(L, -1), "Bab");
    lua_pop(L, 1);
    core_hooks_vm_free(vm);
    remove_dir();
}

/* A source is the text as read once: a state made from it later runs that
 * text, not what the folder holds by then, and its require() takes the
 * modules it holds. */
static void test_source_is_read_once(void **state)
{
    (void)state;
    make_dir();
    write_file("a.lua", "V = require('util').v\n");
    write_file("util.lua", "return { v = 1 }\n");
    struct core_hooks_source *src;
    char err[256];
    assert_int_equal(core_hooks_source_read(tmp_dir, 1 << 20, &src, err, sizeof(err)), RC_OK);
    write_file("a.lua", "error('changed on disk')\n");
    write_file("util.lua", "return { v = 2 }\n");
    struct core_hooks_vm *vm = new_vm(0, 0);
    assert_int_equal(core_hooks_vm_load_source(vm, src, err, sizeof(err)), RC_OK);
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, "V");
    assert_int_equal(lua_tointeger(L, -1), 1);
    lua_pop(L, 1);
    core_hooks_vm_free(vm);
    core_hooks_source_free(src);
    remove_dir();
    assert_int_equal(core_hooks_source_read(tmp_dir, 1 << 20, &src, err, sizeof(err)),
                     RC_NOT_FOUND);
    core_hooks_source_free(src);
}

static void test_load_dir_reports_file_and_line(void **state)
{
    (void)state;
    make_dir();
    write_file("a.lua", "A = 1\n");
    write_file("z_bad.lua", "local x = 1\n\nerror('boom')\n");
    struct core_hooks_vm *vm = new_vm(0, 0);
    char err[256];
    assert_int_equal(core_hooks_vm_load_dir(vm, tmp_dir, err, sizeof(err)), RC_INVALID);
    assert_string_equal(err, "z_bad.lua:3: boom");
    core_hooks_vm_free(vm);

    write_file("z_bad.lua", "x = = 1\n");
    vm = new_vm(0, 0);
    assert_int_equal(core_hooks_vm_load_dir(vm, tmp_dir, err, sizeof(err)), RC_INVALID);
    assert_contains(err, "z_bad.lua:1: ");
    core_hooks_vm_free(vm);

    /* an error object that is not a string still gets the place */
    write_file("z_bad.lua", "\nerror({})\n");
    vm = new_vm(0, 0);
    assert_int_equal(core_hooks_vm_load_dir(vm, tmp_dir, err, sizeof(err)), RC_INVALID);
    assert_string_equal(err, "z_bad.lua:2: (error object is a table value)");
    core_hooks_vm_free(vm);

    /* a binary chunk in a file */
    write_file("z_bad.lua", "\033Lua\x54");
    vm = new_vm(0, 0);
    assert_int_equal(core_hooks_vm_load_dir(vm, tmp_dir, err, sizeof(err)), RC_INVALID);
    assert_contains(err, "z_bad.lua: ");
    assert_contains(err, "binary");
    core_hooks_vm_free(vm);
    remove_dir();
}

static void test_load_dir_missing_is_not_found(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = new_vm(0, 0);
    char err[256];
    assert_int_equal(core_hooks_vm_load_dir(vm, "/nonexistent/tarmac-hooks", err, sizeof(err)),
                     RC_NOT_FOUND);
    core_hooks_vm_free(vm);
}

static void test_load_string_errors(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = new_vm(0, 0);
    assert_string_equal(load_err(vm, "x = 1\nerror('bad', 0)"), "t.lua:2: bad");
    assert_string_equal(load_err(vm, "\nlocal t = nil\nreturn t.x"),
                        "t.lua:3: attempt to index a nil value (local 't')");
    assert_contains(load_err(vm, "return 1 +"), "t.lua:1:");
    core_hooks_vm_free(vm);
}

static void test_require(void **state)
{
    (void)state;
    make_dir();
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/lib", tmp_dir);
    mkdir(sub, 0700);
    /* main.lua sorts before util.lua: it requires util, which then is not
     * run a second time by the directory walk */
    write_file("main.lua", "local u = require 'util'\nU = u\nu.n = u.n + 1\n"
                           "H = require('lib.helpers').double(21)\n");
    write_file("util.lua", "RUNS = (RUNS or 0) + 1\nreturn { n = 1 }\n");
    write_file("lib/helpers.lua", "return { double = function(x) return 2 * x end }\n");
    write_file("lib/broken.lua", "TRIES = (TRIES or 0) + 1\nerror('broken module')\n");
    write_file("lib/cycle.lua", "return require 'lib.cycle'\n");
    struct core_hooks_vm *vm = new_vm(0, 0);
    char err[256];
    assert_int_equal(core_hooks_vm_load_dir(vm, tmp_dir, err, sizeof(err)), RC_OK);
    load(vm, "function runs() return RUNS end\n"
             "function n() return U.n end\n"
             "function same() return require('util') == U and 1 or 0 end\n"
             "function h() return H end\n"
             "function up() return require('../x') end\n"
             "function slash() return require('lib/helpers') end\n"
             "function missing() return require('nope') end\n"
             "function os_mod() return require('os') end\n"
             "function broken() return require('lib.broken') end\n"
             "function tries() return TRIES end\n"
             "function cycle() return require('lib.cycle') end\n");
    assert_int_equal(run_int(vm, "runs"), 1);
    assert_int_equal(run_int(vm, "n"), 2);
    assert_int_equal(run_int(vm, "same"), 1);
    assert_int_equal(run_int(vm, "h"), 42);
    assert_contains(run_error(vm, "up", CORE_HOOKS_ERR_SCRIPT), "not a module name");
    assert_contains(run_error(vm, "slash", CORE_HOOKS_ERR_SCRIPT), "not a module name");
    assert_contains(run_error(vm, "missing", CORE_HOOKS_ERR_SCRIPT), "module 'nope' not found");
    assert_contains(run_error(vm, "os_mod", CORE_HOOKS_ERR_SCRIPT), "module 'os' not found");
    assert_contains(run_error(vm, "broken", CORE_HOOKS_ERR_SCRIPT), "lib/broken.lua:2: broken");
    /* a failed module is forgotten: the next require runs it again */
    assert_contains(run_error(vm, "broken", CORE_HOOKS_ERR_SCRIPT), "broken module");
    assert_int_equal(run_int(vm, "tries"), 2);
    assert_contains(run_error(vm, "cycle", CORE_HOOKS_ERR_SCRIPT), "requires itself");
    core_hooks_vm_free(vm);
    remove_dir();
}

/* ---- the sandbox ------------------------------------------------------ */

static void test_sandbox_escapes_refused(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = new_vm(0, 0);
    static const struct {
        const char *code;
        const char *error;
    } cases[] = {
        {"os.execute('true')", "field 'execute'"},
        {"os.exit(1)", "field 'exit'"},
        {"os.remove('/tmp/x')", "field 'remove'"},
        {"return os.getenv('HOME')", "field 'getenv'"},
        {"io.open('/etc/passwd')", "global 'io'"},
        {"io.popen('id')", "global 'io'"},
        {"package.loadlib('libc.so.6', 'system')", "global 'package'"},
        {"require('os')", "module 'os' not found"},
        {"require('io')", "module 'io' not found"},
        {"debug.sethook()", "global 'debug'"},
        {"dofile('/etc/passwd')", "global 'dofile'"},
        {"loadfile('/etc/passwd')", "global 'loadfile'"},
        {"string.dump(print)", "field 'dump'"},
        {"('x').dump(print)", "field 'dump'"},
        {"return getmetatable('').__index.dump", "attempt to index a boolean value"},
        {"collectgarbage('stop')", "only \"count\""},
        {"collectgarbage()", "only \"count\""},
        {"setmetatable({}, { __gc = function() end })", "__gc is not available"},
        {"return ('x'):rep(70000):find('.-y')", "over 65536 bytes"},
        {"return ('x'):rep(70000):match('(x*)y')", "over 65536 bytes"},
        {"return ('x'):rep(70000):gsub('x+', '')", "over 65536 bytes"},
        {"for w in ('x'):rep(70000):gmatch('%a+') do end", "over 65536 bytes"},
        {"return ('a'):rep(1 << 20):find(('a'):rep(300) .. 'b', 1, true)", "301-byte pattern"},
        {"return ('a'):rep(1 << 20):gsub(('a'):rep(300), '')", "300-byte pattern"},
        {"table.move({}, 1, 1 << 40, 2)", "table.move: more than"},
        {"table.move({}, -(1 << 62), 1 << 62, 2)", "table.move: more than"},
        {"local f, e = load(('x = 1 '):rep(200000)) error(e)", "chunk over 1048576 bytes"},
        {"local n = 0 local f, e = load(function() n = n + 1 if n < 300 then\n"
         "  return ('x = 1 '):rep(1000) end end) error(e)",
         "chunk over 1048576 bytes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err = load_err(vm, cases[i].code);
        if (!strstr(err, cases[i].error))
            fail_msg("%s: got \"%s\", expected \"%s\"", cases[i].code, err, cases[i].error);
    }
    /* what stays */
    load(vm, "assert(collectgarbage('count') > 0)\n"
             "assert(getmetatable('') == false)\n"
             "assert(('abc'):upper() == 'ABC')\n"
             "assert(type(os.time()) == 'number' and type(os.clock()) == 'number')\n"
             "assert(os.date('!%Y', 0) == '1970' and os.difftime(2, 1) == 1)\n"
             "assert(math.floor(2.5) == 2 and utf8.char(233) == '\\u{e9}')\n"
             "assert(table.concat({1, 2}, ',') == '1,2')\n"
             "assert(setmetatable({}, { __index = { x = 1 } }).x == 1)\n"
             "assert(('x'):rep(70000):find('xy', 1, true) == nil)\n"
             "assert(('x'):rep(70000):find('xx') == 1)\n"
             "assert(select(2, ('ab'):rep(10):gsub('a', '')) == 10)\n"
             "assert(select(2, ('ab'):rep(40000):gsub('ab', '')) == 40000)\n"
             "assert(#table.move({1, 2, 3}, 1, 3, 2) == 4)\n"
             "assert(load(('x = 1 '):rep(1000)))\n"
             "assert(io == nil and debug == nil and package == nil and warn == nil)\n");
    core_hooks_vm_free(vm);
}

static void test_load_is_text_only(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = new_vm(0, 0);
    load(vm, "local f, e = load('\\27Lua\\x54\\x00\\x19\\x93\\r\\n\\x1a\\n')\n"
             "assert(f == nil and e:find('binary'), e)\n"
             "f, e = load('\\27Lua', 'x', 'b')\n"
             "assert(f == nil and e:find('binary'), e)\n"
             "local parts = { '\\27', 'Lua' }\n"
             "f, e = load(function() return table.remove(parts, 1) end)\n"
             "assert(f == nil and e:find('binary'), e)\n"
             "f = load('return 1 + 1')\n"
             "assert(f() == 2)\n"
             "f = load('return x', 'c', 't', { x = 5 })\n"
             "assert(f() == 5)\n"
             "f = load('return tarmac ~= nil')\n"
             "assert(f() == true)\n");
    core_hooks_vm_free(vm);
}

/* ---- the budget ------------------------------------------------------- */

static void test_budget_ends_loops(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = new_vm(0, 100 * MS);
    load(vm, "function spin() while true do end end\n"
             "function catcher() while true do pcall(function() while true do end end) end end\n"
             "function errs() while true do pcall(error, {}) end end\n"
             "function co() coroutine.wrap(function() while true do end end)() end\n"
             "function handler() while true do\n"
             "  xpcall(function() while true do end end, function() while true do end end)\n"
             "end end\n"
             "function tail() local function f() return f() end return f() end\n"
             "function sorter() local t = {} for i = 1, 100 do t[i] = i end\n"
             "  while true do table.sort(t, function(a, b) return a > b end) end end\n"
             "function ok() return 7 end\n");
    const char *const fns[] = {"spin", "catcher", "errs", "co", "handler", "tail", "sorter"};
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        const char *msg = run_error(vm, fns[i], CORE_HOOKS_ERR_BUDGET);
        assert_contains(msg, "time budget");
    }
    assert_int_equal(run_int(vm, "ok"), 7);
    /* while loading too */
    assert_contains(load_err(vm, "\nwhile true do end"), "t.lua:2: time budget of 100 ms exceeded");
    core_hooks_vm_free(vm);
}

/* ---- memory ----------------------------------------------------------- */

static void test_memory_cap(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = new_vm(8 << 20, 0);
    load(vm, "function grow() local t = {} for i = 1, 1e9 do t[i] = i end end\n"
             "function rep() return string.rep('x', 1 << 30) end\n"
             "function rep_huge() return string.rep('x', 1 << 40) end\n"
             "function doubling() local s = 'x' while true do s = s .. s end end\n"
             "function concat() local p = {} for i = 1, 1e8 do p[i] = 'x' .. i end\n"
             "  return table.concat(p) end\n"
             "function caught() local ok, e = pcall(string.rep, 'x', 1 << 30) error(e, 0) end\n"
             "function keys() local t = {} for i = 1, 1e9 do t['k' .. i] = true end end\n"
             "function ok() local t = {} for i = 1, 1000 do t[i] = i end return #t end\n");
    const char *const fns[] = {"grow", "rep", "doubling", "concat", "caught", "keys"};
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        assert_contains(run_error(vm, fns[i], CORE_HOOKS_ERR_MEMORY), "not enough memory");
        assert_int_equal(run_int(vm, "ok"), 1000);
    }
    assert_true(core_hooks_vm_memory(vm) <= (size_t)8 << 20);
    /* past what a Lua string may hold, string.rep refuses by itself */
    assert_contains(run_error(vm, "rep_huge", CORE_HOOKS_ERR_SCRIPT), "too large");
    /* a caught memory error that the script gets past is no error */
    load(vm, "function survive() local ok = pcall(string.rep, 'x', 1 << 30)\n"
             "  return ok and 1 or 2 end\n");
    assert_int_equal(run_int(vm, "survive"), 2);
    core_hooks_vm_free(vm);
}

/* ---- tarmac.refuse ---------------------------------------------------- */

static void test_refuse(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = new_vm(0, 0);
    load(vm, "function r()\n"
             "  tarmac.refuse(422, 'Too big.', { total = { code = 'too_large',\n"
             "    message = 'At most 100.' } })\n"
             "end\n"
             "function bad_status() tarmac.refuse(200, 'no') end\n"
             "function bad_data() tarmac.refuse(400, 'x', { f = print }) end\n"
             "function list_data() tarmac.refuse(400, 'x', { 1, 2 }) end\n"
             "function caught() local ok, e = pcall(tarmac.refuse, 400, 'x')\n"
             "  return (not ok and tostring(e) == 'refused: 400 x') and 1 or 0 end\n"
             "function in_co() coroutine.wrap(function() tarmac.refuse(409, 'c') end)() end\n"
             "function plain() tarmac.refuse(403) end\n");
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, "r");
    enum core_hooks_status st;
    struct core_hooks_call *call = core_hooks_call_start(vm, 0, &st);
    assert_int_equal(st, CORE_HOOKS_ERROR);
    const struct core_hooks_error *e = core_hooks_call_error(call);
    assert_int_equal(e->kind, CORE_HOOKS_ERR_REFUSED);
    assert_int_equal(e->status, 422);
    assert_string_equal(e->message, "Too big.");
    assert_string_equal(e->where, "t.lua:2");
    json_t *want =
        json_pack("{s:{s:s,s:s}}", "total", "code", "too_large", "message", "At most 100.");
    assert_true(json_equal(e->data, want));
    json_decref(want);
    core_hooks_call_log(call, "test.refuse");
    core_hooks_call_free(call);

    assert_contains(run_error(vm, "bad_status", CORE_HOOKS_ERR_SCRIPT), "400..599");
    assert_contains(run_error(vm, "bad_data", CORE_HOOKS_ERR_SCRIPT),
                    "data.f: not a JSON value (function)");
    assert_contains(run_error(vm, "list_data", CORE_HOOKS_ERR_SCRIPT), "table of field errors");
    assert_int_equal(run_int(vm, "caught"), 1);

    lua_getglobal(L, "in_co");
    call = core_hooks_call_start(vm, 0, &st);
    assert_int_equal(st, CORE_HOOKS_ERROR);
    assert_int_equal(core_hooks_call_error(call)->kind, CORE_HOOKS_ERR_REFUSED);
    assert_int_equal(core_hooks_call_error(call)->status, 409);
    core_hooks_call_free(call);

    lua_getglobal(L, "plain");
    call = core_hooks_call_start(vm, 0, &st);
    assert_int_equal(core_hooks_call_error(call)->kind, CORE_HOOKS_ERR_REFUSED);
    assert_string_equal(core_hooks_call_error(call)->message, "");
    assert_null(core_hooks_call_error(call)->data);
    core_hooks_call_free(call);
    core_hooks_vm_free(vm);
}

/* ---- calls that wait -------------------------------------------------- */

static int wait_fn(lua_State *L)
{
    return core_hooks_yield(L);
}

static int can_wait_fn(lua_State *L)
{
    lua_pushboolean(L, core_hooks_can_yield(L));
    return 1;
}

static int owner_fn(lua_State *L)
{
    struct core_hooks_call *call = core_hooks_call_of(L);
    lua_pushstring(L, call ? core_hooks_call_owner(call) : "none");
    return 1;
}

static struct core_hooks_vm *vm_with_wait(uint64_t budget_ns)
{
    struct core_hooks_vm *vm = new_vm(0, budget_ns);
    lua_State *L = core_hooks_vm_lua(vm);
    lua_register(L, "wait", wait_fn);
    lua_register(L, "can_wait", can_wait_fn);
    lua_register(L, "owner", owner_fn);
    return vm;
}

static void test_yield_and_resume(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = vm_with_wait(0);
    load(vm, "function f(x) local v = wait() return v + x, owner() end\n"
             "function in_pcall() local ok, v = pcall(wait) return ok and v or -1 end\n"
             "function twice() local a = wait() local b = wait() return a * b end\n");
    struct core_hooks_call *call = start(vm, "f", 1, 1);
    assert_int_equal(last_status, CORE_HOOKS_YIELDED);
    core_hooks_call_set_owner(call, "request-1");
    assert_string_equal(core_hooks_call_owner(call), "request-1");
    lua_State *co = core_hooks_call_thread(call);
    lua_pushinteger(co, 41);
    assert_int_equal(core_hooks_call_resume(call, 1), CORE_HOOKS_DONE);
    assert_int_equal(lua_gettop(co), 2);
    assert_int_equal(lua_tointeger(co, 1), 42);
    assert_string_equal(lua_tostring(co, 2), "request-1");
    core_hooks_call_free(call);

    call = start(vm, "in_pcall", 0);
    co = core_hooks_call_thread(call);
    lua_pushinteger(co, 5);
    assert_int_equal(core_hooks_call_resume(call, 1), CORE_HOOKS_DONE);
    assert_int_equal(lua_tointeger(co, -1), 5);
    core_hooks_call_free(call);

    call = start(vm, "twice", 0);
    co = core_hooks_call_thread(call);
    lua_pushinteger(co, 6);
    assert_int_equal(core_hooks_call_resume(call, 1), CORE_HOOKS_YIELDED);
    lua_pushinteger(co, 7);
    assert_int_equal(core_hooks_call_resume(call, 1), CORE_HOOKS_DONE);
    assert_int_equal(lua_tointeger(co, -1), 42);
    core_hooks_call_free(call);

    /* two calls suspended at once, resumed in the other order */
    struct core_hooks_call *a = start(vm, "f", 1, 100);
    struct core_hooks_call *b = start(vm, "f", 1, 200);
    core_hooks_call_set_owner(a, "a");
    core_hooks_call_set_owner(b, "b");
    lua_pushinteger(core_hooks_call_thread(b), 2);
    assert_int_equal(core_hooks_call_resume(b, 1), CORE_HOOKS_DONE);
    lua_pushinteger(core_hooks_call_thread(a), 1);
    assert_int_equal(core_hooks_call_resume(a, 1), CORE_HOOKS_DONE);
    assert_int_equal(lua_tointeger(core_hooks_call_thread(a), 1), 101);
    assert_string_equal(lua_tostring(core_hooks_call_thread(a), 2), "a");
    assert_int_equal(lua_tointeger(core_hooks_call_thread(b), 1), 202);
    assert_string_equal(lua_tostring(core_hooks_call_thread(b), 2), "b");
    core_hooks_call_free(a);
    core_hooks_call_free(b);
    core_hooks_vm_free(vm);
}

static void test_cannot_wait_here(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = vm_with_wait(0);
    load(vm,
         "function in_co() coroutine.wrap(function() wait() end)() end\n"
         "function in_resume() local ok, e = coroutine.resume(coroutine.create(wait))\n"
         "  error(e, 0) end\n"
         "function in_sort() table.sort({3, 2, 1}, function(a, b) wait() return a < b end) end\n"
         "function in_gsub() return (('abc'):gsub('b', function() wait() end)) end\n"
         "function in_meta() local t = setmetatable({}, { __tostring = function() wait()\n"
         "  return 'x' end }) return tostring(t) end\n"
         "function checks() return (can_wait() and 1 or 0) +\n"
         "  (coroutine.wrap(can_wait)() and 10 or 0) end\n"
         "function stray() coroutine.yield(1) end\n");
    const char *const fns[] = {"in_co", "in_resume", "in_sort", "in_gsub", "in_meta"};
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
        assert_contains(run_error(vm, fns[i], CORE_HOOKS_ERR_SCRIPT), "cannot wait here");
    assert_int_equal(run_int(vm, "checks"), 1);
    assert_contains(run_error(vm, "stray", CORE_HOOKS_ERR_SCRIPT), "coroutine.yield outside");
    /* nor while loading */
    assert_contains(load_err(vm, "wait()"), "cannot wait here");
    core_hooks_vm_free(vm);
}

static void test_call_thread_protected_and_abandoned(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = vm_with_wait(0);
    load(vm, "function grab() T = coroutine.running() local v = wait() return v end\n"
             "function poke() return coroutine.resume(T) end\n"
             "function shut() return coroutine.close(T) end\n"
             "function closing() local c <close> = setmetatable({}, { __close = function()\n"
             "  CLOSED = (CLOSED or 0) + 1 end }) wait() end\n"
             "function closed() return CLOSED or 0 end\n"
             "function fails() local c <close> = setmetatable({}, { __close = function()\n"
             "  CLOSED = (CLOSED or 0) + 10 end }) error('x') end\n");
    struct core_hooks_call *call = start(vm, "grab", 0);
    assert_int_equal(last_status, CORE_HOOKS_YIELDED);
    assert_contains(run_error(vm, "poke", CORE_HOOKS_ERR_SCRIPT), "cannot be resumed");
    assert_contains(run_error(vm, "shut", CORE_HOOKS_ERR_SCRIPT), "cannot be resumed");
    lua_pushinteger(core_hooks_call_thread(call), 3);
    assert_int_equal(core_hooks_call_resume(call, 1), CORE_HOOKS_DONE);
    assert_int_equal(lua_tointeger(core_hooks_call_thread(call), 1), 3);
    core_hooks_call_free(call);

    /* an abandoned call closes its to-be-closed variables; so does a failed one */
    call = start(vm, "closing", 0);
    assert_int_equal(last_status, CORE_HOOKS_YIELDED);
    core_hooks_call_free(call);
    assert_int_equal(run_int(vm, "closed"), 1);
    run_error(vm, "fails", CORE_HOOKS_ERR_SCRIPT);
    assert_int_equal(run_int(vm, "closed"), 11);

    /* the vm freed while a call waits: closed with the call */
    call = start(vm, "grab", 0);
    core_hooks_vm_free(vm);
    lua_pushinteger(core_hooks_call_thread(call), 9);
    assert_int_equal(core_hooks_call_resume(call, 1), CORE_HOOKS_DONE);
    assert_int_equal(lua_tointeger(core_hooks_call_thread(call), 1), 9);
    core_hooks_call_free(call);
}

/* A C function that runs global `inner` as a call of its own (as a record
 * hook run inside tarmac.records would). */
static int nested_fn(lua_State *L)
{
    struct core_hooks_call *outer = core_hooks_call_of(L);
    struct core_hooks_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    lua_State *main = core_hooks_vm_lua(vm);
    lua_getglobal(main, "inner");
    enum core_hooks_status st;
    struct core_hooks_call *call = core_hooks_call_start(vm, 0, &st);
    lua_Integer v = st == CORE_HOOKS_DONE ? lua_tointeger(core_hooks_call_thread(call), 1) : -1;
    core_hooks_call_free(call);
    if (core_hooks_call_of(L) != outer)
        return luaL_error(L, "the outer call was not restored");
    lua_pushinteger(L, v);
    return 1;
}

static void test_nested_call(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = vm_with_wait(0);
    lua_State *L = core_hooks_vm_lua(vm);
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, nested_fn, 1);
    lua_setglobal(L, "nested");
    load(vm, "function inner() return 20 + (can_wait() and 1 or 0) end\n"
             "function outer() return nested() * 2 end\n");
    assert_int_equal(run_int(vm, "outer"), 42);
    core_hooks_vm_free(vm);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_budget_excludes_waiting(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = vm_with_wait(500 * MS);
    load(vm, "local function spin(s) local t = os.clock() while os.clock() - t < s do end end\n"
             "function light() spin(0.1) wait() spin(0.1) return 1 end\n"
             "function heavy() spin(0.3) wait() spin(0.3) return 1 end\n");
    struct core_hooks_call *call = start(vm, "light", 0);
    assert_int_equal(last_status, CORE_HOOKS_YIELDED);
    sleep_ms(700); /* longer than the budget: waiting is not running */
    assert_int_equal(core_hooks_call_resume(call, 0), CORE_HOOKS_DONE);
    core_hooks_call_free(call);

    call = start(vm, "heavy", 0);
    assert_int_equal(last_status, CORE_HOOKS_YIELDED);
    assert_int_equal(core_hooks_call_resume(call, 0), CORE_HOOKS_ERROR);
    assert_int_equal(core_hooks_call_error(call)->kind, CORE_HOOKS_ERR_BUDGET);
    assert_contains(core_hooks_call_error(call)->where, "t.lua:");
    core_hooks_call_log(call, "test.heavy");
    core_hooks_call_free(call);
    core_hooks_vm_free(vm);
}

static void test_error_where_and_traceback(void **state)
{
    (void)state;
    struct core_hooks_vm *vm = new_vm(0, 0);
    load(vm, "local function deep()\n"
             "  local x = nil\n"
             "  return x.field\n"
             "end\n"
             "function top() return deep() end\n"
             "function num() error(42) end\n");
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, "top");
    enum core_hooks_status st;
    struct core_hooks_call *call = core_hooks_call_start(vm, 0, &st);
    assert_int_equal(st, CORE_HOOKS_ERROR);
    const struct core_hooks_error *e = core_hooks_call_error(call);
    assert_int_equal(e->kind, CORE_HOOKS_ERR_SCRIPT);
    assert_string_equal(e->where, "t.lua:3");
    assert_string_equal(e->message, "t.lua:3: attempt to index a nil value (local 'x')");
    core_hooks_call_log(call, "test.top");
    core_hooks_call_free(call);
    assert_string_equal(run_error(vm, "num", CORE_HOOKS_ERR_SCRIPT), "42");
    core_hooks_vm_free(vm);
}

int main(void)
{
    json_set_alloc_funcs(xmalloc, xfree);
    if (secure_init() != RC_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_dir_sorted_and_skips_others),
        cmocka_unit_test(test_load_dir_reports_file_and_line),
        cmocka_unit_test(test_source_is_read_once),
        cmocka_unit_test(test_load_dir_missing_is_not_found),
        cmocka_unit_test(test_load_string_errors),
        cmocka_unit_test(test_require),
        cmocka_unit_test(test_sandbox_escapes_refused),
        cmocka_unit_test(test_load_is_text_only),
        cmocka_unit_test(test_budget_ends_loops),
        cmocka_unit_test(test_memory_cap),
        cmocka_unit_test(test_refuse),
        cmocka_unit_test(test_yield_and_resume),
        cmocka_unit_test(test_cannot_wait_here),
        cmocka_unit_test(test_call_thread_protected_and_abandoned),
        cmocka_unit_test(test_nested_call),
        cmocka_unit_test(test_budget_excludes_waiting),
        cmocka_unit_test(test_error_where_and_traceback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
