/* metrics.h -- counters, latency histograms and the Prometheus text format (layer: base).
 *
 * Counters are plain uint64_t owned by one thread, which bumps them with a
 * relaxed load and store (no lock, no locked instruction: the same code as
 * `x += n`), while a scraper on another thread sums them with relaxed loads.
 * A value read mid-update is at worst one event behind, and the C11 atomics
 * keep it a defined, sanitizer-clean read. Where several threads update one
 * counter, use metrics_add_shared() (a relaxed fetch_add) and keep it off
 * per-request paths.
 *
 * The histogram has fixed buckets in microseconds (0.5 ms to 10 s), the
 * same for every latency we report, so per-thread copies add up bucket by
 * bucket. metrics_text_* write exposition format 0.0.4 into a struct buf. */
#ifndef TARMAC_BASE_METRICS_H
#define TARMAC_BASE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Adds n to a counter only the calling thread writes. */
static inline void metrics_add(uint64_t *c, uint64_t n)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
/* Adds n to a counter any thread may write. */
static inline void metrics_add_shared(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}
/* Reads a counter another thread writes. */
static inline uint64_t metrics_read(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

#define METRICS_BUCKETS 14
/* Upper bounds in microseconds; the last bucket (+Inf) has no entry. */
extern const uint64_t metrics_bucket_us[METRICS_BUCKETS];

struct metrics_hist {
    uint64_t counts[METRICS_BUCKETS + 1]; /* not cumulative; [METRICS_BUCKETS] is +Inf */
    uint64_t sum_us;
};

/* Records one observation of us microseconds (owner thread only). */
void metrics_hist_observe(struct metrics_hist *h, uint64_t us);
/* Same, from any thread (relaxed fetch_adds). */
void metrics_hist_observe_shared(struct metrics_hist *h, uint64_t us);
/* Adds a snapshot of src (read with relaxed loads) into dst, a private copy. */
void metrics_hist_sum(struct metrics_hist *dst, const struct metrics_hist *src);

/* "# HELP name help\n# TYPE name type\n". type: counter, gauge, histogram. */
void metrics_text_header(struct buf *b, const char *name, const char *type, const char *help);
/* One sample line: name{labels} value. labels is NULL or pairs of
 * (key, value) C strings ending with NULL; values are escaped (\\, \", \n). */
void metrics_text_sample(struct buf *b, const char *name, const char *const *labels, double value);
void metrics_text_sample_u64(struct buf *b, const char *name, const char *const *labels,
                             uint64_t value);
/* The _bucket (cumulative, le in seconds), _sum (seconds) and _count lines
 * of a histogram, each with labels plus le. */
void metrics_text_hist(struct buf *b, const char *name, const char *const *labels,
                       const struct metrics_hist *h);

#endif
