/* hnsw.h -- an approximate nearest-neighbour index over float32 vectors:
 * a hierarchical navigable small world graph (Malkov & Yashunin, 2016)
 * (layer: base, no I/O, no threads).
 *
 * Each vector is a node in a stack of proximity graphs: every node is in
 * layer 0, each higher layer holds a random, exponentially thinner subset.
 * A search walks greedily from the top layer's entry point down, then runs
 * a best-first search with a candidate list of ef nodes in layer 0. An
 * insert searches the same way (ef_construction) and links the node to
 * neighbours chosen by the paper's heuristic (a candidate is kept only if
 * it is nearer the new node than any neighbour already kept, so links
 * reach across clusters), pruning the neighbours' lists the same way.
 *
 * Nodes are slots numbered from 0 in insertion order. A removed node stays
 * in the graph as a waypoint (a tombstone) and is never returned; the
 * caller rebuilds when tombstones dominate (hnsw_count vs hnsw_live).
 * Distances are vecmath's metrics (l2 compares squared distances inside).
 *
 * Not thread-safe: the caller serialises inserts and removals against
 * searches (several searches may run at once: they only read). */
#ifndef TARMAC_BASE_HNSW_H
#define TARMAC_BASE_HNSW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/vecmath.h"

/* Links per node in the upper layers (layer 0 has twice as many). */
#define HNSW_DEFAULT_M 16
#define HNSW_DEFAULT_EF_CONSTRUCTION 128
/* A node's layers are 0..level, level at most this. */
#define HNSW_MAX_LEVEL 30
/* The largest vectors hnsw_decode accepts (a vector field's maximum is 4,096). */
#define HNSW_MAX_DIMS 65536
/* hnsw_encode's format: bump on any change (hnsw_decode refuses others). */
#define HNSW_FORMAT_VERSION 1

struct hnsw;

/* A new empty index of dims-dimensional vectors compared under metric;
 * m links per node (2..64), ef_construction (>= m) the insert's candidate
 * list; seed fixes the layers drawn (the same inserts make the same
 * graph). */
struct hnsw *hnsw_new(size_t dims, enum vecmath_metric metric, unsigned m, unsigned ef_construction,
                      uint64_t seed);
/* Frees h; accepts NULL. */
void hnsw_free(struct hnsw *h);
/* Adds v (dims floats, copied) and returns its slot. */
uint32_t hnsw_add(struct hnsw *h, const float *v);
/* Marks slot removed: never returned again. */
void hnsw_remove(struct hnsw *h, uint32_t slot);
/* The vector of slot (dims floats, as added; removed ones too). */
const float *hnsw_vector(const struct hnsw *h, uint32_t slot);
/* The dimensions and metric h was made with. */
size_t hnsw_dims(const struct hnsw *h);
enum vecmath_metric hnsw_metric(const struct hnsw *h);
/* Whether slot was removed (slot < hnsw_count). */
bool hnsw_is_removed(const struct hnsw *h, uint32_t slot);
/* Slots ever added, and those not removed. */
size_t hnsw_count(const struct hnsw *h);
size_t hnsw_live(const struct hnsw *h);
/* The up to k live slots nearest q into slots (and their distances, under
 * the metric, into dists when not NULL), nearest first, searching with a
 * candidate list of ef (raised to k). Returns how many. */
size_t hnsw_search(const struct hnsw *h, const float *q, size_t k, size_t ef, uint32_t *slots,
                   float *dists);
/* The k live slots truly nearest q, by brute force over the graph's
 * contiguous vectors (vecmath_distances: each distance the very float
 * vecmath_distance gives for that vector, not the graph's internal
 * squared or unclamped one), into slots and dists, nearest first, a tie
 * to the smaller slot. Returns how many (k, or the live count when
 * fewer); *next is the distance of the first live slot left out
 * (INFINITY when none is), so a caller sees a tie across the cut, or NAN
 * when some distance was not a number (an order is then meaningless). */
size_t hnsw_exact(const struct hnsw *h, const float *q, size_t k, uint32_t *slots, float *dists,
                  float *next);

/* Appends the whole graph to out in a versioned little-endian form (the
 * same graph on any machine): "HNSW", the version, dims, metric, m, m0,
 * ef_construction, the random state, count, live, the top layer and the
 * entry point, then per slot its removed flag, level, vector and links
 * per layer. RC_TOO_LARGE past out's maximum, RC_NOMEM (out then holds
 * what it held). */
enum rc hnsw_encode(const struct hnsw *h, struct buf *out);
/* The graph encoded at the front of the n bytes at p (untrusted: every
 * count, id, level and size is checked, none read past p + n), which
 * searches, adds and removes exactly as the one encoded did; *used (when
 * not NULL) the bytes it took, else bytes left over are refused. NULL
 * when the bytes are no such graph. */
struct hnsw *hnsw_decode(const unsigned char *p, size_t n, size_t *used);

#endif
