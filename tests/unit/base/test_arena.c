/* test_arena.c -- unit tests of base/arena.h: alignment, big allocations,
 * cleanups (reverse order, once), reuse after reset, strdup. Leaks show up
 * under the ASan build's leak checker. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdalign.h>
#include <string.h>

#include "base/arena.h"

#define ALIGNMENT alignof(max_align_t)

static bool is_aligned(const void *p)
{
    return (uintptr_t)p % ALIGNMENT == 0;
}

/* Records the order cleanups run in. */
struct order_log {
    int ran[16];
    int count;
};

struct order_entry {
    struct order_log *log;
    int id;
};

static void record_cleanup(void *ctx)
{
    struct order_entry *e = ctx;
    assert_true(e->log->count < 16);
    e->log->ran[e->log->count++] = e->id;
}

static void test_arena_alloc_is_aligned_for_any_type(void **state)
{
    struct arena a;
    arena_init(&a, 4096);
    for (size_t size = 0; size < 200; size++) {
        unsigned char *p = arena_alloc(&a, size);
        assert_non_null(p);
        assert_true(is_aligned(p));
        memset(p, 0xAB, size);
    }
    /* Also right after a big one-off allocation. */
    assert_true(is_aligned(arena_alloc(&a, 3)));
    assert_true(is_aligned(arena_alloc(&a, 100000)));
    assert_true(is_aligned(arena_alloc(&a, 5)));
    long double *ld = arena_alloc(&a, sizeof(long double) * 3);
    ld[2] = 1.0L;
    assert_true(ld[2] == 1.0L);
    arena_cleanup(&a);
}

static void test_arena_allocations_do_not_overlap(void **state)
{
    struct arena a;
    arena_init(&a, 256);
    unsigned char *ptrs[500];
    size_t sizes[500];
    for (size_t i = 0; i < 500; i++) {
        sizes[i] = 1 + (i * 37) % 150; /* spans several small blocks */
        ptrs[i] = arena_alloc(&a, sizes[i]);
        memset(ptrs[i], (int)(i & 0xFF), sizes[i]);
    }
    for (size_t i = 0; i < 500; i++) {
        for (size_t k = 0; k < sizes[i]; k++)
            assert_int_equal(ptrs[i][k], i & 0xFF);
    }
    arena_cleanup(&a);
}

static void test_arena_zero_size_alloc_returns_usable_pointer(void **state)
{
    struct arena a;
    arena_init(&a, 4096);
    void *p = arena_alloc(&a, 0);
    void *q = arena_alloc(&a, 0);
    assert_non_null(p);
    assert_non_null(q);
    assert_true(is_aligned(p));
    arena_cleanup(&a);
}

static void test_arena_big_allocation_is_whole_and_keeps_small_ones(void **state)
{
    struct arena a;
    arena_init(&a, 1024);
    char *small1 = arena_alloc(&a, 100);
    memset(small1, 's', 100);
    size_t big_size = 1 << 20;
    unsigned char *big = arena_alloc(&a, big_size);
    assert_non_null(big);
    memset(big, 0x5A, big_size);
    char *small2 = arena_alloc(&a, 100);
    memset(small2, 't', 100);
    unsigned char *big2 = arena_try_alloc(&a, 5000);
    assert_non_null(big2);
    memset(big2, 0xA5, 5000);
    /* Nothing overwrote anything. */
    for (size_t i = 0; i < 100; i++) {
        assert_int_equal(small1[i], 's');
        assert_int_equal(small2[i], 't');
    }
    for (size_t i = 0; i < big_size; i += 4093)
        assert_int_equal(big[i], 0x5A);
    assert_int_equal(big[big_size - 1], 0x5A);
    assert_int_equal(big2[4999], 0xA5);
    arena_cleanup(&a);
}

static void test_arena_first_allocation_may_be_big(void **state)
{
    struct arena a;
    arena_init(&a, 512);
    unsigned char *big = arena_alloc(&a, 10000);
    memset(big, 1, 10000);
    unsigned char *small = arena_alloc(&a, 16);
    memset(small, 2, 16);
    assert_int_equal(big[9999], 1);
    arena_reset(&a);
    small = arena_alloc(&a, 16);
    memset(small, 3, 16);
    arena_cleanup(&a);
}

static void test_arena_try_alloc_returns_memory_for_sane_sizes(void **state)
{
    struct arena a;
    arena_init(&a, 4096);
    char *p = arena_try_alloc(&a, 64);
    assert_non_null(p);
    assert_true(is_aligned(p));
    memset(p, 0, 64);
    arena_cleanup(&a);
}

static void test_arena_try_alloc_of_impossible_size_returns_null(void **state)
{
    struct arena a;
    arena_init(&a, 4096);
    (void)arena_alloc(&a, 8); /* a current block with free room */
    void *max = arena_try_alloc(&a, SIZE_MAX);
    void *max_1 = arena_try_alloc(&a, SIZE_MAX - 1);
    void *wraps = arena_try_alloc(&a, SIZE_MAX - ALIGNMENT + 2);
    void *aligned = arena_try_alloc(&a, SIZE_MAX - ALIGNMENT + 1);
    /* The arena still works afterwards. */
    char *p = arena_alloc(&a, 32);
    memset(p, 0, 32);
    arena_cleanup(&a); /* before asserting, so a failure leaks nothing */
    assert_null(max);
    assert_null(max_1);
    assert_null(wraps);
    assert_null(aligned);
}

static void test_arena_reset_runs_cleanups_in_reverse_order(void **state)
{
    struct arena a;
    struct order_log log = {0};
    struct order_entry e[4];
    arena_init(&a, 4096);
    for (int i = 0; i < 4; i++) {
        e[i] = (struct order_entry){&log, i + 1};
        arena_defer(&a, record_cleanup, &e[i]);
        (void)arena_alloc(&a, 100);
    }
    arena_reset(&a);
    assert_int_equal(log.count, 4);
    assert_int_equal(log.ran[0], 4);
    assert_int_equal(log.ran[1], 3);
    assert_int_equal(log.ran[2], 2);
    assert_int_equal(log.ran[3], 1);

    /* Each cleanup runs once: a second reset runs nothing. */
    arena_reset(&a);
    assert_int_equal(log.count, 4);
    arena_cleanup(&a);
    assert_int_equal(log.count, 4);
}

static void test_arena_cleanup_runs_cleanups_in_reverse_order(void **state)
{
    struct arena a;
    struct order_log log = {0};
    struct order_entry e[3];
    arena_init(&a, 128);
    for (int i = 0; i < 3; i++) {
        e[i] = (struct order_entry){&log, i + 1};
        arena_defer(&a, record_cleanup, &e[i]);
        (void)arena_alloc(&a, 1000); /* cleanups spread over several blocks */
    }
    arena_cleanup(&a);
    assert_int_equal(log.count, 3);
    assert_int_equal(log.ran[0], 3);
    assert_int_equal(log.ran[1], 2);
    assert_int_equal(log.ran[2], 1);
}

static void test_arena_cleanups_registered_after_reset_run_at_next_reset(void **state)
{
    struct arena a;
    struct order_log log = {0};
    struct order_entry first = {&log, 1};
    struct order_entry second = {&log, 2};
    arena_init(&a, 4096);
    arena_defer(&a, record_cleanup, &first);
    arena_reset(&a);
    arena_defer(&a, record_cleanup, &second);
    assert_int_equal(log.count, 1);
    arena_reset(&a);
    assert_int_equal(log.count, 2);
    assert_int_equal(log.ran[0], 1);
    assert_int_equal(log.ran[1], 2);
    arena_cleanup(&a);
}

static void test_arena_reuses_first_block_after_reset(void **state)
{
    struct arena a;
    arena_init(&a, 4096);
    char *p1 = arena_alloc(&a, 64);
    memset(p1, 1, 64);
    arena_reset(&a);
    char *p2 = arena_alloc(&a, 64);
    assert_ptr_equal(p1, p2);
    memset(p2, 2, 64);
    arena_cleanup(&a);
}

static void test_arena_works_after_reset_of_many_blocks(void **state)
{
    struct arena a;
    arena_init(&a, 256);
    for (int round = 0; round < 5; round++) {
        unsigned char *ptrs[100];
        for (int i = 0; i < 100; i++) {
            ptrs[i] = arena_alloc(&a, (size_t)(i % 3 == 0 ? 300 : 50));
            memset(ptrs[i], round * 100 + i, i % 3 == 0 ? 300 : 50);
        }
        for (int i = 0; i < 100; i++)
            assert_int_equal(ptrs[i][0], (unsigned char)(round * 100 + i));
        arena_reset(&a);
    }
    arena_cleanup(&a);
    /* A cleaned-up arena can be initialised and used again. */
    arena_init(&a, 256);
    memset(arena_alloc(&a, 10), 0, 10);
    arena_cleanup(&a);
}

static void test_arena_strdup_copies_and_terminates(void **state)
{
    struct arena a;
    arena_init(&a, 4096);
    char src[] = "hello, world";
    struct str s = arena_strdup(&a, (struct str){src, 5});
    assert_int_equal(s.len, 5);
    assert_true(s.ptr != src);
    assert_string_equal(s.ptr, "hello");
    src[0] = 'J'; /* the copy does not follow the original */
    assert_string_equal(s.ptr, "hello");

    struct str e = arena_strdup(&a, (struct str){NULL, 0});
    assert_int_equal(e.len, 0);
    assert_non_null(e.ptr);
    assert_string_equal(e.ptr, "");

    /* Embedded NULs are copied as bytes. */
    struct str z = arena_strdup(&a, (struct str){"a\0b", 3});
    assert_int_equal(z.len, 3);
    assert_memory_equal(z.ptr, "a\0b\0", 4);

    /* Longer than a block. */
    char long_src[10000];
    memset(long_src, 'q', sizeof(long_src));
    struct str l = arena_strdup(&a, (struct str){long_src, sizeof(long_src)});
    assert_int_equal(l.len, sizeof(long_src));
    assert_memory_equal(l.ptr, long_src, sizeof(long_src));
    assert_int_equal(l.ptr[l.len], '\0');
    arena_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alloc_is_aligned_for_any_type),
        cmocka_unit_test(test_arena_allocations_do_not_overlap),
        cmocka_unit_test(test_arena_zero_size_alloc_returns_usable_pointer),
        cmocka_unit_test(test_arena_big_allocation_is_whole_and_keeps_small_ones),
        cmocka_unit_test(test_arena_first_allocation_may_be_big),
        cmocka_unit_test(test_arena_try_alloc_returns_memory_for_sane_sizes),
        cmocka_unit_test(test_arena_try_alloc_of_impossible_size_returns_null),
        cmocka_unit_test(test_arena_reset_runs_cleanups_in_reverse_order),
        cmocka_unit_test(test_arena_cleanup_runs_cleanups_in_reverse_order),
        cmocka_unit_test(test_arena_cleanups_registered_after_reset_run_at_next_reset),
        cmocka_unit_test(test_arena_reuses_first_block_after_reset),
        cmocka_unit_test(test_arena_works_after_reset_of_many_blocks),
        cmocka_unit_test(test_arena_strdup_copies_and_terminates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
