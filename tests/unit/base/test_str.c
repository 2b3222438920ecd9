/* test_str.c -- unit tests of base/str.h's list splitting (str_next_item):
 * empty input, one item, empty items, a trailing separator; and hex
 * encoding (str_hex_encode) against str_hex_value. */
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

static void hex_encodes_every_byte(void **state)
{
    (void)state;
    unsigned char in[256];
    for (int i = 0; i < 256; i++)
        in[i] = (unsigned char)i;
    char out[513];
    memset(out, '#', sizeof(out));
    str_hex_encode(in, sizeof(in), out);
    assert_int_equal(out[512], '#'); /* writes 2n digits, nothing after */
    for (int i = 0; i < 256; i++) {
        assert_true(out[2 * i] < 'A' || out[2 * i] > 'F'); /* lowercase */
        assert_int_equal(str_hex_value(out[2 * i]) * 16 + str_hex_value(out[2 * i + 1]), i);
    }
    assert_memory_equal(out + 2 * 0xab, "ab", 2);
    str_hex_encode(in, 0, out); /* nothing */
    assert_int_equal(out[0], '0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(next_item_splits),
        cmocka_unit_test(hex_encodes_every_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
