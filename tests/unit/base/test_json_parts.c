/* test_json_parts.c -- unit tests of base/json_parts.h: what is written is
 * taken apart again, and valid JSON; values JSON would escape, a last value
 * that is no object, and every text not in the layout (another order, a
 * key missing or renamed, escapes, cut short, trailing bytes) are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "base/json_parts.h"

static const char *const keys[] = {"hook", "eventId", "body"};

static bool take(const char *text, struct str out[3])
{
    return json_parts_take(str_from_cstr(text), keys, 3, out);
}

static void written_is_taken_apart(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 16);
    const struct str in[3] = {STR_LIT("h1"), STR_LIT("evt_x"),
                              STR_LIT("{\"a\":[1,{}],\"b\":\"}\"}")};
    assert_int_equal(json_parts_write(&b, keys, in, 3), RC_OK);
    assert_memory_equal(
        b.data, "{\"hook\":\"h1\",\"eventId\":\"evt_x\",\"body\":{\"a\":[1,{}],\"b\":\"}\"}}",
        b.len);
    json_t *j = json_loadb(b.data, b.len, 0, NULL); /* valid JSON for anyone who parses it */
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "eventId")), "evt_x");
    json_decref(j);
    struct str out[3];
    assert_true(json_parts_take(buf_str(&b), keys, 3, out));
    for (int i = 0; i < 3; i++)
        assert_true(str_eq(out[i], in[i]));
    buf_cleanup(&b);
}

static void what_cannot_be_written(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 16);
    static const char *const bad[] = {"a\"b", "a\\b", "a\nb", "\x01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const struct str in[3] = {str_from_cstr(bad[i]), STR_LIT("e"), STR_LIT("{}")};
        assert_int_equal(json_parts_write(&b, keys, in, 3), RC_INVALID);
        assert_false(json_parts_is_plain(str_from_cstr(bad[i])));
        b.len = 0;
    }
    const struct str not_object[3] = {STR_LIT("h"), STR_LIT("e"), STR_LIT("[1]")};
    assert_int_equal(json_parts_write(&b, keys, not_object, 3), RC_INVALID);
    const struct str empty_last[3] = {STR_LIT("h"), STR_LIT("e"), STR_LIT("")};
    assert_int_equal(json_parts_write(&b, keys, empty_last, 3), RC_INVALID);
    assert_int_equal(json_parts_write(&b, keys, not_object, 0), RC_INVALID);
    assert_true(json_parts_is_plain(STR_LIT("é-ok:1")));
    buf_cleanup(&b);
}

static void texts_not_in_the_layout(void **state)
{
    (void)state;
    struct str out[3];
    assert_true(take("{\"hook\":\"\",\"eventId\":\"\",\"body\":{}}",
                     out)); /* empty values: the caller's to refuse */
    assert_int_equal(out[0].len, 0);
    static const char *const bad[] = {
        "",
        "{",
        "{}",
        "{\"body\":{},\"eventId\":\"e\",\"hook\":\"h\"}",      /* another order (sorted keys) */
        "{\"hook\":\"h\",\"body\":{}}",                        /* a key missing */
        "{\"hook\":\"h\",\"eventID\":\"e\",\"body\":{}}",      /* renamed */
        "{\"hook\":\"h\\\"x\",\"eventId\":\"e\",\"body\":{}}", /* an escape */
        "{\"hook\":\"h\",\"eventId\":\"e\x01\",\"body\":{}}",  /* a control character */
        "{\"hook\":\"h\",\"eventId\":\"e\",\"body\":{}",       /* cut short */
        "{\"hook\":\"h\",\"eventId\":\"e\",\"body\":}",
        "{\"hook\":\"h\",\"eventId\":\"e\",\"body\":[1]}", /* not an object */
        "{\"hook\":\"h\",\"eventId\":\"e\",\"body\":{}}x", /* trailing bytes */
        "{\"hook\":\"h\",\"eventId\":\"e\",\"body\":\"s\"}",
        "{\"hook\":\"h",
        "{\"hook\":",
        " {\"hook\":\"h\",\"eventId\":\"e\",\"body\":{}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (take(bad[i], out))
            fail_msg("taken apart: %s", bad[i]);
    }
    assert_false(json_parts_take(STR_LIT("{}"), keys, 0, out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(written_is_taken_apart),
        cmocka_unit_test(what_cannot_be_written),
        cmocka_unit_test(texts_not_in_the_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
