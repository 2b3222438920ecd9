/* page_cache.c -- see page_cache.h. Direct-mapped: a new page replaces what
 * shared its slot. */
#include "core/record/page_cache.h"

#include <string.h>

#include "base/alloc.h"

bool core_page_cache_get(struct core_page_cache *pc, struct str key, int64_t data_version,
                         struct str *body)
{
    uint64_t h = str_hash(key);
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
    uint64_t h = str_hash(key);
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
