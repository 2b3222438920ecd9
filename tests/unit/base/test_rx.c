/* test_rx.c -- unit tests of base/rx.h: RE2 patterns as PocketBase users
 * write them, translated to POSIX ERE, compiled by glibc and run against
 * inputs Go's regexp would accept and refuse; the constructs outside the
 * subset are refused with a reason. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/rx.h"

/* Does the RE2 pattern find a match in s (Go's MatchString)? */
static bool matches(const char *pattern, const char *s)
{
    char ere[1024];
    const char *why = NULL;
    if (rx_translate(pattern, ere, sizeof(ere), &why) != RC_OK)
        fail_msg("\"%s\" refused: %s", pattern, why);
    regex_t re;
    if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0)
        fail_msg("\"%s\" -> \"%s\" does not compile", pattern, ere);
    bool m = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

static void test_rx_shorthand_classes_mean_what_go_means(void **state)
{
    (void)state;
    assert_true(matches("^\\d{6}$", "123456"));
    assert_false(matches("^\\d{6}$", "dddddd"));
    assert_false(matches("^\\d+$", "12a"));
    assert_true(matches("^\\D+$", "abc"));
    assert_false(matches("^\\D+$", "a1"));
    assert_true(matches("^\\w+$", "a_Z9"));
    assert_false(matches("^\\w+$", "a-b"));
    assert_true(matches("^\\W$", "-"));
    assert_true(matches("^a\\sb$", "a\tb"));
    assert_false(matches("^a\\Sb$", "a b"));
    assert_true(matches("^[\\w.-]+@[\\w-]+\\.\\w{2,}$", "jo.x-y@mail-1.com"));
    assert_false(matches("^[\\w.-]+@[\\w-]+\\.\\w{2,}$", "jo x@mail.com"));
    assert_true(matches("^\\+?\\d{10,15}$", "+4915112345678"));
    assert_false(matches("^\\+?\\d{10,15}$", "+49 151"));
    assert_true(matches("^[\\d\\s]+$", "12 34"));
}

static void test_rx_escapes_and_brackets(void **state)
{
    (void)state;
    assert_true(matches("^a\\.b$", "a.b"));
    assert_false(matches("^a\\.b$", "axb"));
    assert_true(matches("^\\(x\\)$", "(x)"));
    assert_true(matches("^[\\]a]+$", "]a]"));
    assert_true(matches("^[a\\-z]+$", "a-z"));
    assert_false(matches("^[a\\-z]+$", "b"));
    assert_true(matches("^[\\^]$", "^"));
    assert_true(matches("^[a\\^]+$", "^a"));
    assert_true(matches("^[^a]$", "b"));
    assert_false(matches("^[^a]$", "a"));
    assert_true(matches("^[\\\\]$", "\\"));
    assert_true(matches("^[[:alpha:]]+$", "abc"));
    assert_true(matches("^a{2}$", "aa"));
    assert_true(matches("^a{2,}$", "aaaa"));
    assert_true(matches("^x{$", "x{"));
    assert_true(matches("^(?:ab)+$", "abab"));
    assert_true(matches("^(a|b)c$", "bc"));
    assert_true(matches("\\/path\\/", "/path/"));
    assert_true(matches("abc", "xxabcxx")); /* unanchored search, as Go's MatchString */
}

static void test_rx_refuses_what_glibc_would_misread(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "(?i)abc",  "a*?",   "a+?",   "a??",   "a{2}?",   "\\bword\\b", "\\p{L}+", "(a)\\1",
        "(?P<n>a)", "(?=a)", "(?!a)", "\\x41", "\\u0041", "a**",        "*a",      "(ab",
        "ab)",      "[ab",   "[]",    "[\\D]", "a{1001}", "a{3,2}",     "\\q",     "[[.a.]]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[256] = "junk";
        const char *why = NULL;
        if (rx_translate(bad[i], out, sizeof(out), &why) == RC_OK)
            fail_msg("\"%s\" was accepted as \"%s\"", bad[i], out);
        assert_non_null(why);
        assert_string_equal(out, "");
    }
    char small[4];
    assert_int_equal(rx_translate("\\d\\d", small, sizeof(small), NULL), RC_TOO_LARGE);
    assert_int_equal(rx_translate(NULL, small, sizeof(small), NULL), RC_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rx_shorthand_classes_mean_what_go_means),
        cmocka_unit_test(test_rx_escapes_and_brackets),
        cmocka_unit_test(test_rx_refuses_what_glibc_would_misread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
