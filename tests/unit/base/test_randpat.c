/* test_randpat.c -- unit tests of base/randpat.h: generated strings match
 * their pattern (checked by glibc's own regex engine, anchored, over many
 * draws), every branch, count and class member is reachable, and what the
 * subset does not cover is refused with a reason rather than ignored. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "base/randpat.h"
#include "base/secure.h"

/* Generates `draws` strings from pattern and checks each one against the
 * anchored POSIX ERE `ere` (the same language, written for regcomp). */
static void check_matches(const char *pattern, const char *ere, int draws)
{
    regex_t re;
    char anchored[512];
    snprintf(anchored, sizeof(anchored), "^(%s)$", ere);
    assert_int_equal(regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB), 0);
    assert_int_equal(randpat_check(pattern, NULL), RC_OK);
    for (int k = 0; k < draws; k++) {
        char out[RANDPAT_MAX_OUT + 1];
        size_t n;
        assert_int_equal(randpat_generate(pattern, out, &n), RC_OK);
        assert_int_equal(strlen(out), n);
        if (regexec(&re, out, 0, NULL, 0) != 0)
            fail_msg("\"%s\" generated \"%s\", which does not match", pattern, out);
    }
    regfree(&re);
}

static void test_randpat_common_patterns_match(void **state)
{
    (void)state;
    check_matches("[a-z0-9]{15}", "[a-z0-9]{15}", 200);
    check_matches("[a-zA-Z0-9]{50}", "[a-zA-Z0-9]{50}", 50);
    check_matches("INV-[0-9]{6}", "INV-[0-9]{6}", 200);
    check_matches("^[A-Z]{2}\\d{4}$", "[A-Z]{2}[0-9]{4}", 200);
    check_matches("\\w{3,8}", "[A-Za-z0-9_]{3,8}", 200);
    check_matches("(ab|cd|e)+x?", "(ab|cd|e)+x?", 300);
    check_matches("(?:a[0-9]){2}-(x|y{2,3})", "(a[0-9]){2}-(x|y{2,3})", 300);
    check_matches("a\\.b\\-c\\[d\\]", "a\\.b-c\\[d\\]", 10);
    check_matches("[-_a]{4}[a\\]]", "[-_a]{4}[]a]", 100);
    check_matches("", "", 1);
}

static void test_randpat_reaches_every_branch_and_count(void **state)
{
    (void)state;
    bool seen[4] = {false};
    bool lens[4] = {false};
    for (int k = 0; k < 2000; k++) {
        char out[RANDPAT_MAX_OUT + 1];
        size_t n;
        assert_int_equal(randpat_generate("(a|b|c|d)", out, &n), RC_OK);
        seen[out[0] - 'a'] = true;
        assert_int_equal(randpat_generate("z{0,3}", out, &n), RC_OK);
        lens[n] = true;
    }
    for (int i = 0; i < 4; i++) {
        assert_true(seen[i]);
        assert_true(lens[i]);
    }
}

static void test_randpat_draws_are_not_repeated(void **state)
{
    (void)state;
    char a[RANDPAT_MAX_OUT + 1], b[RANDPAT_MAX_OUT + 1];
    size_t n;
    assert_int_equal(randpat_generate("[a-z0-9]{15}", a, &n), RC_OK);
    assert_int_equal(randpat_generate("[a-z0-9]{15}", b, &n), RC_OK);
    assert_string_not_equal(a, b);
}

static void test_randpat_refuses_what_it_cannot_generate(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "a.b",         "[^a]",
        "a{2,}",       "a{3,2}",
        "(ab",         "ab)",
        "[a-",         "[z-a]",
        "a**",         "a{2}+",
        "\\p{L}",      "\\1",
        "(?=a)b",      "é",
        "a{256}",      "[a]{16}{16}",
        "(a{200}){2}", "x|*",
        "[]",          "\\q",
        "a\tb",        "(((((((((a)))))))))",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = NULL;
        if (randpat_check(bad[i], &why) != RC_INVALID)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_non_null(why);
        char out[RANDPAT_MAX_OUT + 1] = "junk";
        size_t n = 7;
        assert_int_equal(randpat_generate(bad[i], out, &n), RC_INVALID);
        assert_int_equal(n, 0);
        assert_string_equal(out, "");
    }
    assert_int_equal(randpat_check(NULL, NULL), RC_INVALID);
}

static void test_randpat_longest_string_fits(void **state)
{
    (void)state;
    assert_int_equal(randpat_check("a{255}", NULL), RC_OK);
    assert_int_equal(randpat_check("a{255}b?", NULL), RC_INVALID);
    assert_int_equal(randpat_check("(abc|d){85}", NULL), RC_OK);
    char out[RANDPAT_MAX_OUT + 1];
    size_t n;
    assert_int_equal(randpat_generate("a{255}", out, &n), RC_OK);
    assert_int_equal(n, 255);
}

int main(void)
{
    if (secure_init() != RC_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_randpat_common_patterns_match),
        cmocka_unit_test(test_randpat_reaches_every_branch_and_count),
        cmocka_unit_test(test_randpat_draws_are_not_repeated),
        cmocka_unit_test(test_randpat_refuses_what_it_cannot_generate),
        cmocka_unit_test(test_randpat_longest_string_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
