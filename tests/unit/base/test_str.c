/* test_str.c -- unit tests of base/str.h's list splitting (str_next_item):
 * empty input, one item, empty items, a trailing separator. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/str.h"

/* The items of s split at sep, joined with '|' into out. */
static const char *split(const char *s, char sep, char *out, size_t room)
{
    struct str rest = str_from_cstr(s), item;
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; str_next_item(&rest, sep, &item); i++) {
        assert_true(n + item.len + 2 < room);
        if (i)
            out[n++] = '|';
        memcpy(out + n, item.ptr, item.len);
        n += item.len;
        out[n] = '\0';
    }
    return out;
}

static void next_item_splits(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(split("", ',', out, sizeof(out)), "");
    assert_string_equal(split("a", ',', out, sizeof(out)), "a");
    assert_string_equal(split("a,bc", ',', out, sizeof(out)), "a|bc");
    assert_string_equal(split("a,,b", ',', out, sizeof(out)), "a||b");
    assert_string_equal(split(",a", ',', out, sizeof(out)), "|a");
    assert_string_equal(split("a,", ',', out, sizeof(out)), "a"); /* no empty last item */
    assert_string_equal(split(",", ',', out, sizeof(out)), "");   /* one empty item */
    assert_string_equal(split("a;b,c", ';', out, sizeof(out)), "a|b,c");
    struct str rest = {NULL, 0}, item = STR_LIT("untouched");
    assert_false(str_next_item(&rest, ',', &item));
    assert_int_equal(item.len, 9);
    rest = STR_LIT(",");
    assert_true(str_next_item(&rest, ',', &item));
    assert_int_equal(item.len, 0);
    assert_int_equal(rest.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(next_item_splits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
