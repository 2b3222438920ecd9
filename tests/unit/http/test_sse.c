/* test_sse.c -- unit tests of http/sse.h's message framing: the wire format
 * of spec §7.1, refusal of parts that would split a message, and the
 * buffer left unchanged on failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http/sse.h"

static void test_format(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(
        http_sse_format(&b, STR_LIT("abc"), STR_LIT("posts/*"), STR_LIT("{\"action\":\"create\"}")),
        RC_OK);
    const char *want = "id:abc\nevent:posts/*\ndata:{\"action\":\"create\"}\n\n";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    /* Messages append: a second one follows the first. */
    assert_int_equal(http_sse_format(&b, STR_LIT("abc"), STR_LIT("x"), STR_LIT("")), RC_OK);
    assert_int_equal(b.len, strlen(want) + strlen("id:abc\nevent:x\ndata:\n\n"));
    buf_cleanup(&b);
}

static void test_line_breaks_refused(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(http_sse_format(&b, STR_LIT("a"), STR_LIT("t"), STR_LIT("1")), RC_OK);
    size_t len = b.len;
    /* A subscription string is the client's: it must not forge lines. */
    assert_int_equal(
        http_sse_format(&b, STR_LIT("a"), STR_LIT("posts/*?x\nevent:fake"), STR_LIT("{}")),
        RC_INVALID);
    assert_int_equal(http_sse_format(&b, STR_LIT("a"), STR_LIT("t"), STR_LIT("{}\r")), RC_INVALID);
    assert_int_equal(http_sse_format(&b, STR_LIT("a\n"), STR_LIT("t"), STR_LIT("{}")), RC_INVALID);
    assert_int_equal(b.len, len);
    buf_cleanup(&b);
}

static void test_too_large_leaves_buffer(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 24);
    assert_int_equal(http_sse_format(&b, STR_LIT("a"), STR_LIT("t"), STR_LIT("1")), RC_OK);
    size_t len = b.len;
    assert_int_equal(http_sse_format(&b, STR_LIT("a"), STR_LIT("t"), STR_LIT("0123456789")),
                     RC_TOO_LARGE);
    assert_int_equal(b.len, len);
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_line_breaks_refused),
        cmocka_unit_test(test_too_large_leaves_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
