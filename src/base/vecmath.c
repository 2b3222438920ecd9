/* vecmath.c -- see vecmath.h. */
#include "base/vecmath.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/jsonw.h"

static const char *const metric_names[] = {
    [VECMATH_COSINE] = "cosine",
    [VECMATH_DOT] = "dot",
    [VECMATH_L2] = "l2",
};

const char *vecmath_metric_name(enum vecmath_metric m)
{
    return metric_names[m];
}

bool vecmath_metric_parse(const char *s, size_t len, enum vecmath_metric *out)
{
    for (size_t i = 0; i < sizeof(metric_names) / sizeof(metric_names[0]); i++) {
        if (strlen(metric_names[i]) == len && memcmp(metric_names[i], s, len) == 0) {
            *out = (enum vecmath_metric)i;
            return true;
        }
    }
    return false;
}

/* Every sum of products (a dot product) and of squared differences (l2)
 * is made one way, whichever caller asks (a list's scan of the table, the
 * copy's scan, the graph): LANES partial sums, lane j adding the values
 * j, j + 32, j + 64, ... in that order, the n % 32 last values then added
 * to lanes 0, 1, ... in order, and the lanes folded in a fixed tree. Each
 * product is rounded, then added (no FMA, no reassociation), so every
 * copy below gives the same float. Thirty-two lanes are four AVX registers
 * (eight SSE ones): four independent sums in flight, enough for one row to
 * stream at memory speed (one eight-lane sum is bound by the add's
 * latency, and several rows at once read several streams, which this
 * machine's prefetcher serves worse than one). */
#define LANES 32

/* The lanes of q against b over body values (a multiple of LANES) into l. */
typedef void lanes_fn(const float *q, const float *b, size_t body, bool is_l2, float l[LANES]);

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx2"))) static void lanes_avx2(const float *q, const float *b, size_t body,
                                                       bool is_l2, float l[LANES])
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    if (is_l2) {
        for (size_t i = 0; i < body; i += LANES) {
            __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(b + i));
            __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(b + i + 8));
            __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 16), _mm256_loadu_ps(b + i + 16));
            __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 24), _mm256_loadu_ps(b + i + 24));
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(d0, d0));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(d1, d1));
            a2 = _mm256_add_ps(a2, _mm256_mul_ps(d2, d2));
            a3 = _mm256_add_ps(a3, _mm256_mul_ps(d3, d3));
        }
    } else {
        for (size_t i = 0; i < body; i += LANES) {
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(b + i)));
            a1 = _mm256_add_ps(
                a1, _mm256_mul_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(b + i + 8)));
            a2 = _mm256_add_ps(
                a2, _mm256_mul_ps(_mm256_loadu_ps(q + i + 16), _mm256_loadu_ps(b + i + 16)));
            a3 = _mm256_add_ps(
                a3, _mm256_mul_ps(_mm256_loadu_ps(q + i + 24), _mm256_loadu_ps(b + i + 24)));
        }
    }
    _mm256_storeu_ps(l, a0);
    _mm256_storeu_ps(l + 8, a1);
    _mm256_storeu_ps(l + 16, a2);
    _mm256_storeu_ps(l + 24, a3);
}

/* SSE2, x86-64's baseline: the same lanes in eight registers. */
static void lanes_sse2(const float *q, const float *b, size_t body, bool is_l2, float l[LANES])
{
    __m128 a[LANES / 4];
    for (size_t r = 0; r < LANES / 4; r++)
        a[r] = _mm_setzero_ps();
    for (size_t i = 0; i < body; i += LANES) {
        for (size_t r = 0; r < LANES / 4; r++) {
            __m128 x = _mm_loadu_ps(q + i + 4 * r), y = _mm_loadu_ps(b + i + 4 * r);
            if (is_l2) {
                x = _mm_sub_ps(x, y);
                y = x;
            }
            a[r] = _mm_add_ps(a[r], _mm_mul_ps(x, y));
        }
    }
    for (size_t r = 0; r < LANES / 4; r++)
        _mm_storeu_ps(l + 4 * r, a[r]);
}

static lanes_fn *pick_lanes(void)
{
    return __builtin_cpu_supports("avx2") ? lanes_avx2 : lanes_sse2;
}
#else
/* Elsewhere: plain C, the same order. */
static void lanes_c(const float *q, const float *b, size_t body, bool is_l2, float l[LANES])
{
    for (size_t j = 0; j < LANES; j++)
        l[j] = 0;
    for (size_t i = 0; i < body; i += LANES) {
        for (size_t j = 0; j < LANES; j++) {
            float d = q[i + j] - b[i + j];
            l[j] += is_l2 ? d * d : q[i + j] * b[i + j];
        }
    }
}

static lanes_fn *pick_lanes(void)
{
    return lanes_c;
}
#endif

/* The whole sum of q against b over n values, by lanes (from the body). */
static float sum_with(lanes_fn *lanes, const float *q, const float *b, size_t n, bool is_l2)
{
    float l[LANES];
    size_t i = n - n % LANES;
    lanes(q, b, i, is_l2, l);
    for (size_t j = 0; i < n; i++, j++) {
        float d = q[i] - b[i];
        l[j] += is_l2 ? d * d : q[i] * b[i];
    }
    for (size_t w = LANES / 2; w; w /= 2) {
        for (size_t j = 0; j < w; j++)
            l[j] += l[j + w];
    }
    return l[0];
}

float vecmath_dot(const float *a, const float *b, size_t n)
{
    return sum_with(pick_lanes(), a, b, n, false);
}

float vecmath_l2_squared(const float *a, const float *b, size_t n)
{
    return sum_with(pick_lanes(), a, b, n, true);
}

float vecmath_norm(const float *a, size_t n)
{
    return sqrtf(vecmath_dot(a, a, n));
}

float vecmath_distance(enum vecmath_metric m, const float *a, float a_norm, const float *b,
                       size_t n)
{
    switch (m) {
    case VECMATH_DOT: return -vecmath_dot(a, b, n);
    case VECMATH_L2: return sqrtf(vecmath_l2_squared(a, b, n));
    case VECMATH_COSINE: break;
    }
    float ab = vecmath_dot(a, b, n);
    float b_norm = vecmath_norm(b, n);
    if (a_norm == 0 || b_norm == 0)
        return 1;
    float d = 1 - ab / (a_norm * b_norm);
    return d < 0 ? 0 : d > 2 ? 2 : d;
}

/* ---- The exact scan's loop ------------------------------------------------ */

/* A row's sum as its distance: vecmath_distance's last step. */
static float sum_to_distance(enum vecmath_metric m, float s, float q_norm, float b_norm)
{
    switch (m) {
    case VECMATH_DOT: return -s;
    case VECMATH_L2: return sqrtf(s);
    case VECMATH_COSINE: break;
    }
    if (q_norm == 0 || b_norm == 0)
        return 1;
    float d = 1 - s / (q_norm * b_norm);
    return d < 0 ? 0 : d > 2 ? 2 : d;
}

void vecmath_distances(enum vecmath_metric m, const float *q, float q_norm, const float *rows,
                       const float *norms, size_t count, size_t n, float *out)
{
    bool is_l2 = m == VECMATH_L2;
    lanes_fn *lanes = pick_lanes();
    for (size_t r = 0; r < count; r++) {
        float s = sum_with(lanes, q, rows + r * n, n, is_l2);
        out[r] = sum_to_distance(m, s, q_norm, norms ? norms[r] : 0);
    }
}

void vecmath_encode(const float *v, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        out[4 * i] = (unsigned char)u;
        out[4 * i + 1] = (unsigned char)(u >> 8);
        out[4 * i + 2] = (unsigned char)(u >> 16);
        out[4 * i + 3] = (unsigned char)(u >> 24);
    }
}

void vecmath_decode(const unsigned char *in, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)in[4 * i] | (uint32_t)in[4 * i + 1] << 8 |
                     (uint32_t)in[4 * i + 2] << 16 | (uint32_t)in[4 * i + 3] << 24;
        memcpy(&out[i], &u, 4);
    }
}

bool vecmath_from_json(const json_t *a, size_t n, float *out)
{
    if (!json_is_array(a) || json_array_size(a) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const json_t *x = json_array_get(a, i);
        double d = json_number_value(x);
        if (!json_is_number(x) || !isfinite(d) || fabs(d) > FLT_MAX)
            return false;
        if (out)
            out[i] = (float)d;
    }
    return true;
}

json_t *vecmath_to_json(const float *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        double f = jsonw_float_value(v[i]);
        json_array_append_new(a, f == floor(f) && fabs(f) < 9e15 ? json_integer((json_int_t)f)
                                                                 : json_real(f));
    }
    return a;
}
