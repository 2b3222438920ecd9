/* metrics.c -- see metrics.h. Appends ignore buf's limit errors: a scrape
 * buffer is sized generously, and a cut response is caught by the parser in
 * the tests, not by a branch per line here. */
#include "base/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const uint64_t metrics_bucket_us[METRICS_BUCKETS] = {500,     1000,    2500,    5000,    10000,
                                                     25000,   50000,   100000,  250000,  500000,
                                                     1000000, 2500000, 5000000, 10000000};

static size_t bucket_of(uint64_t us)
{
    size_t i = 0;
    while (i < METRICS_BUCKETS && us > metrics_bucket_us[i])
        i++;
    return i;
}

void metrics_hist_observe(struct metrics_hist *h, uint64_t us)
{
    metrics_add(&h->counts[bucket_of(us)], 1);
    metrics_add(&h->sum_us, us);
}

void metrics_hist_observe_shared(struct metrics_hist *h, uint64_t us)
{
    metrics_add_shared(&h->counts[bucket_of(us)], 1);
    metrics_add_shared(&h->sum_us, us);
}

void metrics_hist_sum(struct metrics_hist *dst, const struct metrics_hist *src)
{
    for (size_t i = 0; i <= METRICS_BUCKETS; i++)
        dst->counts[i] += metrics_read(&src->counts[i]);
    dst->sum_us += metrics_read(&src->sum_us);
}

static void put(struct buf *b, const char *s)
{
    (void)buf_append(b, s, strlen(s));
}

void metrics_text_header(struct buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP ");
    put(b, name);
    put(b, " ");
    put(b, help);
    put(b, "\n# TYPE ");
    put(b, name);
    put(b, " ");
    put(b, type);
    put(b, "\n");
}

static void put_escaped(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(b, "\\\\");
        else if (*s == '"')
            put(b, "\\\"");
        else if (*s == '\n')
            put(b, "\\n");
        else
            (void)buf_append(b, s, 1);
    }
}

static void put_name_labels(struct buf *b, const char *name, const char *const *labels,
                            const char *le)
{
    put(b, name);
    if ((!labels || !labels[0]) && !le)
        return;
    put(b, "{");
    bool is_first = true;
    for (size_t i = 0; labels && labels[i]; i += 2) {
        put(b, is_first ? "" : ",");
        put(b, labels[i]);
        put(b, "=\"");
        put_escaped(b, labels[i + 1]);
        put(b, "\"");
        is_first = false;
    }
    if (le) {
        put(b, is_first ? "le=\"" : ",le=\"");
        put(b, le);
        put(b, "\"");
    }
    put(b, "}");
}

void metrics_text_sample(struct buf *b, const char *name, const char *const *labels, double value)
{
    char v[48];
    put_name_labels(b, name, labels, NULL);
    snprintf(v, sizeof(v), " %.9g\n", value);
    put(b, v);
}

void metrics_text_sample_u64(struct buf *b, const char *name, const char *const *labels,
                             uint64_t value)
{
    char v[32];
    put_name_labels(b, name, labels, NULL);
    snprintf(v, sizeof(v), " %" PRIu64 "\n", value);
    put(b, v);
}

void metrics_text_hist(struct buf *b, const char *name, const char *const *labels,
                       const struct metrics_hist *h)
{
    char n[128];
    char le[32];
    uint64_t total = 0;
    snprintf(n, sizeof(n), "%s_bucket", name);
    for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
        total += h->counts[i];
        if (i < METRICS_BUCKETS)
            snprintf(le, sizeof(le), "%g", (double)metrics_bucket_us[i] / 1e6);
        else
            snprintf(le, sizeof(le), "+Inf");
        put_name_labels(b, n, labels, le);
        char v[32];
        snprintf(v, sizeof(v), " %" PRIu64 "\n", total);
        put(b, v);
    }
    snprintf(n, sizeof(n), "%s_sum", name);
    metrics_text_sample(b, n, labels, (double)h->sum_us / 1e6);
    snprintf(n, sizeof(n), "%s_count", name);
    metrics_text_sample_u64(b, n, labels, total);
}
