/* test_edit_distance.c -- one edit away: insertions, deletions,
 * substitutions and swaps of neighbours, counted in code points. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/edit_distance.h"

static bool within(const char *a, const char *b, unsigned max)
{
    return edit_distance_within(str_from_cstr(a), str_from_cstr(b), max);
}

static void test_one_edit_of_each_kind_is_within_one(void **state)
{
    (void)state;
    assert_true(within("rocket", "rocket", 0));
    assert_true(within("rocket", "rockets", 1)); /* insertion */
    assert_true(within("rocket", "rcket", 1));   /* deletion */
    assert_true(within("rocket", "rucket", 1));  /* substitution */
    assert_true(within("rocket", "rokcet", 1));  /* swap of neighbours */
    assert_true(within("rocket", "orcket", 1));  /* a swap at the start */
    assert_true(within("rocket", "rockte", 1));  /* and at the end */
    assert_false(within("rocket", "ruckat", 1));
    assert_true(within("rocket", "ruckat", 2));
    assert_false(within("rocket", "racket", 0));
    assert_false(within("abcdef", "badcfe", 2)); /* three swaps */
    assert_true(within("", "a", 1));
    assert_false(within("", "ab", 1));
}

static void test_code_points_not_bytes(void **state)
{
    (void)state;
    /* é is two bytes, one edit */
    assert_true(within("cafe", "caf\xc3\xa9", 1));
    /* हिन्दी with its virama and vowel sign dropped: two edits */
    assert_false(within("\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80",
                        "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa4\xa6", 1));
    assert_true(within("\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80",
                       "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6", 1));
    assert_int_equal(edit_distance_length(str_from_cstr("caf\xc3\xa9")), 4);
}

static void test_words_too_long_are_never_within(void **state)
{
    (void)state;
    char a[EDIT_DISTANCE_MAX_LEN + 2];
    memset(a, 'a', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    assert_false(within(a, a, 3));
    a[EDIT_DISTANCE_MAX_LEN] = '\0';
    assert_true(within(a, a, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_edit_of_each_kind_is_within_one),
        cmocka_unit_test(test_code_points_not_bytes),
        cmocka_unit_test(test_words_too_long_are_never_within),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
