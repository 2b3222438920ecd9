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
/* A worker's cache of single records (record_read.c): many small bodies. */
#define CORE_RECORD_CACHE_SLOTS 32768

struct core_page_entry {
    char *key; /* owned; NULL = empty */
    size_t key_len;
    uint64_t hash;
    int64_t data_version;
    char *body; /* owned */
    size_t body_len;
};

/* A zeroed struct is an empty cache of CORE_PAGE_CACHE_SLOTS slots and
 * CORE_PAGE_CACHE_MAX_BYTES; set slot_count and max_bytes before the first
 * put for other bounds. A key may live in either of two slots (its hash's
 * halves pick them): a put takes the one that is empty or holds an entry of
 * another data version before evicting a current one, so a set of keys
 * near the slot count mostly fits instead of thrashing on collisions. */
struct core_page_cache {
    struct core_page_entry *slots; /* allocated at the first put */
    size_t slot_count;             /* 0 = CORE_PAGE_CACHE_SLOTS */
    size_t max_bytes;              /* 0 = CORE_PAGE_CACHE_MAX_BYTES */
    size_t bytes;                  /* keys and bodies held */
};

/* The cached body for key at data_version, or false. The body is valid
 * until the next put. */
bool core_page_cache_get(struct core_page_cache *pc, struct str key, int64_t data_version,
                         struct str *body);
/* Remembers body for key (skipped when too large or the cache is full). */
void core_page_cache_put(struct core_page_cache *pc, struct str key, int64_t data_version,
                         struct str body);
/* Frees every entry and the slots (the cache is empty and reusable). */
void core_page_cache_cleanup(struct core_page_cache *pc);

#endif
