/* fuzz_view_query.c -- libFuzzer target for the view query reader
 * (core/schema/view_query.c): the select list's items and the FROM clause's
 * tables of any text. Beyond "no crash": every slice it returns lies inside
 * the input, the item count is the same whatever room is given, and a list
 * with room for all of it matches the first max entries of a smaller one. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/schema/view_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(struct str s, const char *p, size_t n)
{
    if (s.len && (s.ptr < p || s.ptr + s.len > p + n))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct str sql = {p, size};
    struct core_view_item items[64], few[2];
    long n = core_view_select_items(sql, items, 64);
    if (n != core_view_select_items(sql, few, 2))
        abort();
    for (long i = 0; i < n && i < 64; i++) {
        inside(items[i].qualifier, p, size);
        inside(items[i].column, p, size);
        if (items[i].kind > CORE_VIEW_ITEM_CAST || strlen(items[i].cast_type) >= 32)
            abort();
        if (i < 2 && (few[i].kind != items[i].kind || few[i].column.len != items[i].column.len))
            abort();
    }
    struct core_view_source src[16], one[1];
    size_t m = core_view_sources(sql, src, 16);
    if (m != core_view_sources(sql, one, 1))
        abort();
    for (size_t i = 0; i < m && i < 16; i++) {
        inside(src[i].name, p, size);
        inside(src[i].alias, p, size);
    }
    return 0;
}
