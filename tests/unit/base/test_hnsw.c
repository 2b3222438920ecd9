/* test_hnsw.c -- the approximate index against brute force: recall@10 on
 * seeded clustered data for each metric (a floor a broken graph fails:
 * one without links, or with random ones, finds few true neighbours),
 * removed slots never returned, results nearest first, empty index; the
 * codec: a decoded graph searches and grows exactly as the one encoded,
 * and truncated or corrupted bytes decode to NULL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
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

static struct buf encoded(const struct hnsw *h)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    assert_int_equal(hnsw_encode(h, &b), RC_OK);
    return b;
}

/* a and b answer every query alike: the same slots, the same floats. */
static void assert_same_answers(const struct hnsw *a, const struct hnsw *b)
{
    assert_int_equal(hnsw_count(a), hnsw_count(b));
    assert_int_equal(hnsw_live(a), hnsw_live(b));
    for (int qi = 0; qi < QUERIES; qi++) {
        uint32_t sa[K], sb[K];
        float da[K], db[K], na, nb;
        size_t n = hnsw_search(a, queries[qi], K, 40, sa, da);
        assert_int_equal(hnsw_search(b, queries[qi], K, 40, sb, db), n);
        assert_memory_equal(sa, sb, n * sizeof(*sa));
        assert_memory_equal(da, db, n * sizeof(*da));
        n = hnsw_exact(a, queries[qi], K, sa, da, &na);
        assert_int_equal(hnsw_exact(b, queries[qi], K, sb, db, &nb), n);
        assert_memory_equal(sa, sb, n * sizeof(*sa));
        assert_memory_equal(&na, &nb, sizeof(na));
    }
}

/* Encoded and decoded, a graph (with removed slots) is the same graph: the
 * same answers, the same bytes encoded again, and the same graph after
 * more adds (its random state kept). */
static void test_a_decoded_graph_is_the_one_encoded(void **state)
{
    (void)state;
    make_data();
    enum vecmath_metric metrics[] = {VECMATH_COSINE, VECMATH_L2, VECMATH_DOT};
    for (size_t mi = 0; mi < 3; mi++) {
        struct hnsw *h = hnsw_new(DIMS, metrics[mi], 8, 32, 5);
        for (uint32_t i = 0; i < N - 100; i++)
            hnsw_add(h, data[i]);
        for (uint32_t i = 3; i < N - 100; i += 11)
            hnsw_remove(h, i);
        struct buf b = encoded(h);
        size_t used = 0;
        struct hnsw *g = hnsw_decode((const unsigned char *)b.data, b.len, &used);
        assert_non_null(g);
        assert_int_equal(used, b.len);
        assert_int_equal(hnsw_dims(g), DIMS);
        assert_int_equal(hnsw_metric(g), metrics[mi]);
        for (uint32_t i = 0; i < hnsw_count(h); i++)
            assert_int_equal(hnsw_is_removed(g, i), hnsw_is_removed(h, i));
        assert_same_answers(h, g);
        struct buf again = encoded(g);
        assert_int_equal(again.len, b.len);
        assert_memory_equal(again.data, b.data, b.len);
        buf_cleanup(&again);
        for (uint32_t i = N - 100; i < N; i++)
            assert_int_equal(hnsw_add(h, data[i]), hnsw_add(g, data[i]));
        hnsw_remove(h, 7);
        hnsw_remove(g, 7);
        assert_same_answers(h, g);
        struct buf x = encoded(h), y = encoded(g);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.data, y.data, x.len);
        buf_cleanup(&x);
        buf_cleanup(&y);
        buf_cleanup(&b);
        hnsw_free(g);
        hnsw_free(h);
    }
    /* an empty graph too */
    struct hnsw *e = hnsw_new(3, VECMATH_L2, 4, 8, 1);
    struct buf b = encoded(e);
    struct hnsw *g = hnsw_decode((const unsigned char *)b.data, b.len, NULL);
    assert_non_null(g);
    assert_int_equal(hnsw_count(g), 0);
    uint32_t s[1];
    assert_int_equal(hnsw_search(g, data[0], 1, 10, s, NULL), 0);
    buf_cleanup(&b);
    hnsw_free(g);
    hnsw_free(e);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Decodes a copy of b with the 4 bytes at off set to v: must be refused. */
static void assert_refused_with(const struct buf *b, size_t off, uint32_t v, const char *what)
{
    unsigned char *c = malloc(b->len);
    memcpy(c, b->data, b->len);
    put32(c + off, v);
    struct hnsw *g = hnsw_decode(c, b->len, NULL);
    if (g)
        fail_msg("accepted: %s", what);
    free(c);
}

/* Every prefix of an encoded graph, every field set out of its range, a
 * link to a node that is not there or not in that layer, a byte too many:
 * all refused (under ASan: without reading past the bytes). */
static void test_truncated_or_corrupted_bytes_decode_to_null(void **state)
{
    (void)state;
    make_data();
    enum { D = 4, NODES = 300 };
    struct hnsw *h = hnsw_new(D, VECMATH_L2, 4, 8, 9);
    for (uint32_t i = 0; i < NODES; i++)
        hnsw_add(h, data[i]);
    hnsw_remove(h, 10);
    struct buf b = encoded(h);
    for (size_t n = 0; n < b.len; n++) {
        /* exactly n bytes, so ASan sees any read past them */
        unsigned char *c = malloc(n ? n : 1);
        memcpy(c, b.data, n);
        size_t used = 0;
        assert_null(hnsw_decode(c, n, &used));
        free(c);
    }
    assert_refused_with(&b, 0, 0x57534E47, "magic");
    assert_refused_with(&b, 4, 2, "version");
    assert_refused_with(&b, 8, 0, "dims 0");
    assert_refused_with(&b, 8, D + 1, "dims");
    assert_refused_with(&b, 8, 0x7fffffff, "huge dims");
    assert_refused_with(&b, 12, 3, "metric");
    assert_refused_with(&b, 16, 1, "m");
    assert_refused_with(&b, 16, 65, "m");
    assert_refused_with(&b, 20, 9, "m0");
    assert_refused_with(&b, 24, 3, "ef_construction < m");
    assert_refused_with(&b, 36, NODES + 1, "count");
    assert_refused_with(&b, 36, 0xffffffff, "huge count");
    assert_refused_with(&b, 44, NODES, "live");
    assert_refused_with(&b, 52, HNSW_MAX_LEVEL + 1, "max level");
    assert_refused_with(&b, 52, 0xffffffff, "max level -1 with nodes");
    assert_refused_with(&b, 56, NODES, "entry");
    /* walk the nodes: flags, levels, link counts and ids */
    const unsigned char *p = (const unsigned char *)b.data;
    int max_level = (int)get32(p + 52);
    size_t at = 60;
    bool bad_layer_link = false;
    for (uint32_t id = 0; id < NODES; id++) {
        size_t node = at;
        int level = p[at + 1];
        at += 2 + 4 * D;
        if (id == 0) {
            unsigned char *c = malloc(b.len);
            memcpy(c, b.data, b.len);
            c[node] = 2; /* removed flag */
            assert_null(hnsw_decode(c, b.len, NULL));
            memcpy(c, b.data, b.len);
            c[node + 1] = (unsigned char)(max_level + 1); /* level */
            assert_null(hnsw_decode(c, b.len, NULL));
            free(c);
            assert_refused_with(&b, at, 9, "layer 0 link count past m0");
            if (get32(p + at) > 0)
                assert_refused_with(&b, at + 4, NODES, "link to no node");
        }
        for (int layer = 0; layer <= level; layer++) {
            uint32_t k = get32(p + at);
            assert_true(k <= (layer ? 4u : 8u));
            if (layer == 1 && k > 0 && !bad_layer_link) {
                assert_refused_with(&b, at, 5, "layer 1 link count past m");
                bad_layer_link = true;
            }
            at += 4 + 4 * (size_t)k;
        }
    }
    assert_int_equal(at, b.len);
    assert_true(bad_layer_link);
    /* a link in layer 1 to a node whose level is 0 */
    {
        uint32_t low = UINT32_MAX;
        size_t off = 0;
        at = 60;
        for (uint32_t id = 0; id < NODES; id++) {
            int level = p[at + 1];
            if (level == 0 && low == UINT32_MAX)
                low = id;
            at += 2 + 4 * D;
            for (int layer = 0; layer <= level; layer++) {
                uint32_t k = get32(p + at);
                if (layer == 1 && k > 0 && !off)
                    off = at + 4;
                at += 4 + 4 * (size_t)k;
            }
        }
        assert_true(low != UINT32_MAX && off);
        assert_refused_with(&b, off, low, "layer 1 link to a layer 0 node");
    }
    /* a byte too many: refused unless the caller takes a count of bytes used */
    assert_int_equal(buf_append(&b, "x", 1), RC_OK);
    assert_null(hnsw_decode((const unsigned char *)b.data, b.len, NULL));
    size_t used = 0;
    struct hnsw *g = hnsw_decode((const unsigned char *)b.data, b.len, &used);
    assert_non_null(g);
    assert_int_equal(used, b.len - 1);
    hnsw_free(g);
    /* random flips: refused, or a graph that searches and grows safely */
    b.len--;
    state64 = 77;
    for (int t = 0; t < 2000; t++) {
        unsigned char *c = malloc(b.len);
        memcpy(c, b.data, b.len);
        for (int f = 0; f < 3; f++) {
            size_t i = (size_t)(uniform() * (double)b.len);
            c[i] ^= (unsigned char)(1u << (int)(uniform() * 8));
        }
        struct hnsw *x = hnsw_decode(c, b.len, NULL);
        if (x) {
            uint32_t s[K];
            float d[K];
            hnsw_search(x, data[1], K, 20, s, d);
            hnsw_add(x, data[2]);
            hnsw_search(x, data[3], K, 20, s, d);
            hnsw_free(x);
        }
        free(c);
    }
    buf_cleanup(&b);
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
        cmocka_unit_test(test_a_decoded_graph_is_the_one_encoded),
        cmocka_unit_test(test_truncated_or_corrupted_bytes_decode_to_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
