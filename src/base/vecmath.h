/* vecmath.h -- float32 vectors: distances and their stored bytes (layer:
 * base, no I/O).
 *
 * A vector field (issue #18) stores its values as float32, little-endian,
 * four bytes each; nearest-neighbour search compares a query with every
 * stored vector, so the inner loops are SIMD: thirty-two partial sums
 * (four AVX2 registers when the CPU has them, picked at each call, else
 * eight SSE2 ones, x86-64's baseline; plain C elsewhere), each product
 * rounded then added, no FMA. The sums are in one fixed order, so a
 * distance is the same number whichever path (the table's exact scan, the
 * in-memory copy's, the approximate index) computes it. */
#ifndef TARMAC_BASE_VECMATH_H
#define TARMAC_BASE_VECMATH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Dimensions a vector may have. */
#define VECMATH_MAX_DIMENSIONS 4096

/* How two vectors are compared; every one is a distance: smaller is nearer. */
enum vecmath_metric {
    VECMATH_COSINE, /* 1 - cos(a, b), in [0, 2]; 1 when either is all zeros */
    VECMATH_DOT,    /* -(a . b): the largest inner product first */
    VECMATH_L2,     /* the Euclidean distance */
};

/* The metric's name ("cosine", "dot", "l2"); parse is its inverse (false:
 * no such metric). */
const char *vecmath_metric_name(enum vecmath_metric m);
bool vecmath_metric_parse(const char *s, size_t len, enum vecmath_metric *out);

/* a . b over n values. */
float vecmath_dot(const float *a, const float *b, size_t n);
/* The sum of squared differences over n values. */
float vecmath_l2_squared(const float *a, const float *b, size_t n);
/* The distance of a and b under m; a_norm is |a| (vecmath_norm), read by
 * cosine only, so a query's norm is computed once. */
float vecmath_distance(enum vecmath_metric m, const float *a, float a_norm, const float *b,
                       size_t n);
/* |a|. */
float vecmath_norm(const float *a, size_t n);

/* The distances under m of q (q_norm its norm) to count vectors of n
 * floats stored one after another from rows, into out (count floats):
 * the exact scan's inner loop over a contiguous copy, one stream read
 * front to back. Each is the very float vecmath_distance(m, q, q_norm,
 * row, n) gives (the same lanes, added in the same order), so a scan of
 * the copy and a scan of the table rank rows identically. norms[i] must
 * be vecmath_norm of row i (read by cosine only; NULL for the others). */
void vecmath_distances(enum vecmath_metric m, const float *q, float q_norm, const float *rows,
                       const float *norms, size_t count, size_t n, float *out);

/* Stores n floats as little-endian bytes into out (4 * n bytes). */
void vecmath_encode(const float *v, size_t n, unsigned char *out);
/* Reads n floats from 4 * n little-endian bytes. */
void vecmath_decode(const unsigned char *in, size_t n, float *out);

/* Whether a is a JSON array of exactly n numbers, each finite and within
 * float32's range; when it is and out is not NULL, the numbers as floats
 * into out (room for n). The one test of a vector given as JSON: a
 * field's value, a query's `to`, a provider's answer. */
bool vecmath_from_json(const json_t *a, size_t n, float *out);
/* n floats as a JSON array, each number the float's shortest text
 * (jsonw_float), a whole one as an integer (1, not 1.0): what a record's
 * vector reads back as. */
json_t *vecmath_to_json(const float *v, size_t n);

#endif
