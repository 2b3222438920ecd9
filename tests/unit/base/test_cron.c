/* test_cron.c -- unit tests of base/cron.h: what parses and what does not,
 * next times across minutes, hours, days, months and years, the two day
 * fields (either matches when both are restricted), macros; malformed
 * fields, lists, ranges, steps and numbers (tests/fuzz/fuzz_cron.c fuzzes
 * the rest). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "base/cron.h"

static int64_t at(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm) * 1000;
}

static int64_t next(const char *expr, int64_t after)
{
    struct cron c;
    assert_true(cron_parse(str_from_cstr(expr), &c));
    return cron_next(&c, after);
}

static void parses(void **state)
{
    (void)state;
    const char *const good[] = {
        "* * * * *",     "0 0 1 1 *",    "*/5 * * * *", "0-30/10 8-17 * * 1-5",
        "1,2,3 * * * *", "5/15 * * * *", "0 0 * * 7",   " @daily ",
        "@hourly",       "@weekly",      "@monthly",    "@yearly",
        "@annually",     "59 23 31 12 6"};
    struct cron c;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(cron_parse(str_from_cstr(good[i]), &c));
    const char *const bad[] = {
        "",          "* * * *",    "* * * * * *", "60 * * * *",   "* 24 * * *",
        "* * 0 * *", "* * * 13 *", "* * * * 8",   "*/0 * * * *",  "5-1 * * * *",
        "a * * * *", "1, * * * *", "@never",      "1-2-3 * * * *"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(cron_parse(str_from_cstr(bad[i]), &c));
}

static void refuses_malformed(void **state)
{
    (void)state;
    const char *const bad[] = {
        "*/ * * * *",    /* a step without a number */
        "5/ * * * *",    /* idem after a start */
        "1- * * * *",    /* a range without its end */
        "-1 * * * *",    /* a sign */
        "+1 * * * *",    /* idem */
        ",1 * * * *",    /* a leading comma */
        "1,,2 * * * *",  /* an empty item */
        "*5 * * * *",    /* a star followed by a number */
        "** * * * *",    /* two stars */
        "*/5/5 * * * *", /* two steps */
        "10000 * * * *", /* a number past the reader's cap */
        "99999999999999999999 * * * *",
        "0x1 * * * *",  /* not decimal */
        "1.5 * * * *",  /* not an integer */
        "* * * * *\n",  /* a newline is not a separator */
        "* * * * * *",  /* six fields (seconds are not supported) */
        "@daily x",     /* a macro with more */
        "@DAILY",       /* macros are lower-case */
        "@",            /* no macro name */
        " ",            /* only blanks */
        "* * 32 * *",   /* day past 31 */
        "* * * 0 *",    /* month 0 */
        "0-60 * * * *", /* a range past the field */
        "60/5 * * * *", /* a start past the field */
    };
    struct cron c;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cron_parse(str_from_cstr(bad[i]), &c))
            fail_msg("accepted \"%s\"", bad[i]);
    }
    /* and a few near-misses that are valid */
    assert_true(cron_parse(str_from_cstr("*\t*\t*\t*\t*"), &c));   /* tabs separate */
    assert_true(cron_parse(str_from_cstr("0-59/60 * * * *"), &c)); /* a step past the range */
    assert_int_equal(c.minutes, 1);
    assert_true(cron_parse(str_from_cstr("007 * * * *"), &c)); /* leading zeros */
    assert_int_equal(c.minutes, (uint64_t)1 << 7);
}

static void next_times(void **state)
{
    (void)state;
    int64_t t = at(2026, 12, 3, 11, 36) + 5000; /* a Thursday */
    assert_int_equal(next("* * * * *", t), at(2026, 12, 3, 11, 37));
    assert_int_equal(next("*/15 * * * *", t), at(2026, 12, 3, 11, 45));
    assert_int_equal(next("@hourly", t), at(2026, 12, 3, 12, 0));
    assert_int_equal(next("@daily", t), at(2026, 12, 4, 0, 0));
    assert_int_equal(next("@weekly", t), at(2026, 12, 6, 0, 0)); /* Sunday */
    assert_int_equal(next("@monthly", t), at(2027, 1, 1, 0, 0));
    assert_int_equal(next("@yearly", t), at(2027, 1, 1, 0, 0));
    assert_int_equal(next("30 9 * * 1-5", t), at(2026, 12, 4, 9, 30)); /* Friday */
    assert_int_equal(next("30 9 * * 1-5", at(2026, 12, 4, 9, 30)), at(2026, 12, 7, 9, 30));
    assert_int_equal(next("0 0 29 2 *", t), at(2028, 2, 29, 0, 0));
    assert_int_equal(next("0 0 * * 7", t), at(2026, 12, 6, 0, 0));
    /* both day fields restricted: the 15th or any Monday */
    assert_int_equal(next("0 0 15 * 1", t), at(2026, 12, 7, 0, 0));
    assert_int_equal(next("0 0 15 * 1", at(2026, 12, 7, 0, 0)), at(2026, 12, 14, 0, 0));
    assert_int_equal(next("0 0 15 * 1", at(2026, 12, 14, 0, 0)), at(2026, 12, 15, 0, 0));
    /* strictly after: an exact slot is not returned again */
    assert_int_equal(next("37 11 * * *", at(2026, 12, 3, 11, 37)), at(2026, 12, 4, 11, 37));
    assert_int_equal(next("0 0 31 2 *", t), -1); /* never */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses),
        cmocka_unit_test(refuses_malformed),
        cmocka_unit_test(next_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
