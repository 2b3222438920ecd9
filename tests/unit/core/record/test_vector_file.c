/* test_vector_file.c -- a saved vector index's bytes (core/record/
 * vector_file.h): the graph and its record ids round-trip; the ids must
 * match the graph (one per live slot, none per removed one) both ways;
 * truncated, extended or altered bytes are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "core/record/vector_file.h"

#define COUNT 50

/* A graph of COUNT 3-dimensional vectors, every seventh removed, and ids
 * "rec<i>" (NULL for the removed). */
static struct hnsw *make(char **ids)
{
    struct hnsw *h = hnsw_new(3, VECMATH_L2, 4, 8, 2);
    for (int i = 0; i < COUNT; i++) {
        float v[3] = {(float)i, (float)(i % 5), 1};
        hnsw_add(h, v);
        ids[i] = NULL;
    }
    for (int i = 0; i < COUNT; i++) {
        if (i % 7 == 3)
            hnsw_remove(h, (uint32_t)i);
        else {
            ids[i] = xmalloc(16);
            snprintf(ids[i], 16, "rec%d", i);
        }
    }
    return h;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xfree(ids[i]);
}

static void test_a_file_round_trips(void **state)
{
    (void)state;
    char *ids[COUNT];
    struct hnsw *h = make(ids);
    struct buf b;
    buf_init(&b, SIZE_MAX);
    assert_int_equal(core_vector_file_encode(h, ids, &b), RC_OK);
    char **got = NULL;
    struct hnsw *g = core_vector_file_decode((const unsigned char *)b.data, b.len, &got);
    assert_non_null(g);
    assert_int_equal(hnsw_count(g), COUNT);
    assert_int_equal(hnsw_live(g), hnsw_live(h));
    for (int i = 0; i < COUNT; i++) {
        if (ids[i])
            assert_string_equal(got[i], ids[i]);
        else
            assert_null(got[i]);
        assert_memory_equal(hnsw_vector(g, (uint32_t)i), hnsw_vector(h, (uint32_t)i),
                            3 * sizeof(float));
    }
    float q[3] = {10, 1, 1};
    uint32_t s1[5], s2[5];
    assert_int_equal(hnsw_search(h, q, 5, 20, s1, NULL), hnsw_search(g, q, 5, 20, s2, NULL));
    assert_memory_equal(s1, s2, sizeof(s1));
    free_ids(got, COUNT);
    xfree(got);
    hnsw_free(g);
    buf_cleanup(&b);
    free_ids(ids, COUNT);
    hnsw_free(h);
}

/* An id for a removed slot, none for a live one, or one too long: not
 * encoded (and out left as it was). */
static void test_ids_must_match_the_graph_to_encode(void **state)
{
    (void)state;
    char *ids[COUNT];
    struct hnsw *h = make(ids);
    struct buf b;
    buf_init(&b, SIZE_MAX);
    assert_int_equal(buf_append(&b, "x", 1), RC_OK);
    char *keep = ids[0];
    ids[0] = NULL; /* a live slot without an id */
    assert_int_equal(core_vector_file_encode(h, ids, &b), RC_INVALID);
    assert_int_equal(b.len, 1);
    ids[0] = keep;
    ids[3] = "removed"; /* a removed slot with an id */
    assert_int_equal(core_vector_file_encode(h, ids, &b), RC_INVALID);
    ids[3] = NULL;
    char *long_id = xcalloc(CORE_VECTOR_FILE_MAX_ID + 2, 1);
    memset(long_id, 'a', CORE_VECTOR_FILE_MAX_ID + 1);
    ids[0] = long_id;
    assert_int_equal(core_vector_file_encode(h, ids, &b), RC_INVALID);
    ids[0] = keep;
    xfree(long_id);
    assert_int_equal(b.len, 1);
    buf_cleanup(&b);
    free_ids(ids, COUNT);
    hnsw_free(h);
}

static void assert_refused(const unsigned char *p, size_t n)
{
    unsigned char *c = xmalloc(n ? n : 1);
    memcpy(c, p, n);
    char **ids = (char **)1;
    assert_null(core_vector_file_decode(c, n, &ids));
    assert_null(ids);
    xfree(c);
}

static void test_bad_bytes_are_refused(void **state)
{
    (void)state;
    char *ids[COUNT];
    struct hnsw *h = make(ids);
    struct buf b;
    buf_init(&b, SIZE_MAX);
    assert_int_equal(core_vector_file_encode(h, ids, &b), RC_OK);
    const unsigned char *p = (const unsigned char *)b.data;
    for (size_t n = 0; n < b.len; n++)
        assert_refused(p, n); /* every prefix */
    unsigned char *c = xmalloc(b.len + 1);
    memcpy(c, p, b.len);
    c[b.len] = 0;
    assert_refused(c, b.len + 1); /* a byte too many */
    /* the ids' magic, version, a reserved byte, slot 0's length (4 made
     * 68: the rest no longer parses), a NUL in an id, an id given to a
     * removed slot */
    struct buf g;
    buf_init(&g, SIZE_MAX);
    assert_int_equal(hnsw_encode(h, &g), RC_OK);
    size_t at = g.len;
    buf_cleanup(&g);
    const size_t offs[] = {at, at + 4, at + 6, at + 8};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        memcpy(c, p, b.len);
        c[offs[i]] ^= 0x40;
        assert_refused(c, b.len);
    }
    memcpy(c, p, b.len);
    c[at + 8 + 2] = 0; /* slot 0's "rec0": a NUL inside */
    assert_refused(c, b.len);
    /* slot 3 (removed) is after slots 0..2 ("rec0".."rec2": 2 + 4 bytes each) */
    size_t slot3 = at + 8 + 3 * 6;
    assert_int_equal(c[slot3], 0);
    memcpy(c, p, b.len);
    c[slot3] = 1;
    assert_refused(c, b.len);
    xfree(c);
    buf_cleanup(&b);
    free_ids(ids, COUNT);
    hnsw_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_file_round_trips),
        cmocka_unit_test(test_ids_must_match_the_graph_to_encode),
        cmocka_unit_test(test_bad_bytes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
