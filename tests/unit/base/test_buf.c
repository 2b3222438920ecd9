/* test_buf.c -- unit tests of base/buf.h: the hard maximum (and the buffer
 * left unchanged when it is hit), growth, consume, reset and append_u64. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "base/buf.h"
#include "slice_assert.h"

static void test_buf_init_allocates_nothing(void **state)
{
    struct buf b;
    buf_init(&b, 100);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 100);
    assert_int_equal(buf_str(&b).len, 0);
    buf_cleanup(&b);
}

static void test_buf_append_grows_and_keeps_content(void **state)
{
    struct buf b;
    char want[3000];
    buf_init(&b, sizeof(want));
    for (size_t i = 0; i < sizeof(want); i += 10) {
        char piece[10];
        for (size_t k = 0; k < sizeof(piece); k++)
            piece[k] = (char)('a' + (i / 10 + k) % 26);
        memcpy(want + i, piece, sizeof(piece));
        assert_int_equal(buf_append(&b, piece, sizeof(piece)), RC_OK);
    }
    assert_int_equal(b.len, sizeof(want));
    assert_true(b.cap >= b.len);
    assert_memory_equal(b.data, want, sizeof(want));
    buf_cleanup(&b);
}

static void test_buf_append_up_to_max_exactly_succeeds(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "0123456789", 10), RC_OK);
    assert_slice_equal(buf_str(&b), "0123456789");
    buf_cleanup(&b);
}

static void test_buf_append_past_max_fails_and_leaves_buffer_unchanged(void **state)
{
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_append_cstr(&b, "abc"), RC_OK);
    char *data = b.data;
    size_t cap = b.cap;

    assert_int_equal(buf_append(&b, "123456", 6), RC_TOO_LARGE);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.max, 8);
    assert_slice_equal(buf_str(&b), "abc");

    /* What still fits is accepted afterwards. */
    assert_int_equal(buf_append(&b, "12345", 5), RC_OK);
    assert_slice_equal(buf_str(&b), "abc12345");
    assert_int_equal(buf_append(&b, "x", 1), RC_TOO_LARGE);
    assert_slice_equal(buf_str(&b), "abc12345");
    buf_cleanup(&b);
}

static void test_buf_append_larger_than_max_on_empty_buffer_fails(void **state)
{
    struct buf b;
    buf_init(&b, 4);
    assert_int_equal(buf_append_cstr(&b, "hello"), RC_TOO_LARGE);
    assert_int_equal(b.len, 0);
    assert_int_equal(buf_append_str(&b, STR_LIT("hello")), RC_TOO_LARGE);
    assert_int_equal(b.len, 0);
    /* A length near SIZE_MAX must not wrap around the check. */
    assert_int_equal(buf_append(&b, "x", SIZE_MAX), RC_TOO_LARGE);
    assert_int_equal(buf_reserve(&b, SIZE_MAX), RC_TOO_LARGE);
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
}

static void test_buf_zero_max_refuses_every_byte(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "a", 1), RC_TOO_LARGE);
    assert_int_equal(buf_append(&b, "", 0), RC_OK);
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
}

static void test_buf_empty_append_succeeds_when_full(void **state)
{
    struct buf b;
    buf_init(&b, 3);
    assert_int_equal(buf_append_cstr(&b, "abc"), RC_OK);
    assert_int_equal(buf_append(&b, "", 0), RC_OK);
    assert_int_equal(buf_append_cstr(&b, ""), RC_OK);
    assert_slice_equal(buf_str(&b), "abc");
    buf_cleanup(&b);
}

static void test_buf_reserve_makes_room_within_max(void **state)
{
    struct buf b;
    buf_init(&b, 1000);
    assert_int_equal(buf_reserve(&b, 700), RC_OK);
    assert_true(b.cap >= 700);
    assert_int_equal(b.len, 0);
    char *data = b.data;
    /* Appends within the reserved room do not move the data. */
    char fill[700];
    memset(fill, 'z', sizeof(fill));
    assert_int_equal(buf_append(&b, fill, sizeof(fill)), RC_OK);
    assert_ptr_equal(b.data, data);
    assert_int_equal(buf_reserve(&b, 300), RC_OK);
    assert_int_equal(buf_reserve(&b, 301), RC_TOO_LARGE);
    assert_int_equal(b.len, 700);
    buf_cleanup(&b);
}

static void test_buf_append_u64_writes_decimal(void **state)
{
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_u64(&b, 0), RC_OK);
    assert_int_equal(buf_append_cstr(&b, ","), RC_OK);
    assert_int_equal(buf_append_u64(&b, 7), RC_OK);
    assert_int_equal(buf_append_cstr(&b, ","), RC_OK);
    assert_int_equal(buf_append_u64(&b, 1234567890), RC_OK);
    assert_int_equal(buf_append_cstr(&b, ","), RC_OK);
    assert_int_equal(buf_append_u64(&b, 10), RC_OK);
    assert_int_equal(buf_append_cstr(&b, ","), RC_OK);
    assert_int_equal(buf_append_u64(&b, ULLONG_MAX), RC_OK);
    assert_slice_equal(buf_str(&b), "0,7,1234567890,10,18446744073709551615");
    buf_cleanup(&b);
}

static void test_buf_append_u64_past_max_leaves_buffer_unchanged(void **state)
{
    struct buf b;
    buf_init(&b, 5);
    assert_int_equal(buf_append_cstr(&b, "n="), RC_OK);
    assert_int_equal(buf_append_u64(&b, 1000), RC_TOO_LARGE);
    assert_slice_equal(buf_str(&b), "n=");
    assert_int_equal(buf_append_u64(&b, 999), RC_OK);
    assert_slice_equal(buf_str(&b), "n=999");
    buf_cleanup(&b);
}

static void test_buf_consume_drops_prefix(void **state)
{
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_cstr(&b, "hello world"), RC_OK);
    buf_consume(&b, 0);
    assert_slice_equal(buf_str(&b), "hello world");
    buf_consume(&b, 6);
    assert_slice_equal(buf_str(&b), "world");
    /* Room freed at the front counts against the max again. */
    assert_int_equal(buf_append_cstr(&b, "!"), RC_OK);
    assert_slice_equal(buf_str(&b), "world!");
    buf_consume(&b, 6);
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
}

static void test_buf_consume_more_than_len_empties(void **state)
{
    struct buf b;
    buf_init(&b, 16);
    assert_int_equal(buf_append_cstr(&b, "abc"), RC_OK);
    buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    buf_consume(&b, 1); /* on an empty buffer: nothing happens */
    assert_int_equal(b.len, 0);
    assert_int_equal(buf_append_cstr(&b, "xyz"), RC_OK);
    assert_slice_equal(buf_str(&b), "xyz");
    buf_cleanup(&b);
}

static void test_buf_consume_frees_room_under_max(void **state)
{
    struct buf b;
    buf_init(&b, 4);
    assert_int_equal(buf_append_cstr(&b, "abcd"), RC_OK);
    assert_int_equal(buf_append_cstr(&b, "e"), RC_TOO_LARGE);
    buf_consume(&b, 2);
    assert_int_equal(buf_append_cstr(&b, "ef"), RC_OK);
    assert_slice_equal(buf_str(&b), "cdef");
    buf_cleanup(&b);
}

static void test_buf_reset_empties_and_keeps_memory(void **state)
{
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_cstr(&b, "something"), RC_OK);
    char *data = b.data;
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_int_equal(buf_append_cstr(&b, "new"), RC_OK);
    assert_slice_equal(buf_str(&b), "new");
    buf_cleanup(&b);
}

static void test_buf_cleanup_leaves_reusable_empty_buffer(void **state)
{
    struct buf b;
    buf_init(&b, 32);
    assert_int_equal(buf_append_cstr(&b, "abc"), RC_OK);
    buf_cleanup(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 32);
    assert_int_equal(buf_append_cstr(&b, "again"), RC_OK);
    assert_slice_equal(buf_str(&b), "again");
    buf_cleanup(&b);
    buf_cleanup(&b); /* twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_init_allocates_nothing),
        cmocka_unit_test(test_buf_append_grows_and_keeps_content),
        cmocka_unit_test(test_buf_append_up_to_max_exactly_succeeds),
        cmocka_unit_test(test_buf_append_past_max_fails_and_leaves_buffer_unchanged),
        cmocka_unit_test(test_buf_append_larger_than_max_on_empty_buffer_fails),
        cmocka_unit_test(test_buf_zero_max_refuses_every_byte),
        cmocka_unit_test(test_buf_empty_append_succeeds_when_full),
        cmocka_unit_test(test_buf_reserve_makes_room_within_max),
        cmocka_unit_test(test_buf_append_u64_writes_decimal),
        cmocka_unit_test(test_buf_append_u64_past_max_leaves_buffer_unchanged),
        cmocka_unit_test(test_buf_consume_drops_prefix),
        cmocka_unit_test(test_buf_consume_more_than_len_empties),
        cmocka_unit_test(test_buf_consume_frees_room_under_max),
        cmocka_unit_test(test_buf_reset_empties_and_keeps_memory),
        cmocka_unit_test(test_buf_cleanup_leaves_reusable_empty_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
