/* buf.c -- see buf.h. */
#include "base/buf.h"

#include <string.h>

#include "base/alloc.h"

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_cleanup(struct buf *b)
{
    xfree(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

enum rc buf_reserve(struct buf *b, size_t extra)
{
    if (extra > b->max - b->len)
        return RC_TOO_LARGE;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return RC_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > b->max / 2 ? b->max : cap * 2;
    char *p = try_realloc(b->data, cap);
    if (!p)
        return RC_NOMEM;
    b->data = p;
    b->cap = cap;
    return RC_OK;
}

enum rc buf_append_slow(struct buf *b, const void *p, size_t len)
{
    if (len == 0)
        return RC_OK;
    enum rc rc = buf_reserve(b, len);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return RC_OK;
}

enum rc buf_append_str(struct buf *b, struct str s)
{
    return buf_append(b, s.ptr, s.len);
}

enum rc buf_append_cstr(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

enum rc buf_append_u64(struct buf *b, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return buf_append(b, tmp + i, sizeof(tmp) - i);
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
