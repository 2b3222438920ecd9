/* test_filter_bind.c -- unit tests of core/filter/filter_bind.h: {:name}
 * placeholders become JSON literals (strings escaped, numbers, booleans), and
 * every refusal: a malformed placeholder, no params, a missing or non-scalar
 * value, a filter past the limit, a full output buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/alloc.h"
#include "core/filter/filter_bind.h"

/* Binds f with params (JSON text or NULL); returns the rc, out and why. */
static enum rc bind(const char *f, const char *params, char *out, size_t outlen, char *why)
{
    json_t *p = params ? json_loads(params, 0, NULL) : NULL;
    struct buf b;
    buf_init(&b, 1024);
    why[0] = '\0';
    enum rc rc = core_filter_bind(str_from_cstr(f), p, &b, why, 160);
    snprintf(out, outlen, "%.*s", (int)b.len, b.data ? b.data : "");
    buf_cleanup(&b);
    json_decref(p);
    return rc;
}

static void test_bind_replaces_placeholders_with_literals(void **state)
{
    (void)state;
    char out[256], why[160];
    assert_int_equal(bind("note = {:n} && qty > {:q} && ok = {:b} && x = {:f}",
                          "{\"n\":\"a\\\"b\",\"q\":2,\"b\":true,\"f\":2.5}", out, sizeof(out), why),
                     RC_OK);
    assert_string_equal(out, "note = \"a\\\"b\" && qty > 2 && ok = true && x = 2.5");
}

static void test_bind_keeps_text_without_placeholders(void **state)
{
    (void)state;
    char out[256], why[160];
    assert_int_equal(bind("a = '{x}' && b = '{:'", NULL, out, sizeof(out), why), RC_INVALID);
    assert_string_equal(why, "a filter placeholder is {:name}");
    assert_int_equal(bind("a = '{x}'", NULL, out, sizeof(out), why), RC_OK);
    assert_string_equal(out, "a = '{x}'");
    assert_int_equal(bind("", NULL, out, sizeof(out), why), RC_OK);
    assert_string_equal(out, "");
}

static void test_bind_refuses_bad_values(void **state)
{
    (void)state;
    char out[256], why[160];
    assert_int_equal(bind("a = {:}", "{}", out, sizeof(out), why), RC_INVALID);
    assert_string_equal(why, "a filter placeholder is {:name}");
    assert_int_equal(bind("a = {:x", "{}", out, sizeof(out), why), RC_INVALID);
    assert_string_equal(why, "a filter placeholder is {:name}");
    assert_int_equal(bind("a = {:x}", NULL, out, sizeof(out), why), RC_INVALID);
    assert_string_equal(why, "the filter has {:x} and no params");
    assert_int_equal(bind("a = {:x}", "{\"y\":1}", out, sizeof(out), why), RC_INVALID);
    assert_string_equal(why, "filter parameter {:x} is not a string, number or boolean");
    assert_int_equal(bind("a = {:x}", "{\"x\":[1]}", out, sizeof(out), why), RC_INVALID);
    assert_int_equal(bind("a = {:x}", "{\"x\":null}", out, sizeof(out), why), RC_INVALID);
}

static void test_bind_limits(void **state)
{
    (void)state;
    char why[160];
    size_t n = CORE_FILTER_MAX_BOUND + 1;
    char *big = xmalloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    struct buf b;
    buf_init(&b, 4 * n);
    assert_int_equal(core_filter_bind(str_from_cstr(big), NULL, &b, why, sizeof(why)), RC_INVALID);
    assert_string_equal(why, "a filter has at most 64 KiB");
    buf_cleanup(&b);
    buf_init(&b, 8);
    assert_int_equal(core_filter_bind(str_from_cstr("qty > 123456789"), NULL, &b, why, sizeof(why)),
                     RC_TOO_LARGE);
    buf_cleanup(&b);
    xfree(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_replaces_placeholders_with_literals),
        cmocka_unit_test(test_bind_keeps_text_without_placeholders),
        cmocka_unit_test(test_bind_refuses_bad_values),
        cmocka_unit_test(test_bind_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
