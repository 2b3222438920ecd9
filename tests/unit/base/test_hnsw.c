/* test_hnsw.c -- the approximate index against brute force: recall@10 on
 * seeded clustered data for each metric (a floor a broken graph fails:
 * one without links, or with random ones, finds few true neighbours),
 * removed slots never returned, results nearest first, empty index. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
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

/* (distance, slot) order, as hnsw_exact ranks. */
static int by_d_then_slot(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* The brute-force top k over the graph's copy is the true top k: the same
 * slots, in order, with vecmath_distance's very floats, every metric and
 * several k (1, 10, past the live count), removed slots left out, and the
 * first distance past the cut reported. */
static void test_exact_top_k_is_brute_force(void **state)
{
    (void)state;
    make_data();
    static unsigned char removed[N];
    static struct pair all[N];
    enum vecmath_metric metrics[] = {VECMATH_COSINE, VECMATH_L2, VECMATH_DOT};
    for (size_t mi = 0; mi < 3; mi++) {
        struct hnsw *h = hnsw_new(DIMS, metrics[mi], 8, 16, 7);
        for (uint32_t i = 0; i < N; i++)
            hnsw_add(h, data[i]);
        memset(removed, 0, sizeof(removed));
        for (uint32_t i = 5; i < N; i += 7) {
            hnsw_remove(h, i);
            removed[i] = 1;
        }
        size_t live = hnsw_live(h);
        const size_t ks[] = {1, 10, 257, N};
        for (int qi = 0; qi < 20; qi++) {
            const float *q = queries[qi];
            float qn = vecmath_norm(q, DIMS);
            size_t n = 0;
            for (uint32_t i = 0; i < N; i++) {
                if (!removed[i])
                    all[n++] =
                        (struct pair){vecmath_distance(metrics[mi], q, qn, data[i], DIMS), i};
            }
            qsort(all, n, sizeof(all[0]), by_d_then_slot);
            for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
                static uint32_t slots[N];
                static float dists[N];
                float next = 0;
                size_t got = hnsw_exact(h, q, ks[ki], slots, dists, &next);
                assert_int_equal(got, ks[ki] < live ? ks[ki] : live);
                for (size_t i = 0; i < got; i++) {
                    assert_int_equal(slots[i], all[i].i);
                    assert_memory_equal(&dists[i], &all[i].d, sizeof(float));
                }
                if (got < live)
                    assert_memory_equal(&next, &all[got].d, sizeof(float));
                else
                    assert_true(isinf(next));
            }
        }
        hnsw_free(h);
    }
}

/* Equal distances go to the smaller slot, and a tie across the cut shows
 * in *next; a distance that is not a number makes *next NAN. */
static void test_exact_ties_and_nan(void **state)
{
    (void)state;
    struct hnsw *h = hnsw_new(2, VECMATH_L2, 8, 16, 1);
    const float v[][2] = {{3, 0}, {1, 0}, {0, 1}, {2, 0}, {1, 0}};
    for (size_t i = 0; i < 5; i++)
        hnsw_add(h, v[i]);
    float q[2] = {0, 0}, d[5], next;
    uint32_t s[5];
    assert_int_equal(hnsw_exact(h, q, 2, s, d, &next), 2);
    assert_int_equal(s[0], 1); /* {1,0}, {0,1}, {1,0} all at 1: slots 1, 2, 4 */
    assert_int_equal(s[1], 2);
    assert_true(next == 1); /* slot 4 ties across the cut */
    assert_int_equal(hnsw_exact(h, q, 3, s, d, &next), 3);
    assert_int_equal(s[2], 4);
    assert_true(next == 2);
    assert_int_equal(hnsw_exact(h, q, 0, s, d, &next), 0);
    hnsw_free(h);

    struct hnsw *g = hnsw_new(2, VECMATH_DOT, 8, 16, 1);
    const float big[][2] = {{3e38f, -3e38f}, {1, 1}};
    hnsw_add(g, big[0]);
    hnsw_add(g, big[1]);
    float qq[2] = {3e38f, 3e38f}; /* +inf + -inf in the first row's sum */
    assert_int_equal(hnsw_exact(g, qq, 2, s, d, &next), 1);
    assert_true(isnan(next));
    hnsw_free(g);
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
        cmocka_unit_test(test_exact_top_k_is_brute_force),
        cmocka_unit_test(test_exact_ties_and_nan),
        cmocka_unit_test(test_an_empty_index_finds_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
