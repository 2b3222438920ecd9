/* test_chrono.c -- the API's date format read back (chrono_parse_db_ms)
 * against what chrono_format_db_ms writes, and what it refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/chrono.h"

static void test_parse_reads_the_api_format(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_true(chrono_parse_db_ms("2026-11-02 10:00:00.000Z", &ms));
    assert_int_equal(ms, 1793613600000LL);
    assert_true(chrono_parse_db_ms("2026-11-02T10:00:00.5Z", &ms));
    assert_int_equal(ms, 1793613600500LL);
    assert_true(chrono_parse_db_ms("1970-01-01 00:00:00", &ms));
    assert_int_equal(ms, 0);
    assert_true(chrono_parse_db_ms("2024-02-29 23:59:59.999Z", &ms));
    char out[32];
    chrono_format_db_ms(ms, out);
    assert_string_equal(out, "2024-02-29 23:59:59.999Z");
}

static void test_parse_refuses_what_is_no_date(void **state)
{
    (void)state;
    int64_t ms = 42;
    const char *bad[] = {"",
                         "2026-11-02",
                         "2026-13-02 10:00:00.000Z",
                         "2026-11-02 24:00:00Z",
                         "2026-11-02 10:00:00.000+01:00",
                         "2026-11-02_10:00:00Z",
                         "x",
                         NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(chrono_parse_db_ms(bad[i], &ms));
    assert_int_equal(ms, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reads_the_api_format),
        cmocka_unit_test(test_parse_refuses_what_is_no_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
