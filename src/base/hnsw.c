/* hnsw.c -- see hnsw.h. */
#include "base/hnsw.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"

struct hnsw {
    size_t dims;
    enum vecmath_metric metric;
    unsigned m, m0, ef_construction;
    double ml; /* 1 / ln(m): the layers' thinning */
    uint64_t rng;
    size_t count, cap, live;
    float *vecs;      /* cap * dims */
    float *norms;     /* cap: |v| (cosine) */
    uint8_t *removed; /* cap */
    uint8_t *levels;  /* cap: each node's top layer */
    uint32_t **links; /* cap: per node, layer 0 [n, m0 ids], then per layer [n, m ids] */
    int max_level;
    uint32_t entry;
};

/* A node and its distance to what is being searched for. */
struct cand {
    float d;
    uint32_t id;
};

/* ---- Distances --------------------------------------------------------- */

static const float *vec_of(const struct hnsw *h, uint32_t id)
{
    return h->vecs + (size_t)id * h->dims;
}

/* The distance of q (norm qn) to node id: smaller is nearer. l2 stays
 * squared (the same order, no root). */
static float dist_to(const struct hnsw *h, const float *q, float qn, uint32_t id)
{
    const float *v = vec_of(h, id);
    switch (h->metric) {
    case VECMATH_DOT: return -vecmath_dot(q, v, h->dims);
    case VECMATH_L2: return vecmath_l2_squared(q, v, h->dims);
    case VECMATH_COSINE: break;
    }
    float vn = h->norms[id];
    if (qn == 0 || vn == 0)
        return 1;
    return 1 - vecmath_dot(q, v, h->dims) / (qn * vn);
}

static float node_dist(const struct hnsw *h, uint32_t a, uint32_t b)
{
    return dist_to(h, vec_of(h, a), h->norms[a], b);
}

/* ---- Heaps --------------------------------------------------------------- */

/* A binary heap of candidates: the nearest on top (is_max false) or the
 * farthest (is_max true). */
struct heap {
    struct cand *c;
    size_t n, cap;
    bool is_max;
};

static bool above(const struct heap *hp, struct cand a, struct cand b)
{
    return hp->is_max ? a.d > b.d : a.d < b.d;
}

static void heap_push(struct heap *hp, struct cand x)
{
    if (hp->n == hp->cap) {
        hp->cap = hp->cap ? 2 * hp->cap : 64;
        hp->c = xrealloc(hp->c, hp->cap * sizeof(*hp->c));
    }
    size_t i = hp->n++;
    hp->c[i] = x;
    while (i && above(hp, hp->c[i], hp->c[(i - 1) / 2])) {
        struct cand t = hp->c[i];
        hp->c[i] = hp->c[(i - 1) / 2];
        hp->c[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static struct cand heap_pop(struct heap *hp)
{
    struct cand top = hp->c[0];
    hp->c[0] = hp->c[--hp->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < hp->n && above(hp, hp->c[l], hp->c[m]))
            m = l;
        if (l + 1 < hp->n && above(hp, hp->c[l + 1], hp->c[m]))
            m = l + 1;
        if (m == i)
            break;
        struct cand t = hp->c[i];
        hp->c[i] = hp->c[m];
        hp->c[m] = t;
        i = m;
    }
    return top;
}

/* ---- The graph ----------------------------------------------------------- */

static uint32_t *links_at(const struct hnsw *h, uint32_t id, int layer)
{
    uint32_t *l = h->links[id];
    return layer == 0 ? l : l + (1 + h->m0) + (size_t)(layer - 1) * (1 + h->m);
}

static unsigned cap_at(const struct hnsw *h, int layer)
{
    return layer == 0 ? h->m0 : h->m;
}

static uint64_t next_random(struct hnsw *h)
{
    /* splitmix64 */
    uint64_t z = (h->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int draw_level(struct hnsw *h)
{
    double u = ((double)(next_random(h) >> 11) + 1) / 9007199254740993.0; /* (0, 1] */
    int l = (int)floor(-log(u) * h->ml);
    return l > HNSW_MAX_LEVEL ? HNSW_MAX_LEVEL : l;
}

struct hnsw *hnsw_new(size_t dims, enum vecmath_metric metric, unsigned m, unsigned ef_construction,
                      uint64_t seed)
{
    struct hnsw *h = xcalloc(1, sizeof(*h));
    m = m < 2 ? 2 : m > 64 ? 64 : m;
    h->dims = dims;
    h->metric = metric;
    h->m = m;
    h->m0 = 2 * m;
    h->ef_construction = ef_construction < m ? m : ef_construction;
    h->ml = 1 / log((double)m);
    h->rng = seed;
    h->max_level = -1;
    return h;
}

void hnsw_free(struct hnsw *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->count; i++)
        xfree(h->links[i]);
    xfree(h->links);
    xfree(h->vecs);
    xfree(h->norms);
    xfree(h->removed);
    xfree(h->levels);
    xfree(h);
}

const float *hnsw_vector(const struct hnsw *h, uint32_t slot)
{
    return vec_of(h, slot);
}

size_t hnsw_dims(const struct hnsw *h)
{
    return h->dims;
}

enum vecmath_metric hnsw_metric(const struct hnsw *h)
{
    return h->metric;
}

bool hnsw_is_removed(const struct hnsw *h, uint32_t slot)
{
    return h->removed[slot] != 0;
}

size_t hnsw_count(const struct hnsw *h)
{
    return h->count;
}

size_t hnsw_live(const struct hnsw *h)
{
    return h->live;
}

void hnsw_remove(struct hnsw *h, uint32_t slot)
{
    if (slot < h->count && !h->removed[slot]) {
        h->removed[slot] = 1;
        h->live--;
    }
}

/* ---- Brute force ---------------------------------------------------------- */

/* Rows whose distances are computed in one call, then offered: small
 * enough for the distances to stay in L1. */
#define EXACT_CHUNK 256

/* (d, slot) order: a worse than b. */
static bool exact_worse(struct cand a, struct cand b)
{
    return a.d != b.d ? a.d > b.d : a.id > b.id;
}

/* A max heap of the best: the worst on top. */
static void exact_sift(struct cand *c, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && exact_worse(c[l], c[m]))
            m = l;
        if (l + 1 < n && exact_worse(c[l + 1], c[m]))
            m = l + 1;
        if (m == i)
            return;
        struct cand t = c[i];
        c[i] = c[m];
        c[m] = t;
        i = m;
    }
}

static int by_exact(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return exact_worse(*x, *y) ? 1 : exact_worse(*y, *x) ? -1 : 0;
}

size_t hnsw_exact(const struct hnsw *h, const float *q, size_t k, uint32_t *slots, float *dists,
                  float *next)
{
    *next = INFINITY;
    if (!k)
        return 0;
    float qn = vecmath_norm(q, h->dims);
    /* k + 1 kept: the one past the cut tells the caller of a tie there. */
    size_t cap = k + 1, n = 0;
    struct cand *best = xmalloc(cap * sizeof(*best));
    float d[EXACT_CHUNK];
    bool is_nan = false;
    for (size_t at = 0; at < h->count; at += EXACT_CHUNK) {
        size_t rows = h->count - at < EXACT_CHUNK ? h->count - at : EXACT_CHUNK;
        vecmath_distances(h->metric, q, qn, h->vecs + at * h->dims,
                          h->metric == VECMATH_COSINE ? h->norms + at : NULL, rows, h->dims, d);
        for (size_t i = 0; i < rows; i++) {
            if (h->removed[at + i])
                continue;
            struct cand x = {d[i], (uint32_t)(at + i)};
            if (isnan(x.d)) {
                is_nan = true;
                continue;
            }
            if (n < cap) {
                best[n++] = x;
                if (n == cap) {
                    for (size_t j = cap / 2; j-- > 0;)
                        exact_sift(best, n, j);
                }
            } else if (exact_worse(best[0], x)) {
                best[0] = x;
                exact_sift(best, n, 0);
            }
        }
    }
    qsort(best, n, sizeof(*best), by_exact);
    size_t out = n < k ? n : k;
    for (size_t i = 0; i < out; i++) {
        slots[i] = best[i].id;
        dists[i] = best[i].d;
    }
    if (n > k)
        *next = best[k].d;
    if (is_nan)
        *next = NAN;
    xfree(best);
    return out;
}

/* The best-first search of one layer from start into w (a max heap of at
 * most ef, the nearest kept); visited marks the nodes seen (one bit per
 * slot). live_only: removed nodes are walked through but not kept, so a
 * neighbourhood of tombstones still yields ef live nodes beyond it. */
static void search_layer(const struct hnsw *h, const float *q, float qn, struct cand start,
                         struct heap *w, size_t ef, int layer, uint8_t *visited, bool live_only)
{
    struct heap todo = {0};
    heap_push(&todo, start);
    if (!(live_only && h->removed[start.id]))
        heap_push(w, start);
    while (todo.n) {
        struct cand c = heap_pop(&todo);
        if (w->n >= ef && c.d > w->c[0].d)
            break; /* nearer than the farthest kept: nothing left to gain */
        const uint32_t *l = links_at(h, c.id, layer);
        for (uint32_t i = 0; i < l[0]; i++) {
            uint32_t n = l[1 + i];
            if (visited[n >> 3] & (1u << (n & 7)))
                continue;
            visited[n >> 3] |= (uint8_t)(1u << (n & 7));
            struct cand x = {dist_to(h, q, qn, n), n};
            if (w->n < ef || x.d < w->c[0].d) {
                heap_push(&todo, x);
                if (live_only && h->removed[n])
                    continue;
                heap_push(w, x);
                if (w->n > ef)
                    heap_pop(w);
            }
        }
    }
    xfree(todo.c);
}

static int by_distance(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return x->d < y->d ? -1 : x->d > y->d ? 1 : (x->id > y->id) - (x->id < y->id);
}

/* Keeps at most max of the n candidates c (sorted nearest first to their
 * base) by the heuristic, then fills up with the nearest left out; the
 * kept ids go to out. Returns how many. */
static unsigned select_neighbors(const struct hnsw *h, const struct cand *c, size_t n, unsigned max,
                                 uint32_t *out)
{
    unsigned kept = 0;
    bool *taken = xcalloc(n + 1, sizeof(*taken));
    for (size_t i = 0; i < n && kept < max; i++) {
        bool good = true;
        for (unsigned k = 0; k < kept && good; k++)
            good = node_dist(h, c[i].id, out[k]) >= c[i].d;
        if (good) {
            out[kept++] = c[i].id;
            taken[i] = true;
        }
    }
    for (size_t i = 0; i < n && kept < max; i++) {
        if (!taken[i])
            out[kept++] = c[i].id;
    }
    xfree(taken);
    return kept;
}

/* Adds link to node id's list at layer, pruning it to its capacity. */
static void link_to(struct hnsw *h, uint32_t id, uint32_t link, int layer)
{
    uint32_t *l = links_at(h, id, layer);
    unsigned cap = cap_at(h, layer);
    if (l[0] < cap) {
        l[1 + l[0]++] = link;
        return;
    }
    struct cand *c = xmalloc((cap + 1) * sizeof(*c));
    for (unsigned i = 0; i < cap; i++)
        c[i] = (struct cand){node_dist(h, id, l[1 + i]), l[1 + i]};
    c[cap] = (struct cand){node_dist(h, id, link), link};
    qsort(c, cap + 1, sizeof(*c), by_distance);
    l[0] = select_neighbors(h, c, cap + 1, cap, l + 1);
    xfree(c);
}

static void grow(struct hnsw *h)
{
    if (h->count < h->cap)
        return;
    size_t cap = h->cap ? 2 * h->cap : 1024;
    h->vecs = xrealloc(h->vecs, cap * h->dims * sizeof(float));
    h->norms = xrealloc(h->norms, cap * sizeof(float));
    h->removed = xrealloc(h->removed, cap);
    h->levels = xrealloc(h->levels, cap);
    h->links = xrealloc(h->links, cap * sizeof(uint32_t *));
    h->cap = cap;
}

/* Greedy descent from the entry point to layer stop + 1: the nearest node found. */
static struct cand descend(const struct hnsw *h, const float *q, float qn, int stop)
{
    struct cand ep = {dist_to(h, q, qn, h->entry), h->entry};
    for (int layer = h->max_level; layer > stop; layer--) {
        bool changed = true;
        while (changed) {
            changed = false;
            const uint32_t *l = links_at(h, ep.id, layer);
            for (uint32_t i = 0; i < l[0]; i++) {
                float d = dist_to(h, q, qn, l[1 + i]);
                if (d < ep.d) {
                    ep = (struct cand){d, l[1 + i]};
                    changed = true;
                }
            }
        }
    }
    return ep;
}

uint32_t hnsw_add(struct hnsw *h, const float *v)
{
    grow(h);
    uint32_t id = (uint32_t)h->count++;
    memcpy(h->vecs + (size_t)id * h->dims, v, h->dims * sizeof(float));
    h->norms[id] = vecmath_norm(v, h->dims);
    h->removed[id] = 0;
    h->live++;
    int level = draw_level(h);
    h->levels[id] = (uint8_t)level;
    h->links[id] = xcalloc((1 + h->m0) + (size_t)level * (1 + h->m), sizeof(uint32_t));
    if (h->max_level < 0) {
        h->entry = id;
        h->max_level = level;
        return id;
    }
    const float *q = vec_of(h, id);
    float qn = h->norms[id];
    struct cand ep = descend(h, q, qn, level);
    uint8_t *visited = xcalloc((h->count + 7) / 8, 1);
    struct heap w = {.is_max = true};
    uint32_t *chosen = xmalloc((h->m0 + 1) * sizeof(*chosen));
    for (int layer = level < h->max_level ? level : h->max_level; layer >= 0; layer--) {
        memset(visited, 0, (h->count + 7) / 8);
        visited[ep.id >> 3] |= (uint8_t)(1u << (ep.id & 7));
        visited[id >> 3] |= (uint8_t)(1u << (id & 7));
        w.n = 0;
        search_layer(h, q, qn, ep, &w, h->ef_construction, layer, visited, false);
        qsort(w.c, w.n, sizeof(*w.c), by_distance);
        unsigned n = select_neighbors(h, w.c, w.n, h->m, chosen);
        uint32_t *mine = links_at(h, id, layer);
        mine[0] = n;
        memcpy(mine + 1, chosen, n * sizeof(*chosen));
        for (unsigned i = 0; i < n; i++)
            link_to(h, chosen[i], id, layer);
        ep = w.c[0];
    }
    xfree(chosen);
    xfree(w.c);
    xfree(visited);
    if (level > h->max_level) {
        h->max_level = level;
        h->entry = id;
    }
    return id;
}

size_t hnsw_search(const struct hnsw *h, const float *q, size_t k, size_t ef, uint32_t *slots,
                   float *dists)
{
    if (h->max_level < 0 || !k)
        return 0;
    if (ef < k)
        ef = k;
    float qn = vecmath_norm(q, h->dims);
    struct cand ep = descend(h, q, qn, 0);
    uint8_t *visited = xcalloc((h->count + 7) / 8, 1);
    visited[ep.id >> 3] |= (uint8_t)(1u << (ep.id & 7));
    struct heap w = {.is_max = true};
    search_layer(h, q, qn, ep, &w, ef, 0, visited, true);
    if (w.n)
        qsort(w.c, w.n, sizeof(*w.c), by_distance);
    /* w holds live nodes only (search_layer's live_only). */
    size_t n = w.n < k ? w.n : k;
    for (size_t i = 0; i < n; i++) {
        slots[i] = w.c[i].id;
        if (dists)
            dists[i] = h->metric == VECMATH_L2 ? sqrtf(w.c[i].d) : w.c[i].d;
    }
    xfree(w.c);
    xfree(visited);
    return n;
}

/* ---- The codec ------------------------------------------------------------ */

#define HEADER_BYTES (4 + 4 * 6 + 8 * 3 + 4 + 4)

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
    return p + 4;
}

static unsigned char *put_u64(unsigned char *p, uint64_t v)
{
    p = put_u32(p, (uint32_t)v);
    return put_u32(p, (uint32_t)(v >> 32));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* The bytes node id takes. */
static size_t node_bytes(const struct hnsw *h, uint32_t id)
{
    size_t n = 2 + 4 * h->dims;
    for (int layer = 0; layer <= h->levels[id]; layer++)
        n += 4 + 4 * (size_t)links_at(h, id, layer)[0];
    return n;
}

enum rc hnsw_encode(const struct hnsw *h, struct buf *out)
{
    size_t total = HEADER_BYTES;
    for (size_t i = 0; i < h->count; i++)
        total += node_bytes(h, (uint32_t)i);
    enum rc rc = buf_reserve(out, total);
    if (rc)
        return rc;
    unsigned char *p = (unsigned char *)out->data + out->len;
    memcpy(p, "HNSW", 4);
    p = put_u32(p + 4, HNSW_FORMAT_VERSION);
    p = put_u32(p, (uint32_t)h->dims);
    p = put_u32(p, (uint32_t)h->metric);
    p = put_u32(p, h->m);
    p = put_u32(p, h->m0);
    p = put_u32(p, h->ef_construction);
    p = put_u64(p, h->rng);
    p = put_u64(p, h->count);
    p = put_u64(p, h->live);
    p = put_u32(p, (uint32_t)(int32_t)h->max_level);
    p = put_u32(p, h->entry);
    for (size_t i = 0; i < h->count; i++) {
        *p++ = h->removed[i];
        *p++ = h->levels[i];
        vecmath_encode(vec_of(h, (uint32_t)i), h->dims, p);
        p += 4 * h->dims;
        for (int layer = 0; layer <= h->levels[i]; layer++) {
            const uint32_t *l = links_at(h, (uint32_t)i, layer);
            for (uint32_t k = 0; k <= l[0]; k++)
                p = put_u32(p, l[k]);
        }
    }
    out->len += total;
    return RC_OK;
}

/* Frees a graph hnsw_decode refuses (its count says which links exist). */
static struct hnsw *refuse(struct hnsw *h)
{
    hnsw_free(h);
    return NULL;
}

struct hnsw *hnsw_decode(const unsigned char *p, size_t n, size_t *used)
{
    if (n < HEADER_BYTES || memcmp(p, "HNSW", 4) != 0 || get_u32(p + 4) != HNSW_FORMAT_VERSION)
        return NULL;
    uint32_t dims = get_u32(p + 8), metric = get_u32(p + 12), m = get_u32(p + 16),
             m0 = get_u32(p + 20), efc = get_u32(p + 24);
    uint64_t rng = get_u64(p + 28), count = get_u64(p + 36), live = get_u64(p + 44);
    int32_t max_level = (int32_t)get_u32(p + 52);
    uint32_t entry = get_u32(p + 56);
    if (dims < 1 || dims > HNSW_MAX_DIMS || metric > VECMATH_L2 || m < 2 || m > 64 || m0 != 2 * m ||
        efc < m || efc > 1u << 16 || live > count)
        return NULL;
    /* Every node takes at least its flag, level, vector and layer 0's count. */
    size_t least = 2 + 4 * (size_t)dims + 4;
    if (count > (n - HEADER_BYTES) / least || count > UINT32_MAX)
        return NULL;
    if (count == 0 ? max_level != -1 || entry != 0
                   : max_level < 0 || max_level > HNSW_MAX_LEVEL || entry >= count)
        return NULL;
    struct hnsw *h = hnsw_new(dims, (enum vecmath_metric)metric, m, efc, rng);
    if (h->m != m || h->ef_construction != efc)
        return refuse(h);
    size_t cap = count ? count : 1;
    h->vecs = xcalloc(cap, (size_t)dims * sizeof(float));
    h->norms = xcalloc(cap, sizeof(float));
    h->removed = xcalloc(cap, 1);
    h->levels = xcalloc(cap, 1);
    h->links = xcalloc(cap, sizeof(uint32_t *));
    h->cap = cap;
    size_t at = HEADER_BYTES, removed = 0;
    int top = -1;
    for (uint32_t id = 0; id < count; id++) {
        if (n - at < least)
            return refuse(h);
        uint8_t is_removed = p[at], level = p[at + 1];
        if (is_removed > 1 || level > max_level)
            return refuse(h);
        at += 2;
        h->removed[id] = is_removed;
        h->levels[id] = level;
        removed += is_removed;
        top = level > top ? level : top;
        float *v = h->vecs + (size_t)id * dims;
        vecmath_decode(p + at, dims, v);
        h->norms[id] = vecmath_norm(v, dims);
        at += 4 * (size_t)dims;
        /* counted from here on: hnsw_free frees links[0..count) */
        h->links[id] = xcalloc((1 + h->m0) + (size_t)level * (1 + h->m), sizeof(uint32_t));
        h->count = id + 1;
        for (int layer = 0; layer <= level; layer++) {
            if (n - at < 4)
                return refuse(h);
            uint32_t k = get_u32(p + at);
            at += 4;
            if (k > cap_at(h, layer) || (n - at) / 4 < k)
                return refuse(h);
            uint32_t *l = links_at(h, id, layer);
            l[0] = k;
            for (uint32_t i = 0; i < k; i++) {
                l[1 + i] = get_u32(p + at + 4 * (size_t)i);
                if (l[1 + i] >= count)
                    return refuse(h);
            }
            at += 4 * (size_t)k;
        }
    }
    if (count - removed != live || top != max_level || (count && h->levels[entry] != max_level))
        return refuse(h);
    if (!used && at != n)
        return refuse(h);
    /* A link at a layer leads to a node that is in that layer. */
    for (uint32_t id = 0; id < count; id++) {
        for (int layer = 1; layer <= h->levels[id]; layer++) {
            const uint32_t *l = links_at(h, id, layer);
            for (uint32_t i = 0; i < l[0]; i++) {
                if (h->levels[l[1 + i]] < layer)
                    return refuse(h);
            }
        }
    }
    h->live = live;
    h->max_level = max_level;
    h->entry = entry;
    if (used)
        *used = at;
    return h;
}
