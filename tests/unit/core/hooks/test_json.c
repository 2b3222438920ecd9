/* test_json.c -- unit tests of core/hooks/json.h: JSON -> Lua -> JSON round
 * trips ([] and {}, null, integers and floats, big integers, unicode, NUL),
 * each conversion error with its path, the nesting limit both ways, and
 * tarmac.json.encode/decode/array from a script (memory included). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/secure.h"
#include "core/hooks/json.h"
#include "core/hooks/vm.h"

static struct core_hooks_vm *vm;
static lua_State *L;

static int setup(void **state)
{
    (void)state;
    vm = core_hooks_vm_new(NULL);
    L = core_hooks_vm_lua(vm);
    return vm ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    core_hooks_vm_free(vm);
    return 0;
}

/* text -> json_t -> Lua -> json_t: equal to the first. */
static void round_trip(const char *text)
{
    json_error_t je;
    json_t *in = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!in)
        fail_msg("%s: %s", text, je.text);
    assert_int_equal(core_hooks_push_json(L, in), RC_OK);
    assert_int_equal(lua_gettop(L), 1);
    char err[256];
    json_t *out = core_hooks_to_json(L, -1, err, sizeof(err));
    if (!out)
        fail_msg("%s: %s", text, err);
    if (!json_equal(in, out)) {
        char *a = json_dumps(out, JSON_ENCODE_ANY);
        fail_msg("%s came back as %s", text, a);
    }
    /* integers stay integers, reals stay reals (json_equal would not tell) */
    char *a = json_dumps(in, JSON_ENCODE_ANY | JSON_SORT_KEYS);
    char *b = json_dumps(out, JSON_ENCODE_ANY | JSON_SORT_KEYS);
    assert_string_equal(a, b);
    xfree(a);
    xfree(b);
    json_decref(in);
    json_decref(out);
    lua_settop(L, 0);
}

static void test_round_trips(void **state)
{
    (void)state;
    round_trip("{\"a\":[1,2,{\"b\":null}],\"c\":{\"d\":[[],{}]},\"e\":\"x\"}");
    round_trip("[]");
    round_trip("{}");
    round_trip("[{}]");
    round_trip("{\"list\":[],\"map\":{}}");
    round_trip("null");
    round_trip("[null,null]");
    round_trip("[true,false]");
    round_trip("[0,-1,1.5,-0.25,1e300,3.0]");
    round_trip("[9223372036854775807,-9223372036854775808,9007199254740993]");
    round_trip("[\"h\\u00e9llo \\u2603 \\ud83d\\ude00\",\"\\u0000nul\"]");
    round_trip("{\"\\u00e9t\\u00e9\":1}");
    round_trip("\"just a string\"");
    round_trip("42");
}

static void test_lua_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *lua;
        const char *json;
    } cases[] = {
        {"return {}", "{}"},
        {"return tarmac.json.array({})", "[]"},
        {"return {1, 2, 3}", "[1,2,3]"},
        {"return {[1] = 'a', [2] = 'b'}", "[\"a\",\"b\"]"},
        {"return {a = 1, b = {true, false}}", "{\"a\":1,\"b\":[true,false]}"},
        {"return {x = tarmac.null}", "{\"x\":null}"},
        {"return 2.5", "2.5"},
        {"return 3", "3"},
        {"return nil", "null"},
        {"return tarmac.json.array({1, 2})", "[1,2]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(luaL_dostring(L, cases[i].lua), LUA_OK);
        char err[256];
        json_t *got = core_hooks_to_json(L, -1, err, sizeof(err));
        if (!got)
            fail_msg("%s: %s", cases[i].lua, err);
        json_t *want = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        if (!json_equal(got, want))
            fail_msg("%s: got %s", cases[i].lua, json_dumps(got, JSON_ENCODE_ANY));
        json_decref(got);
        json_decref(want);
        lua_settop(L, 0);
    }
    /* a real stays a real */
    assert_int_equal(luaL_dostring(L, "return 3.0"), LUA_OK);
    json_t *r = core_hooks_to_json(L, -1, NULL, 0);
    assert_true(json_is_real(r));
    json_decref(r);
    lua_settop(L, 0);
}

static void test_conversion_errors(void **state)
{
    (void)state;
    static const struct {
        const char *lua;
        const char *error;
    } cases[] = {
        {"return {1, a = 2}", "value: a table whose keys are neither 1..n nor all strings"},
        {"return {1, nil, 3}", "value: a table whose keys"},
        {"return {[0] = 1}", "value: a table whose keys"},
        {"return {[1.5] = 1}", "value: a table whose keys"},
        {"return {[true] = 1}", "value: a table whose keys"},
        {"return {items = {1, 2, print}}", "value.items[3]: not a JSON value (function)"},
        {"return {co = coroutine.create(print)}", "value.co: not a JSON value (thread)"},
        {"return {n = 0/0}", "value.n: NaN and infinities are not JSON numbers"},
        {"return {n = math.huge}", "value.n: NaN and infinities"},
        {"return {s = '\\xff'}", "value.s: not UTF-8 text"},
        {"return {['\\xff'] = 1}", "the key is not UTF-8 text"},
        {"local t = {} t.t = t return t", "nested deeper than 64"},
        {"local a = tarmac.json.array({1}) a.x = 2 return a", "an array (tarmac.json.array)"},
        {"local ok, e = pcall(tarmac.refuse, 400) return {e}", "value[1]: not a JSON value"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (luaL_dostring(L, cases[i].lua) != LUA_OK)
            fail_msg("%s: %s", cases[i].lua, lua_tostring(L, -1));
        char err[256];
        json_t *got = core_hooks_to_json(L, -1, err, sizeof(err));
        if (got)
            fail_msg("%s: converted", cases[i].lua);
        if (!strstr(err, cases[i].error))
            fail_msg("%s: got \"%s\", expected \"%s\"", cases[i].lua, err, cases[i].error);
        lua_settop(L, 0);
    }
    assert_int_equal(luaL_dostring(L, "return {items = {{}, {f = print}}}"), LUA_OK);
    char err[256];
    assert_null(core_hooks_to_json_named(L, -1, "body", err, sizeof(err)));
    assert_string_equal(err, "body.items[2].f: not a JSON value (function)");
    lua_settop(L, 0);
}

/* [[[...]]] n deep */
static json_t *nested(int n)
{
    json_t *v = json_array();
    for (int i = 1; i < n; i++) {
        json_t *outer = json_array();
        json_array_append_new(outer, v);
        v = outer;
    }
    return v;
}

static void test_depth_limit(void **state)
{
    (void)state;
    json_t *ok = nested(CORE_HOOKS_JSON_DEPTH_MAX);
    assert_int_equal(core_hooks_push_json(L, ok), RC_OK);
    json_t *back = core_hooks_to_json(L, -1, NULL, 0);
    assert_true(json_equal(ok, back));
    json_decref(back);
    json_decref(ok);
    lua_settop(L, 0);

    json_t *deep = nested(CORE_HOOKS_JSON_DEPTH_MAX + 1);
    assert_int_equal(core_hooks_push_json(L, deep), RC_TOO_LARGE);
    assert_int_equal(lua_gettop(L), 0);
    json_decref(deep);

    assert_int_equal(luaL_dostring(L, "local t = {} for i = 1, 64 do t = {t} end return t"),
                     LUA_OK);
    char err[256];
    assert_null(core_hooks_to_json(L, -1, err, sizeof(err)));
    char want[512] = "value";
    for (int i = 0; i < CORE_HOOKS_JSON_DEPTH_MAX; i++)
        strcat(want, "[1]");
    strcat(want, ": nested deeper than 64 tables (or a table inside itself)");
    assert_string_equal(err, want);
    lua_settop(L, 0);
}

/* ---- tarmac.json from scripts ------------------------------------------ */

static const char *run_string(const char *code)
{
    static char out[1024];
    char err[512];
    char text[1024];
    snprintf(text, sizeof(text), "function f() %s end", code);
    if (core_hooks_vm_load_string(vm, "j.lua", str_from_cstr(text), err, sizeof(err)))
        fail_msg("%s", err);
    lua_getglobal(L, "f");
    enum core_hooks_status st;
    struct core_hooks_call *call = core_hooks_call_start(vm, 0, &st);
    if (st == CORE_HOOKS_DONE)
        snprintf(out, sizeof(out), "%s", lua_tostring(core_hooks_call_thread(call), 1));
    else
        snprintf(out, sizeof(out), "error %d: %s", (int)core_hooks_call_error(call)->kind,
                 core_hooks_call_error(call)->message);
    core_hooks_call_free(call);
    return out;
}

static void test_script_encode_decode(void **state)
{
    (void)state;
    const char *j = "{\"a\":[],\"b\":{},\"c\":null,\"d\":1,\"e\":1.5,\"f\":\"\xc3\xa9\"}";
    char code[256];
    snprintf(code, sizeof(code), "return tarmac.json.encode(tarmac.json.decode('%s'))", j);
    assert_string_equal(run_string(code), j);
    assert_string_equal(run_string("return tarmac.json.encode({z = 1, a = {2, 3}, m = 'x'})"),
                        "{\"a\":[2,3],\"m\":\"x\",\"z\":1}");
    assert_string_equal(run_string("return tarmac.json.encode(0.1)"), "0.1");
    assert_string_equal(run_string("return tarmac.json.encode('a\"b\\n')"), "\"a\\\"b\\n\"");
    assert_string_equal(run_string("return tostring(tarmac.json.decode('null') == tarmac.null)"),
                        "true");
    assert_string_equal(run_string("return math.type(tarmac.json.decode('[3]')[1]) .. ' ' .. "
                                   "math.type(tarmac.json.decode('[3.0]')[1])"),
                        "integer float");
    assert_string_equal(run_string("return tostring(getmetatable(tarmac.json.decode('[]')))"),
                        "tarmac.array");
    assert_string_equal(run_string("return #tarmac.json.decode('\"a\\\\u0000b\"')"), "3");
    assert_string_equal(run_string("local ok, e = pcall(tarmac.json.decode, '{\"a\":') return e"),
                        "tarmac.json.decode: unexpected end of text at byte 5");
    assert_string_equal(run_string("local ok, e = pcall(tarmac.json.encode, {print}) return e"),
                        "tarmac.json.encode: value[1]: not a JSON value (function)");
    assert_string_equal(run_string("local ok, e = pcall(tarmac.json.decode, string.rep('[', 70) .. "
                                   "string.rep(']', 70)) return e"),
                        "tarmac.json.decode: nested deeper than 64 at byte 64");
    assert_string_equal(
        run_string("local ok, e = pcall(setmetatable, tarmac.json.array({}), {}) return e"),
        "cannot change a protected metatable");
}

/* tarmac.json.decode(text) as a call: the value re-encoded, or the error. */
static const char *decode(const char *text)
{
    lua_State *M = L;
    lua_pushstring(M, text);
    lua_setglobal(M, "TEXT");
    return run_string("local ok, v = pcall(tarmac.json.decode, TEXT)\n"
                      "if not ok then return v end\n"
                      "if type(v) == 'number' then return math.type(v) .. ' ' .. tostring(v) end\n"
                      "return tarmac.json.encode(v)");
}

static void test_decoder(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {" { \"a\" : [ 1 , 2 ] , \"b\" : { } }\n", "{\"a\":[1,2],\"b\":{}}"},
        {"[\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"]", "[\"\\\" \\\\ / \\b \\f \\n \\r \\t\"]"},
        {"\"\\u00e9\\u2603\\ud83d\\ude00\"", "\"\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80\""},
        {"\"a\\u0000b\"", "\"a\\u0000b\""},
        {"{\"k\":1,\"k\":2}", "{\"k\":2}"},
        {"9223372036854775807", "integer 9223372036854775807"},
        {"-9223372036854775808", "integer -9223372036854775808"},
        {"9223372036854775808", "float 9.2233720368548e+18"},
        {"-0", "integer 0"},
        {"1E2", "float 100.0"},
        {"0.5e-3", "float 0.0005"},
        {"[true,false,null]", "[true,false,null]"},
        {"", "tarmac.json.decode: unexpected end of text at byte 0"},
        {"[1,]", "tarmac.json.decode: invalid value at byte 3"},
        {"[1 2]", "tarmac.json.decode: ',' or ']' expected at byte 3"},
        {"{\"a\" 1}", "tarmac.json.decode: ':' expected at byte 5"},
        {"{a:1}", "tarmac.json.decode: a string key expected at byte 1"},
        {"01", "tarmac.json.decode: text after the value at byte 1"},
        {"1.", "tarmac.json.decode: invalid number at byte 2"},
        {"1e", "tarmac.json.decode: invalid number at byte 2"},
        {"-", "tarmac.json.decode: invalid value at byte 0"},
        {"1e999", "tarmac.json.decode: number out of range at byte 0"},
        {"+1", "tarmac.json.decode: invalid value at byte 0"},
        {"tru", "tarmac.json.decode: invalid value at byte 0"},
        {"nul", "tarmac.json.decode: invalid value at byte 0"},
        {"\"abc", "tarmac.json.decode: unfinished string at byte 4"},
        {"\"a\tb\"", "tarmac.json.decode: control character in a string at byte 2"},
        {"\"\\x\"", "tarmac.json.decode: invalid escape at byte 2"},
        {"\"\\u12\"", "tarmac.json.decode: invalid \\u escape at byte 3"},
        {"\"\\ud83d\"", "tarmac.json.decode: lone high surrogate at byte 7"},
        {"\"\\ude00\"", "tarmac.json.decode: lone low surrogate at byte 7"},
        {"\"\xff\"", "tarmac.json.decode: not UTF-8 text"},
        {"[1] x", "tarmac.json.decode: text after the value at byte 4"},
        {"// c\n1", "tarmac.json.decode: invalid value at byte 0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = decode(cases[i].text);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s: got \"%s\", expected \"%s\"", cases[i].text, got, cases[i].want);
    }
    char deep[200];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    deep[128] = '\0';
    assert_int_equal(strncmp(decode(deep), "[[[[", 4), 0);
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    assert_string_equal(decode(deep), "tarmac.json.decode: nested deeper than 64 at byte 64");
}

static void test_script_json_memory(void **state)
{
    (void)state;
    core_hooks_vm_free(vm);
    struct core_hooks_vm_config cfg = {.memory_max = 4 << 20};
    vm = core_hooks_vm_new(&cfg);
    L = core_hooks_vm_lua(vm);
    /* decoding a table bigger than the cap */
    assert_string_equal(
        run_string("return tarmac.json.decode('[' .. string.rep('1,', 300000) .. '1]')"),
        "error 2: not enough memory (hooks may hold 4194304 bytes)");
    /* encoding text bigger than what is left: the C text is freed */
    assert_string_equal(run_string("local s = string.rep('x', 1 << 20) "
                                   "return tarmac.json.encode({s, s, s})"),
                        "error 2: not enough memory (hooks may hold 4194304 bytes)");
    /* past the cap as text: too large */
    assert_string_equal(run_string("local s = string.rep('x', 1 << 20) "
                                   "return tarmac.json.encode({s, s, s, s, s})"),
                        "error 0: j.lua:1: tarmac.json.encode: value[4]: too large to convert "
                        "(past the memory limit)");
    assert_string_equal(run_string("return tarmac.json.encode({1})"), "[1]");
}

int main(void)
{
    json_set_alloc_funcs(xmalloc, xfree);
    if (secure_init() != RC_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lua_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conversion_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_script_encode_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decoder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_script_json_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
