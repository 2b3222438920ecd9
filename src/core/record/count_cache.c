/* count_cache.c -- see count_cache.h. */
#include "core/record/count_cache.h"

#include <string.h>

#include "base/alloc.h"

bool core_count_cache_get(struct core_count_cache *cc, struct str key, int64_t data_version,
                          int64_t *count)
{
    uint64_t h = str_hash(key);
    struct core_count_entry *e = &cc->slots[h % CORE_COUNT_CACHE_SLOTS];
    if (!e->key || e->hash != h || e->key_len != key.len || e->data_version != data_version ||
        memcmp(e->key, key.ptr, key.len) != 0)
        return false;
    *count = e->count;
    return true;
}

void core_count_cache_put(struct core_count_cache *cc, struct str key, int64_t data_version,
                          int64_t count)
{
    uint64_t h = str_hash(key);
    struct core_count_entry *e = &cc->slots[h % CORE_COUNT_CACHE_SLOTS];
    if (!e->key || e->key_len != key.len || memcmp(e->key, key.ptr, key.len) != 0) {
        xfree(e->key);
        e->key = xstrndup(key.ptr, key.len);
        e->key_len = key.len;
    }
    e->hash = h;
    e->data_version = data_version;
    e->count = count;
}

void core_count_cache_cleanup(struct core_count_cache *cc)
{
    for (size_t i = 0; i < CORE_COUNT_CACHE_SLOTS; i++) {
        xfree(cc->slots[i].key);
        cc->slots[i].key = NULL;
    }
}
