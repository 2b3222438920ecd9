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

/* Eight lanes summed apart, then folded in a fixed order: the shape GCC's
 * SLP vectoriser turns into two SSE (or one AVX) accumulators at -O2. */
#define LANES 8

/* On x86-64 with GCC, an AVX2 copy too, picked at load time by the CPU
 * (function multiversioning): the baseline stays SSE2, as Debian builds
 * it. Each lane adds the same products in the same order in either copy
 * (no FMA: ISO C mode keeps contraction off), so both give the same
 * float. Not under the sanitizers, whose runtime starts after ifunc
 * resolvers run. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&                             \
    !defined(__SANITIZE_ADDRESS__)
#define VECMATH_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECMATH_CLONES
#endif

VECMATH_CLONES float vecmath_dot(const float *a, const float *b, size_t n)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        for (size_t j = 0; j < LANES; j++)
            acc[j] += a[i + j] * b[i + j];
    }
    for (size_t j = 0; i < n; i++, j++)
        acc[j] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

VECMATH_CLONES float vecmath_l2_squared(const float *a, const float *b, size_t n)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        for (size_t j = 0; j < LANES; j++) {
            float d = a[i + j] - b[i + j];
            acc[j] += d * d;
        }
    }
    for (size_t j = 0; i < n; i++, j++) {
        float d = a[i] - b[i];
        acc[j] += d * d;
    }
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
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

/* Eight floats as one value: GCC and clang lower its arithmetic to two SSE
 * or one AVX register, lane by lane, each lane rounding as the scalar code
 * does (no contraction in ISO C mode: a product is rounded, then added). */
typedef float v8sf __attribute__((vector_size(32)));
#if defined(__GNUC__) && !defined(__clang__)
/* The helpers below pass v8sf by value; they are always inlined, so the
 * ABI GCC warns about (AVX registers vs memory) is never used. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

static inline __attribute__((always_inline)) v8sf load8(const float *p)
{
    v8sf v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Rows scanned together: four independent sums in flight (eight SSE or
 * four AVX registers), the query's eight floats loaded once for all. */
#define BLOCK 4

/* The tail of a row (the n % 8 last values) into its lanes, then the
 * lanes folded: vecmath_dot's and vecmath_l2_squared's order exactly. */
static inline __attribute__((always_inline)) float
finish_sum(v8sf acc, const float *q, const float *b, size_t i, size_t n, bool is_l2)
{
    float l[LANES];
    memcpy(l, &acc, sizeof(l));
    for (size_t j = 0; i < n; i++, j++) {
        float d = is_l2 ? q[i] - b[i] : 0;
        l[j] += is_l2 ? d * d : q[i] * b[i];
    }
    return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
}

/* A row's sum as its distance: vecmath_distance's last step. */
static inline __attribute__((always_inline)) float sum_to_distance(enum vecmath_metric m, float s,
                                                                   float q_norm, float b_norm)
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

VECMATH_CLONES void vecmath_distances(enum vecmath_metric m, const float *q, float q_norm,
                                      const float *rows, const float *norms, size_t count, size_t n,
                                      float *out)
{
    bool is_l2 = m == VECMATH_L2;
    size_t body = n - n % LANES, r = 0;
    for (; r + BLOCK <= count; r += BLOCK) {
        const float *b0 = rows + r * n, *b1 = b0 + n, *b2 = b1 + n, *b3 = b2 + n;
        v8sf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        if (is_l2) {
            for (size_t i = 0; i < body; i += LANES) {
                v8sf x = load8(q + i);
                v8sf d0 = x - load8(b0 + i), d1 = x - load8(b1 + i);
                v8sf d2 = x - load8(b2 + i), d3 = x - load8(b3 + i);
                a0 += d0 * d0;
                a1 += d1 * d1;
                a2 += d2 * d2;
                a3 += d3 * d3;
            }
        } else {
            for (size_t i = 0; i < body; i += LANES) {
                v8sf x = load8(q + i);
                a0 += x * load8(b0 + i);
                a1 += x * load8(b1 + i);
                a2 += x * load8(b2 + i);
                a3 += x * load8(b3 + i);
            }
        }
        float s[BLOCK] = {
            finish_sum(a0, q, b0, body, n, is_l2), finish_sum(a1, q, b1, body, n, is_l2),
            finish_sum(a2, q, b2, body, n, is_l2), finish_sum(a3, q, b3, body, n, is_l2)};
        for (size_t j = 0; j < BLOCK; j++)
            out[r + j] = sum_to_distance(m, s[j], q_norm, norms ? norms[r + j] : 0);
    }
    for (; r < count; r++) {
        const float *b = rows + r * n;
        v8sf a = {0};
        for (size_t i = 0; i < body; i += LANES) {
            v8sf d = load8(q + i) - load8(b + i);
            a += is_l2 ? d * d : load8(q + i) * load8(b + i);
        }
        out[r] =
            sum_to_distance(m, finish_sum(a, q, b, body, n, is_l2), q_norm, norms ? norms[r] : 0);
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
