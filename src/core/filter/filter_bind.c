/* filter_bind.c -- see filter_bind.h. */
#include "core/filter/filter_bind.h"

#include <stdio.h>

#include "base/alloc.h"

static bool is_name_char(char ch)
{
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9');
}

enum rc core_filter_bind(struct str filter, json_t *params, struct buf *out, char *why,
                         size_t whylen)
{
    if (filter.len > CORE_FILTER_MAX_BOUND) {
        snprintf(why, whylen, "a filter has at most 64 KiB");
        return RC_INVALID;
    }
    enum rc rc = RC_OK;
    for (size_t i = 0; i < filter.len && !rc; i++) {
        if (filter.ptr[i] != '{' || i + 1 >= filter.len || filter.ptr[i + 1] != ':') {
            rc = buf_append(out, &filter.ptr[i], 1);
            continue;
        }
        size_t start = i + 2, end = start;
        while (end < filter.len && is_name_char(filter.ptr[end]))
            end++;
        if (end == start || end >= filter.len || filter.ptr[end] != '}') {
            snprintf(why, whylen, "a filter placeholder is {:name}");
            return RC_INVALID;
        }
        int n = (int)(end - start);
        json_t *v = json_is_object(params)
                        ? json_object_getn(params, filter.ptr + start, end - start)
                        : NULL;
        /* json_dumps fails for NaN and invalid UTF-8: no literal either */
        char *text = json_is_string(v) || json_is_number(v) || json_is_boolean(v)
                         ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)
                         : NULL;
        if (!text && !params)
            snprintf(why, whylen, "the filter has {:%.*s} and no params", n, filter.ptr + start);
        else if (!text)
            snprintf(why, whylen, "filter parameter {:%.*s} is not a string, number or boolean", n,
                     filter.ptr + start);
        if (!text)
            return RC_INVALID;
        rc = buf_append_cstr(out, text);
        xfree(text);
        i = end;
    }
    return rc;
}
