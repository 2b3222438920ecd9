/* query.c -- see query.h. */
#include "http/query.h"

#include <string.h>

static enum rc decode_into(struct str in, struct arena *a, struct str *out)
{
    if (!memchr(in.ptr, '%', in.len) && !memchr(in.ptr, '+', in.len)) {
        *out = in; /* nothing to decode: the slice lives as long as the request */
        return RC_OK;
    }
    char *p = arena_alloc(a, in.len + 1);
    long n = str_percent_decode(in, p, true);
    if (n < 0)
        return RC_INVALID;
    p[n] = '\0';
    *out = (struct str){p, (size_t)n};
    return RC_OK;
}

enum rc http_query_parse(struct str qs, struct arena *a, struct http_query_param **out,
                         size_t *count)
{
    size_t pairs = 1;
    for (size_t i = 0; i < qs.len; i++) {
        if (qs.ptr[i] == '&')
            pairs++;
    }
    if (pairs > HTTP_QUERY_MAX_PARAMS * 4)
        return RC_TOO_LARGE;
    struct http_query_param *params = arena_alloc(a, pairs * sizeof(*params));
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= qs.len; i++) {
        if (i < qs.len && qs.ptr[i] != '&')
            continue;
        struct str pair = {qs.ptr + start, i - start};
        start = i + 1;
        if (pair.len == 0)
            continue;
        if (n == HTTP_QUERY_MAX_PARAMS)
            return RC_TOO_LARGE;
        const char *eq = memchr(pair.ptr, '=', pair.len);
        struct str key = {pair.ptr, eq ? (size_t)(eq - pair.ptr) : pair.len};
        struct str value = eq ? (struct str){eq + 1, pair.len - key.len - 1}
                              : (struct str){pair.ptr + pair.len, 0};
        if (decode_into(key, a, &params[n].key) || decode_into(value, a, &params[n].value))
            return RC_INVALID;
        n++;
    }
    *out = params;
    *count = n;
    return RC_OK;
}
