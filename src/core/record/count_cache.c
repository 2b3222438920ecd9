/* count_cache.c -- see count_cache.h. */
#include "core/record/count_cache.h"

#include <string.h>

bool core_count_cache_get(struct core_count_cache *cc, struct str key, int64_t data_version,
                          int64_t *count)
{
    struct str body;
    if (!core_page_cache_get(&cc->entries, key, data_version, &body) || body.len != sizeof(*count))
        return false;
    memcpy(count, body.ptr, sizeof(*count));
    return true;
}

void core_count_cache_put(struct core_count_cache *cc, struct str key, int64_t data_version,
                          int64_t count)
{
    core_page_cache_put(&cc->entries, key, data_version,
                        (struct str){(const char *)&count, sizeof(count)});
}

void core_count_cache_cleanup(struct core_count_cache *cc)
{
    core_page_cache_cleanup(&cc->entries);
}
