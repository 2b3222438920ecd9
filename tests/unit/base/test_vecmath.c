/* test_vecmath.c -- distances against their definitions (every length up
 * to past two lanes' worth, so the vector body and the tail both count),
 * metric names, the bytes of a vector, and jsonw_float's shortest text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "base/jsonw.h"
#include "base/vecmath.h"

static void test_distances_match_their_definitions(void **state)
{
    (void)state;
    float a[37], b[37];
    for (int i = 0; i < 37; i++) {
        a[i] = (float)(i % 7) - 3.25f;
        b[i] = (float)((i * 5) % 11) * 0.5f - 2;
    }
    for (size_t n = 1; n <= 37; n++) {
        double dot = 0, l2 = 0, na = 0, nb = 0;
        for (size_t i = 0; i < n; i++) {
            dot += (double)a[i] * b[i];
            l2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        assert_true(fabs(vecmath_dot(a, b, n) - dot) < 1e-3);
        assert_true(fabs(vecmath_l2_squared(a, b, n) - l2) < 1e-3);
        float an = vecmath_norm(a, n);
        assert_true(fabs(an - sqrt(na)) < 1e-4);
        assert_true(fabs(vecmath_distance(VECMATH_L2, a, an, b, n) - sqrt(l2)) < 1e-3);
        assert_true(fabs(vecmath_distance(VECMATH_DOT, a, an, b, n) + dot) < 1e-3);
        double cosd = 1 - dot / (sqrt(na) * sqrt(nb));
        assert_true(fabs(vecmath_distance(VECMATH_COSINE, a, an, b, n) - cosd) < 1e-4);
    }
    float zero[3] = {0, 0, 0}, one[3] = {1, 0, 0};
    assert_true(vecmath_distance(VECMATH_COSINE, zero, 0, one, 3) == 1);
    assert_true(vecmath_distance(VECMATH_COSINE, one, 1, one, 3) == 0);
}

/* The exact scan's loop gives, row by row, the very float vecmath_distance
 * gives (what lets a scan of a copy stand for a scan of the table): every
 * metric, lengths with and without a tail, counts through whole blocks of
 * four rows and the rows left over, a zero row and a zero query (cosine's
 * 1), values far apart in magnitude (where a different order of the sums
 * would round differently). */
static void test_distances_of_many_rows_are_bit_identical(void **state)
{
    (void)state;
    enum { MAXN = 390, ROWS = 11 };
    static float rows[ROWS * MAXN], q[MAXN], norms[ROWS], out[ROWS];
    uint64_t x = 7;
    const size_t lens[] = {1, 3, 7, 8, 9, 15, 16, 17, 37, 383, 384, 390};
    const enum vecmath_metric all[] = {VECMATH_COSINE, VECMATH_DOT, VECMATH_L2};
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        size_t n = lens[li];
        for (size_t i = 0; i < ROWS * n; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            float u = (float)(x >> 40) / (float)(1 << 24) - 0.5f;
            rows[i] = (i % 5 == 0) ? u * 1000 : u / 1000;
        }
        for (size_t i = 0; i < n; i++)
            q[i] = rows[i] * 0.5f + rows[n + i];
        for (size_t i = 0; i < n; i++)
            rows[3 * n + i] = 0; /* a zero row */
        for (size_t r = 0; r < ROWS; r++)
            norms[r] = vecmath_norm(rows + r * n, n);
        for (size_t mi = 0; mi < 3; mi++) {
            float qn = vecmath_norm(q, n);
            for (size_t count = 0; count <= ROWS; count++) {
                memset(out, 0xff, sizeof(out));
                vecmath_distances(all[mi], q, qn, rows, all[mi] == VECMATH_COSINE ? norms : NULL,
                                  count, n, out);
                for (size_t r = 0; r < count; r++) {
                    float want = vecmath_distance(all[mi], q, qn, rows + r * n, n);
                    assert_memory_equal(&out[r], &want, sizeof(float));
                }
                if (count < ROWS) /* nothing written past count */
                    assert_true(isnan(out[count]));
            }
        }
        float zero[MAXN] = {0};
        vecmath_distances(VECMATH_COSINE, zero, 0, rows, norms, ROWS, n, out);
        for (size_t r = 0; r < ROWS; r++)
            assert_true(out[r] == 1);
    }
}

static void test_metric_names_round_trip(void **state)
{
    (void)state;
    enum vecmath_metric m;
    const enum vecmath_metric all[] = {VECMATH_COSINE, VECMATH_DOT, VECMATH_L2};
    for (size_t i = 0; i < 3; i++) {
        const char *name = vecmath_metric_name(all[i]);
        assert_true(vecmath_metric_parse(name, strlen(name), &m));
        assert_int_equal(m, all[i]);
    }
    assert_false(vecmath_metric_parse("cos", 3, &m));
    assert_false(vecmath_metric_parse("cosines", 7, &m));
    assert_false(vecmath_metric_parse("", 0, &m));
}

static void test_bytes_are_little_endian_float32(void **state)
{
    (void)state;
    float v[3] = {1.0f, -2.5f, 0.1f}, back[3];
    unsigned char bytes[12];
    vecmath_encode(v, 3, bytes);
    const unsigned char one[4] = {0x00, 0x00, 0x80, 0x3f}; /* 1.0f */
    assert_memory_equal(bytes, one, 4);
    vecmath_decode(bytes, 3, back);
    assert_memory_equal(back, v, sizeof(v));
}

static void test_jsonw_float_writes_the_shortest_text(void **state)
{
    (void)state;
    const struct {
        float v;
        const char *text;
    } cases[] = {{0.1f, "[0.1]"},
                 {1.0f, "[1]"},
                 {1.0f / 3, "[0.33333334]"},
                 {123456789.0f, "[123456790]"},
                 {-2.5f, "[-2.5]"},
                 {1e-8f, "[1e-08]"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf out;
        buf_init(&out, 256);
        struct jsonw w;
        jsonw_init(&w, &out);
        jsonw_array_begin(&w);
        jsonw_float(&w, cases[i].v);
        jsonw_array_end(&w);
        assert_int_equal(jsonw_finish(&w), RC_OK);
        assert_int_equal(out.len, strlen(cases[i].text));
        assert_memory_equal(out.data, cases[i].text, out.len);
        /* what it writes reads back as the same float */
        assert_true((float)jsonw_float_value(cases[i].v) == cases[i].v);
        buf_cleanup(&out);
    }
}

/* A vector as JSON: only an array of exactly n finite float32 numbers. */
static void test_json_vectors_are_checked(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool ok;
    } cases[] = {
        {"[1, -2.5, 0.1]", true}, {"[1, 2]", false},       {"[1, 2, 3, 4]", false},
        {"[1, \"2\", 3]", false}, {"[1, null, 3]", false}, {"[1, 2, 1e39]", false},
        {"[1, 2, -1e39]", false}, {"{\"a\": 1}", false},   {"3", false},
        {"[3.4e38, 0, 0]", true}, {"[true, 2, 3]", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *a = json_loads(cases[i].text, JSON_DECODE_ANY, NULL);
        assert_non_null(a);
        float v[3] = {9, 9, 9};
        assert_int_equal(vecmath_from_json(a, 3, v), cases[i].ok);
        assert_int_equal(vecmath_from_json(a, 3, NULL), cases[i].ok);
        json_decref(a);
    }
    json_t *a = json_loads("[1, -2.5, 0.1]", 0, NULL);
    float v[3];
    assert_true(vecmath_from_json(a, 3, v));
    assert_true(v[0] == 1.0f && v[1] == -2.5f && v[2] == 0.1f);
    json_decref(a);
    /* back as the floats' short text, whole ones as integers */
    json_t *back = vecmath_to_json(v, 3);
    assert_int_equal(json_array_size(back), 3);
    assert_true(json_is_integer(json_array_get(back, 0)));
    assert_int_equal(json_integer_value(json_array_get(back, 0)), 1);
    assert_true(json_real_value(json_array_get(back, 1)) == -2.5);
    assert_true(json_real_value(json_array_get(back, 2)) == 0.1); /* not 0.100000001490116 */
    json_decref(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distances_match_their_definitions),
        cmocka_unit_test(test_distances_of_many_rows_are_bit_identical),
        cmocka_unit_test(test_metric_names_round_trip),
        cmocka_unit_test(test_bytes_are_little_endian_float32),
        cmocka_unit_test(test_jsonw_float_writes_the_shortest_text),
        cmocka_unit_test(test_json_vectors_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
