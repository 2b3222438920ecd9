/* page_cache.h -- whole list responses served again while nothing changed
 * (layer: core).
 *
 * Keyed by everything the response depends on (collection and schema
 * version, requester, every list parameter) and valid only while the
 * store's data version is unchanged (as count_cache.h): a read-mostly app
 * serves a repeated page by copying bytes. Bounded in entries and bytes;
 * belongs to one worker thread. */
#ifndef TARMAC_CORE_PAGE_CACHE_H
#define TARMAC_CORE_PAGE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

#define CORE_PAGE_CACHE_SLOTS 512
#define CORE_PAGE_CACHE_MAX_ENTRY (64 * 1024)
#define CORE_PAGE_CACHE_MAX_BYTES (16 * 1024 * 1024)

struct core_page_entry {
    char *key; /* owned; NULL = empty */
    size_t key_len;
    uint64_t hash;
    int64_t data_version;
    char *body; /* owned */
    size_t body_len;
};

struct core_page_cache {
    struct core_page_entry slots[CORE_PAGE_CACHE_SLOTS];
    size_t bytes; /* keys and bodies held */
};

/* The cached body for key at data_version, or false. The body is valid
 * until the next put. */
bool core_page_cache_get(struct core_page_cache *pc, struct str key, int64_t data_version,
                         struct str *body);
/* Remembers body for key (skipped when too large or the cache is full). */
void core_page_cache_put(struct core_page_cache *pc, struct str key, int64_t data_version,
                         struct str body);
void core_page_cache_cleanup(struct core_page_cache *pc);

#endif
