/* count_cache.c -- see count_cache.h. */
#include "core/record/count_cache.h"

#include <string.h>

#include "base/alloc.h"

static uint64_t hash_key(struct str s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < s.len; i++) {
        h ^= (unsigned char)s.ptr[i];
        h *= 1099511628211ull;
    }
    return h;
}

bool core_count_cache_get(struct core_count_cache *cc, struct str key, int64_t data_version,
                          int64_t *count)
{
    uint64_t h = hash_key(key);
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
    uint64_t h = hash_key(key);
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

bool core_page_cache_get(struct core_page_cache *pc, struct str key, int64_t data_version,
                         struct str *body)
{
    uint64_t h = hash_key(key);
    struct core_page_entry *e = &pc->slots[h % CORE_PAGE_CACHE_SLOTS];
    if (!e->key || e->hash != h || e->key_len != key.len || e->data_version != data_version ||
        memcmp(e->key, key.ptr, key.len) != 0)
        return false;
    *body = (struct str){e->body, e->body_len};
    return true;
}

static void drop(struct core_page_cache *pc, struct core_page_entry *e)
{
    if (!e->key)
        return;
    pc->bytes -= e->key_len + e->body_len;
    xfree(e->key);
    xfree(e->body);
    e->key = NULL;
    e->body = NULL;
}

void core_page_cache_put(struct core_page_cache *pc, struct str key, int64_t data_version,
                         struct str body)
{
    if (body.len > CORE_PAGE_CACHE_MAX_ENTRY)
        return;
    uint64_t h = hash_key(key);
    struct core_page_entry *e = &pc->slots[h % CORE_PAGE_CACHE_SLOTS];
    drop(pc, e);
    if (pc->bytes + key.len + body.len > CORE_PAGE_CACHE_MAX_BYTES)
        return;
    e->key = xstrndup(key.ptr, key.len);
    e->key_len = key.len;
    e->hash = h;
    e->data_version = data_version;
    e->body = xstrndup(body.ptr, body.len);
    e->body_len = body.len;
    pc->bytes += key.len + body.len;
}

void core_page_cache_cleanup(struct core_page_cache *pc)
{
    for (size_t i = 0; i < CORE_PAGE_CACHE_SLOTS; i++)
        drop(pc, &pc->slots[i]);
}
