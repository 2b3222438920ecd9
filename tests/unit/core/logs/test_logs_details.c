/* test_logs_details.c -- unit tests of core_logs_details (core/logs.h): an
 * error answer's data object becomes compact JSON text with sorted keys,
 * bounded: too long, it keeps the first keys that fit and is always a whole,
 * valid object; empty, non-object or nothing fitting gives 0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/logs.h"

static size_t details(const char *json, char *out, size_t cap)
{
    json_t *d = json_loads(json, 0, NULL);
    size_t n = core_logs_details(d, out, cap);
    json_decref(d);
    return n;
}

static void test_details_sorted_compact(void **state)
{
    (void)state;
    char out[CORE_LOGS_DETAILS_MAX];
    size_t n =
        details("{\"title\": {\"code\": \"c\", \"message\": \"m\"}, \"email\": {\"code\": \"e\"}}",
                out, sizeof(out));
    const char *want = "{\"email\":{\"code\":\"e\"},\"title\":{\"code\":\"c\",\"message\":\"m\"}}";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
}

static void test_details_empty_or_not_object(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(details("{}", out, sizeof(out)), 0);
    assert_int_equal(details("[1, 2]", out, sizeof(out)), 0);
    assert_int_equal(core_logs_details(NULL, out, sizeof(out)), 0);
    /* The one key does not fit: nothing rather than a cut text. */
    assert_int_equal(details("{\"a\": \"0123456789012345678901234567890123456789\"}", out, 16), 0);
}

static void test_details_cut_keeps_whole_keys(void **state)
{
    (void)state;
    /* 40 field errors of ~50 bytes: far over the room. */
    json_t *d = json_object();
    for (int i = 0; i < 40; i++) {
        char key[32];
        snprintf(key, sizeof(key), "field%02d", i);
        json_object_set_new(
            d, key,
            json_pack("{s:s,s:s}", "code", "validation_required", "message", "Cannot be blank."));
    }
    char out[CORE_LOGS_DETAILS_MAX + 1];
    size_t n = core_logs_details(d, out, CORE_LOGS_DETAILS_MAX);
    json_decref(d);
    assert_true(n > 0 && n <= CORE_LOGS_DETAILS_MAX);
    json_error_t err;
    json_t *back = json_loadb(out, n, 0, &err);
    assert_non_null(back); /* valid JSON */
    assert_true(json_is_object(back));
    size_t kept = json_object_size(back);
    assert_true(kept > 1 && kept < 40);
    /* the first keys, in order */
    for (size_t i = 0; i < kept; i++) {
        char key[32];
        snprintf(key, sizeof(key), "field%02zu", i);
        assert_non_null(json_object_get(back, key));
    }
    json_decref(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_details_sorted_compact),
        cmocka_unit_test(test_details_empty_or_not_object),
        cmocka_unit_test(test_details_cut_keeps_whole_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
