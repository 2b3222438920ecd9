/* fuzz_hnsw_decode.c -- libFuzzer target for the saved vector index's
 * bytes: hnsw_decode (base/hnsw.h) and the whole file around it,
 * core_vector_file_decode (core/record/vector_file.h), over untrusted
 * input. Beyond "no crash, no read past the bytes": a graph accepted is
 * encoded again to the very same bytes (the format has one spelling per
 * graph), searches and grows without fault, and a file accepted has one id
 * per live slot and none per removed one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hnsw.h"
#include "core/record/vector_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Searches h near its first vector (or zeros), adds one and searches again. */
static void exercise(struct hnsw *h)
{
    size_t dims = hnsw_dims(h);
    float *q = xcalloc(dims, sizeof(float));
    if (hnsw_count(h))
        memcpy(q, hnsw_vector(h, 0), dims * sizeof(float));
    uint32_t slots[8];
    float dists[8], next;
    size_t n = hnsw_search(h, q, 8, 16, slots, dists);
    for (size_t i = 0; i < n; i++) {
        if (slots[i] >= hnsw_count(h) || hnsw_is_removed(h, slots[i]))
            abort();
    }
    n = hnsw_exact(h, q, 8, slots, dists, &next);
    if (n > hnsw_live(h))
        abort();
    if (dims > 256) { /* an add makes room for 1,024 vectors: keep it small */
        xfree(q);
        return;
    }
    q[0] += 1;
    uint32_t at = hnsw_add(h, q);
    if (at != hnsw_count(h) - 1)
        abort();
    (void)hnsw_search(h, q, 8, 16, slots, dists);
    xfree(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hnsw *h = hnsw_decode(data, size, NULL);
    if (h) {
        struct buf b;
        buf_init(&b, SIZE_MAX);
        if (hnsw_encode(h, &b) != RC_OK || b.len != size || memcmp(b.data, data, size) != 0)
            abort();
        buf_cleanup(&b);
        exercise(h);
        hnsw_free(h);
    }
    char **ids = NULL;
    struct hnsw *f = core_vector_file_decode(data, size, &ids);
    if (f) {
        size_t count = hnsw_count(f);
        for (size_t i = 0; i < count; i++) {
            if (hnsw_is_removed(f, (uint32_t)i) != !ids[i] || (ids[i] && !ids[i][0]))
                abort();
        }
        struct buf b;
        buf_init(&b, SIZE_MAX);
        if (core_vector_file_encode(f, ids, &b) != RC_OK || b.len != size ||
            memcmp(b.data, data, size) != 0)
            abort();
        buf_cleanup(&b);
        exercise(f);
        for (size_t i = 0; i < count; i++)
            xfree(ids[i]);
        xfree(ids);
        hnsw_free(f);
    } else if (ids) {
        abort();
    }
    return 0;
}
