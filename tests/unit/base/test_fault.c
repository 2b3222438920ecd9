/* test_fault.c -- unit tests of base/fault.h: the nth hit fails once, other
 * points are not counted, a pending arm starts at the next request, disarm
 * reports, names parse; and the failable allocations (alloc.h, arena.h,
 * buf.h) fail cleanly when the alloc point fires. In a build without
 * TARMAC_FAULTS (release) only the inline no-op is checked. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/fault.h"

#ifdef TARMAC_FAULTS

static void test_fault_nth_hit_fails_once(void **state)
{
    fault_arm(FAULT_STEP, 3);
    assert_false(fault_hit(FAULT_STEP));
    assert_false(fault_hit(FAULT_STEP));
    assert_true(fault_hit(FAULT_STEP));
    assert_false(fault_hit(FAULT_STEP));
    uint64_t hits = 0;
    assert_true(fault_disarm(&hits));
    assert_int_equal(hits, 4);
    assert_false(fault_hit(FAULT_STEP)); /* disarmed */
}

static void test_fault_other_points_are_not_counted(void **state)
{
    fault_arm(FAULT_WRITE, 1);
    assert_false(fault_hit(FAULT_ALLOC));
    assert_false(fault_hit(FAULT_SYNC));
    uint64_t hits = 7;
    assert_false(fault_disarm(&hits));
    assert_int_equal(hits, 0);
}

static void test_fault_disarm_before_the_nth_hit_reports_not_fired(void **state)
{
    fault_arm(FAULT_SYNC, 5);
    assert_false(fault_hit(FAULT_SYNC));
    assert_false(fault_disarm(NULL));
}

static void test_fault_pending_arm_starts_at_next_request(void **state)
{
    fault_arm_at_next_request(FAULT_ALLOC, 1);
    assert_false(fault_hit(FAULT_ALLOC)); /* before the request: not counted */
    fault_request_begin();
    assert_true(fault_hit(FAULT_ALLOC));
    fault_request_begin(); /* a later request starts nothing new */
    assert_false(fault_hit(FAULT_ALLOC));
    uint64_t hits = 0;
    assert_true(fault_disarm(&hits));
    assert_int_equal(hits, 2);
}

static void test_fault_disarm_drops_a_pending_arm(void **state)
{
    fault_arm_at_next_request(FAULT_STEP, 1);
    assert_false(fault_disarm(NULL));
    fault_request_begin();
    assert_false(fault_hit(FAULT_STEP));
}

static void test_fault_point_names_round_trip(void **state)
{
    for (int i = 0; i < FAULT_POINT_COUNT; i++) {
        enum fault_point p;
        assert_true(fault_point_parse(str_from_cstr(fault_point_name(i)), &p));
        assert_int_equal(p, i);
    }
    enum fault_point p;
    assert_false(fault_point_parse(STR_LIT("malloc"), &p));
    assert_false(fault_point_parse(STR_LIT(""), &p));
}

static void test_fault_alloc_fails_try_malloc_and_realloc(void **state)
{
    fault_arm(FAULT_ALLOC, 1);
    assert_null(try_malloc(16));
    assert_true(fault_disarm(NULL));
    char *p = try_malloc(4);
    assert_non_null(p);
    memcpy(p, "abc", 4);
    fault_arm(FAULT_ALLOC, 1);
    assert_null(try_realloc(p, 1 << 20));
    assert_true(fault_disarm(NULL));
    assert_string_equal(p, "abc"); /* untouched by the failed realloc */
    xfree(p);
}

static void test_fault_alloc_leaves_buf_unchanged(void **state)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_cstr(&b, "kept"), RC_OK);
    char big[1000];
    memset(big, 'x', sizeof(big));
    fault_arm(FAULT_ALLOC, 1);
    assert_int_equal(buf_append(&b, big, sizeof(big)), RC_NOMEM);
    assert_true(fault_disarm(NULL));
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "kept", 4);
    assert_int_equal(buf_append(&b, big, sizeof(big)), RC_OK);
    buf_cleanup(&b);
}

static void test_fault_alloc_fails_arena_try_alloc_only(void **state)
{
    struct arena a;
    arena_init(&a, 4096);
    fault_arm(FAULT_ALLOC, 1);
    assert_non_null(arena_alloc(&a, 10)); /* aborts on OOM by contract: not a point */
    assert_null(arena_try_alloc(&a, 10));
    assert_non_null(arena_try_alloc(&a, 10));
    assert_true(fault_disarm(NULL));
    arena_cleanup(&a);
}

#else

static void test_fault_points_are_inert_without_the_flag(void **state)
{
    for (int i = 0; i < FAULT_POINT_COUNT; i++)
        assert_false(fault_hit(i));
    fault_request_begin();
}

#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifdef TARMAC_FAULTS
        cmocka_unit_test(test_fault_nth_hit_fails_once),
        cmocka_unit_test(test_fault_other_points_are_not_counted),
        cmocka_unit_test(test_fault_disarm_before_the_nth_hit_reports_not_fired),
        cmocka_unit_test(test_fault_pending_arm_starts_at_next_request),
        cmocka_unit_test(test_fault_disarm_drops_a_pending_arm),
        cmocka_unit_test(test_fault_point_names_round_trip),
        cmocka_unit_test(test_fault_alloc_fails_try_malloc_and_realloc),
        cmocka_unit_test(test_fault_alloc_leaves_buf_unchanged),
        cmocka_unit_test(test_fault_alloc_fails_arena_try_alloc_only),
#else
        cmocka_unit_test(test_fault_points_are_inert_without_the_flag),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
