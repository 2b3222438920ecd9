/* count_cache.h -- list totals served without recounting (layer: core).
 *
 * A page's totalItems is a COUNT(*) over every matching row: for a filter
 * matching thousands of rows it costs more than the page itself. Each worker
 * keeps the counts it computed, keyed by the exact COUNT statement and its
 * parameters, together with the store's data version of its read connection
 * at that time (store_data_version). It changes whenever any connection commits, so an
 * entry is reused only while the database is unchanged since it was counted:
 * never a stale total, and a read-mostly app counts once per filter.
 * Kept in a page cache (page_cache.h), a count as its 8-byte body: bounded
 * the same way; belongs to one worker thread. */
#ifndef TARMAC_CORE_COUNT_CACHE_H
#define TARMAC_CORE_COUNT_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"
#include "core/record/page_cache.h"

/* A page cache whose bodies are counts: the same slots, key check and bounds. */
struct core_count_cache {
    struct core_page_cache entries;
};

/* Looks key up; true with *count when present for this data_version. */
bool core_count_cache_get(struct core_count_cache *cc, struct str key, int64_t data_version,
                          int64_t *count);
/* Remembers count for key at data_version (replacing what the slot held). */
void core_count_cache_put(struct core_count_cache *cc, struct str key, int64_t data_version,
                          int64_t count);
/* Frees every entry. */
void core_count_cache_cleanup(struct core_count_cache *cc);

#endif
