/* test_count_cache.c -- list totals kept per worker: a hit needs the same
 * key and data version; counts with zero bytes survive; the page cache's
 * bounds hold (count_cache.h keeps them in one). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/record/count_cache.h"

static void test_a_count_is_found_only_at_its_version(void **state)
{
    (void)state;
    struct core_count_cache *cc = calloc(1, sizeof(*cc));
    int64_t n = -1;
    assert_false(core_count_cache_get(cc, STR_LIT("SELECT COUNT(*) a"), 7, &n));
    core_count_cache_put(cc, STR_LIT("SELECT COUNT(*) a"), 7, 256); /* bytes 00 01 00 ... */
    assert_true(core_count_cache_get(cc, STR_LIT("SELECT COUNT(*) a"), 7, &n));
    assert_int_equal(n, 256);
    assert_false(core_count_cache_get(cc, STR_LIT("SELECT COUNT(*) a"), 8, &n));
    assert_false(core_count_cache_get(cc, STR_LIT("SELECT COUNT(*) b"), 7, &n));
    core_count_cache_put(cc, STR_LIT("SELECT COUNT(*) a"), 8, 0);
    assert_true(core_count_cache_get(cc, STR_LIT("SELECT COUNT(*) a"), 8, &n));
    assert_int_equal(n, 0);
    assert_false(core_count_cache_get(cc, STR_LIT("SELECT COUNT(*) a"), 7, &n));
    core_count_cache_cleanup(cc);
    assert_false(core_count_cache_get(cc, STR_LIT("SELECT COUNT(*) a"), 8, &n));
    free(cc);
}

static void test_many_keys_stay_within_the_byte_bound(void **state)
{
    (void)state;
    struct core_count_cache *cc = calloc(1, sizeof(*cc));
    static char key[60000];
    memset(key, 'k', sizeof(key));
    for (int i = 0; i < 2 * CORE_PAGE_CACHE_SLOTS; i++) {
        memcpy(key, &i, sizeof(i));
        core_count_cache_put(cc, (struct str){key, sizeof(key)}, 1, i);
        assert_true(cc->entries.bytes <= CORE_PAGE_CACHE_MAX_BYTES);
        int64_t n = -1;
        if (core_count_cache_get(cc, (struct str){key, sizeof(key)}, 1, &n))
            assert_int_equal(n, i);
    }
    core_count_cache_cleanup(cc);
    assert_int_equal(cc->entries.bytes, 0);
    free(cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_count_is_found_only_at_its_version),
        cmocka_unit_test(test_many_keys_stay_within_the_byte_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
