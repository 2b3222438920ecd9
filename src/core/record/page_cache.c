/* page_cache.c -- see page_cache.h. Two slots per key: a new page takes the
 * first that is free or stale, else replaces what held its first slot. */
#include "core/record/page_cache.h"

#include <string.h>

#include "base/alloc.h"

static size_t slot_count(const struct core_page_cache *pc)
{
    return pc->slot_count ? pc->slot_count : CORE_PAGE_CACHE_SLOTS;
}

/* The two slots key's hash h may live in (the same one when the halves
 * agree). */
static void slots_of(const struct core_page_cache *pc, uint64_t h, struct core_page_entry **a,
                     struct core_page_entry **b)
{
    size_t n = slot_count(pc);
    *a = &pc->slots[(h & 0xffffffffu) % n];
    *b = &pc->slots[(h >> 32) % n];
}

static bool holds(const struct core_page_entry *e, uint64_t h, struct str key)
{
    return e->key && e->hash == h && e->key_len == key.len && memcmp(e->key, key.ptr, key.len) == 0;
}

bool core_page_cache_get(struct core_page_cache *pc, struct str key, int64_t data_version,
                         struct str *body)
{
    if (!pc->slots)
        return false;
    uint64_t h = str_hash(key);
    struct core_page_entry *a, *b;
    slots_of(pc, h, &a, &b);
    struct core_page_entry *e = holds(a, h, key) ? a : holds(b, h, key) ? b : NULL;
    if (!e || e->data_version != data_version)
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
    if (!pc->slots)
        pc->slots = xcalloc(slot_count(pc), sizeof(*pc->slots));
    uint64_t h = str_hash(key);
    struct core_page_entry *a, *b;
    slots_of(pc, h, &a, &b);
    /* The key's own slot first (one entry per key), then a free or stale one. */
    struct core_page_entry *e = holds(a, h, key)                             ? a
                                : holds(b, h, key)                           ? b
                                : !a->key || a->data_version != data_version ? a
                                : !b->key || b->data_version != data_version ? b
                                                                             : a;
    drop(pc, e);
    size_t max_bytes = pc->max_bytes ? pc->max_bytes : CORE_PAGE_CACHE_MAX_BYTES;
    if (pc->bytes + key.len + body.len > max_bytes)
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
    if (!pc->slots)
        return;
    for (size_t i = 0; i < slot_count(pc); i++)
        drop(pc, &pc->slots[i]);
    xfree(pc->slots);
    pc->slots = NULL;
}
