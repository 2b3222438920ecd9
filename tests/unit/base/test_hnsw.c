/* test_hnsw.c -- the approximate index against brute force: recall@10 on
 * seeded clustered data for each metric (a floor a broken graph fails:
 * one without links, or with random ones, finds few true neighbours),
 * removed slots never returned, results nearest first, empty index. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/hnsw.h"

#define DIMS 24
#define N 3000
#define CLUSTERS 12
#define QUERIES 100
#define K 10

static uint64_t state64;

static double uniform(void)
{
    state64 = state64 * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(state64 >> 11) / 9007199254740992.0;
}

static float data[N][DIMS];
static float queries[QUERIES][DIMS];

static void make_data(void)
{
    state64 = 18;
    float centres[CLUSTERS][DIMS];
    for (int c = 0; c < CLUSTERS; c++)
        for (int d = 0; d < DIMS; d++)
            centres[c][d] = (float)(uniform() * 2 - 1);
    for (int i = 0; i < N; i++)
        for (int d = 0; d < DIMS; d++)
            data[i][d] = centres[i % CLUSTERS][d] + (float)((uniform() - 0.5) * 0.6);
    for (int i = 0; i < QUERIES; i++)
        for (int d = 0; d < DIMS; d++)
            queries[i][d] = centres[i % CLUSTERS][d] + (float)((uniform() - 0.5) * 0.6);
}

struct pair {
    float d;
    uint32_t i;
};

static int by_d(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    return x->d < y->d ? -1 : x->d > y->d;
}

/* The brute-force k nearest of q among the slots not in removed. */
static void exact(enum vecmath_metric m, const float *q, const unsigned char *removed,
                  uint32_t *out)
{
    static struct pair all[N];
    size_t n = 0;
    float qn = vecmath_norm(q, DIMS);
    for (uint32_t i = 0; i < N; i++) {
        if (!removed || !removed[i])
            all[n++] = (struct pair){vecmath_distance(m, q, qn, data[i], DIMS), i};
    }
    qsort(all, n, sizeof(all[0]), by_d);
    for (int k = 0; k < K; k++)
        out[k] = all[k].i;
}

static double recall(struct hnsw *h, enum vecmath_metric m, const unsigned char *removed)
{
    size_t hits = 0;
    for (int qi = 0; qi < QUERIES; qi++) {
        uint32_t want[K], got[K];
        float d[K];
        exact(m, queries[qi], removed, want);
        size_t n = hnsw_search(h, queries[qi], K, 64, got, d);
        assert_int_equal(n, K);
        for (size_t i = 1; i < n; i++)
            assert_true(d[i - 1] <= d[i]);
        for (size_t i = 0; i < n; i++) {
            if (removed)
                assert_false(removed[got[i]]);
            for (int k = 0; k < K; k++)
                hits += got[i] == want[k];
        }
    }
    return (double)hits / (QUERIES * K);
}

static void test_recall_at_10_against_brute_force(void **state)
{
    (void)state;
    make_data();
    enum vecmath_metric metrics[] = {VECMATH_COSINE, VECMATH_L2, VECMATH_DOT};
    for (size_t mi = 0; mi < 3; mi++) {
        struct hnsw *h =
            hnsw_new(DIMS, metrics[mi], HNSW_DEFAULT_M, HNSW_DEFAULT_EF_CONSTRUCTION, 7);
        for (uint32_t i = 0; i < N; i++)
            assert_int_equal(hnsw_add(h, data[i]), i);
        assert_int_equal(hnsw_count(h), N);
        double r = recall(h, metrics[mi], NULL);
        print_message("recall@10 %s: %.3f\n", vecmath_metric_name(metrics[mi]), r);
        /* dot is no metric: its graph navigates worse */
        assert_true(r >= (metrics[mi] == VECMATH_DOT ? 0.8 : 0.9));
        hnsw_free(h);
    }
}

static void test_removed_slots_are_never_returned(void **state)
{
    (void)state;
    make_data();
    struct hnsw *h = hnsw_new(DIMS, VECMATH_L2, HNSW_DEFAULT_M, HNSW_DEFAULT_EF_CONSTRUCTION, 7);
    static unsigned char removed[N];
    memset(removed, 0, sizeof(removed));
    for (uint32_t i = 0; i < N; i++)
        hnsw_add(h, data[i]);
    for (uint32_t i = 0; i < N; i += 3) {
        hnsw_remove(h, i);
        removed[i] = 1;
    }
    hnsw_remove(h, 0); /* twice: once */
    assert_int_equal(hnsw_live(h), N - (N + 2) / 3);
    assert_true(recall(h, VECMATH_L2, removed) >= 0.9);
    hnsw_free(h);
}

static void test_an_empty_index_finds_nothing(void **state)
{
    (void)state;
    struct hnsw *h = hnsw_new(3, VECMATH_COSINE, 8, 32, 1);
    float q[3] = {1, 0, 0};
    uint32_t s[4];
    assert_int_equal(hnsw_search(h, q, 4, 10, s, NULL), 0);
    hnsw_add(h, q);
    assert_int_equal(hnsw_search(h, q, 4, 10, s, NULL), 1);
    assert_int_equal(s[0], 0);
    hnsw_remove(h, 0);
    assert_int_equal(hnsw_search(h, q, 4, 10, s, NULL), 0);
    hnsw_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recall_at_10_against_brute_force),
        cmocka_unit_test(test_removed_slots_are_never_returned),
        cmocka_unit_test(test_an_empty_index_finds_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
