/* test_lib.c -- unit tests of core/hooks/lib.h: tarmac.crypto against known
 * vectors (RFC 4231 case 2, FIPS 180-2), tarmac.base64, tarmac.time,
 * tarmac.log and print (the line they write), and the log escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "base/secure.h"
#include "core/hooks/lib.h"
#include "core/hooks/vm.h"

static struct core_hooks_vm *vm;

static int setup(void **state)
{
    (void)state;
    vm = core_hooks_vm_new(NULL);
    return vm ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    core_hooks_vm_free(vm);
    return 0;
}

/* Runs `return <expr>` as a call; its result as a string, or "error: msg". */
static const char *eval(const char *expr)
{
    static char out[1024];
    char code[1024];
    char err[512];
    snprintf(code, sizeof(code), "function f() return %s end", expr);
    if (core_hooks_vm_load_string(vm, "l.lua", str_from_cstr(code), err, sizeof(err)))
        fail_msg("%s", err);
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, "f");
    enum core_hooks_status st;
    struct core_hooks_call *call = core_hooks_call_start(vm, 0, &st);
    lua_State *co = core_hooks_call_thread(call);
    if (st == CORE_HOOKS_DONE && lua_type(co, 1) == LUA_TBOOLEAN)
        snprintf(out, sizeof(out), "%s", lua_toboolean(co, 1) ? "true" : "false");
    else if (st == CORE_HOOKS_DONE)
        snprintf(out, sizeof(out), "%s", lua_tostring(co, 1));
    else
        snprintf(out, sizeof(out), "error: %s", core_hooks_call_error(call)->message);
    core_hooks_call_free(call);
    return out;
}

static void test_crypto_vectors(void **state)
{
    (void)state;
    /* RFC 4231 test case 2 */
    assert_string_equal(eval("tarmac.crypto.hmac_sha256('Jefe', 'what do ya want for nothing?')"),
                        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* FIPS 180-2 "abc" and the empty string */
    assert_string_equal(eval("tarmac.crypto.sha256('abc')"),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(eval("tarmac.crypto.sha256('')"),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(eval("tarmac.crypto.equal('abc', 'abc')"), "true");
    assert_string_equal(eval("tarmac.crypto.equal('abc', 'abd')"), "false");
    assert_string_equal(eval("tarmac.crypto.equal('abc', 'abcd')"), "false");
    assert_string_equal(eval("#tarmac.crypto.random_id()"), "15");
    assert_string_equal(eval("#tarmac.crypto.random_id(40)"), "40");
    assert_string_equal(eval("tarmac.crypto.random_id(200):match('^[a-z0-9]+$') ~= nil"), "true");
    assert_string_equal(eval("tarmac.crypto.random_id() ~= tarmac.crypto.random_id()"), "true");
    assert_string_equal(eval("pcall(tarmac.crypto.random_id, 0)"), "false");
    assert_string_equal(eval("pcall(tarmac.crypto.random_id, 256)"), "false");
    assert_string_equal(eval("pcall(tarmac.crypto.sha256)"), "false");
}

static void test_base64(void **state)
{
    (void)state;
    assert_string_equal(eval("tarmac.base64.encode('hello')"), "aGVsbG8=");
    assert_string_equal(eval("tarmac.base64.encode('')"), "");
    assert_string_equal(eval("tarmac.base64.encode('\\xfb\\xff', 'url')"), "-_8");
    assert_string_equal(eval("tarmac.base64.encode('\\xfb\\xff')"), "+/8=");
    assert_string_equal(eval("tarmac.base64.decode('aGVsbG8=')"), "hello");
    assert_string_equal(eval("tarmac.base64.decode('-_8', 'url') == '\\xfb\\xff'"), "true");
    assert_string_equal(eval("pcall(tarmac.base64.decode, 'aGVsbG8')"), "false");
    assert_string_equal(eval("pcall(tarmac.base64.decode, '-_8')"), "false");
    assert_string_equal(eval("pcall(tarmac.base64.encode, 'x', 'hex')"), "false");
    assert_string_equal(eval("select(2, pcall(tarmac.base64.decode, '!!'))"),
                        "tarmac.base64.decode: not base64 (std)");
}

static void test_time(void **state)
{
    (void)state;
    assert_string_equal(eval("tarmac.time.iso(0)"), "1970-01-01 00:00:00.000Z");
    assert_string_equal(eval("tarmac.time.iso(1796292000123)"), "2026-12-03 10:00:00.123Z");
    assert_string_equal(eval("tarmac.time.iso(1796292000123.9)"), "2026-12-03 10:00:00.123Z");
    assert_string_equal(eval("pcall(tarmac.time.iso, -1)"), "false");
    assert_string_equal(eval("pcall(tarmac.time.iso, 1e300)"), "false");
    assert_string_equal(eval("pcall(tarmac.time.iso, 0/0)"), "false");
    assert_string_equal(eval("#tarmac.time.iso()"), "24");
    assert_string_equal(eval("math.type(tarmac.time.now())"), "integer");
    int64_t before = chrono_real_ms();
    long long now = atoll(eval("tarmac.time.now()"));
    assert_true(now >= before && now <= chrono_real_ms());
}

static char captured[4096];

static void capture(const char *text, size_t len, void *ctx)
{
    (void)ctx;
    size_t used = strlen(captured);
    if (used + len < sizeof(captured)) {
        memcpy(captured + used, text, len);
        captured[used + len] = '\0';
    }
}

static void test_log(void **state)
{
    (void)state;
    captured[0] = '\0';
    log_set_sink(capture, NULL);
    eval("tarmac.log.warn('careful \"quoted\"\\nnext line')");
    eval("tarmac.log.info('n =', 42, nil)");
    eval("tarmac.log.error(setmetatable({}, { __tostring = function() return 'custom' end }))");
    eval("print('from print')");
    log_set_sink(NULL, NULL);
    assert_non_null(strstr(captured, "level=warn msg=\"hook log\" script=l.lua:1 "
                                     "text=\"careful \\\"quoted\\\"\\nnext line\"\n"));
    assert_non_null(strstr(captured, "level=info msg=\"hook log\" script=l.lua:1 "
                                     "text=\"n =\\t42\\tnil\"\n"));
    assert_non_null(
        strstr(captured, "level=error msg=\"hook log\" script=l.lua:1 text=\"custom\""));
    assert_non_null(strstr(captured, "level=info msg=\"hook log\" script=l.lua:1 "
                                     "text=\"from print\""));
}

static void test_log_escape(void **state)
{
    (void)state;
    char out[16];
    assert_string_equal(core_hooks_log_escape("a\"b\\c\n\x01", 8, out, sizeof(out)),
                        "a\\\"b\\\\c\\n\\u0001");
    /* cut before an escape that would not fit, never inside it */
    assert_string_equal(core_hooks_log_escape("abcdefghijklmn\n", 15, out, sizeof(out)),
                        "abcdefghijklmn");
    assert_string_equal(core_hooks_log_escape("", 0, out, sizeof(out)), "");
}

int main(void)
{
    json_set_alloc_funcs(xmalloc, xfree);
    if (secure_init() != RC_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crypto_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log, setup, teardown),
        cmocka_unit_test(test_log_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
