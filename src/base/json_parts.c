/* json_parts.c -- see json_parts.h. */
#include "base/json_parts.h"

#include <string.h>

bool json_parts_is_plain(struct str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '"' || c == '\\' || c < 0x20)
            return false;
    }
    return true;
}

static bool is_object(struct str s)
{
    return s.len >= 2 && s.ptr[0] == '{' && s.ptr[s.len - 1] == '}';
}

enum rc json_parts_write(struct buf *b, const char *const *keys, const struct str *values, size_t n)
{
    if (n == 0 || !is_object(values[n - 1]))
        return RC_INVALID;
    enum rc rc = buf_append(b, "{", 1);
    for (size_t i = 0; !rc && i < n; i++) {
        bool is_last = i == n - 1;
        if (!is_last && !json_parts_is_plain(values[i]))
            return RC_INVALID;
        rc = buf_append_cstr(b, i ? ",\"" : "\"");
        rc = rc ? rc : buf_append_cstr(b, keys[i]);
        rc = rc ? rc : buf_append_cstr(b, is_last ? "\":" : "\":\"");
        rc = rc ? rc : buf_append_str(b, values[i]);
        rc = rc || is_last ? rc : buf_append(b, "\"", 1);
    }
    return rc ? rc : buf_append(b, "}", 1);
}

/* Takes the literal lit at *at of t. */
static bool take(struct str t, size_t *at, const char *lit)
{
    size_t l = strlen(lit);
    if (t.len - *at < l || memcmp(t.ptr + *at, lit, l) != 0)
        return false;
    *at += l;
    return true;
}

bool json_parts_take(struct str text, const char *const *keys, size_t n, struct str *values)
{
    size_t at = 0;
    if (n == 0 || !take(text, &at, "{"))
        return false;
    for (size_t i = 0; i < n; i++) {
        bool is_last = i == n - 1;
        if (!take(text, &at, i ? ",\"" : "\"") || !take(text, &at, keys[i]) ||
            !take(text, &at, is_last ? "\":" : "\":\""))
            return false;
        if (is_last) {
            /* the object, then the layout's own '}' ending the text */
            values[i] = (struct str){text.ptr + at, text.len - at - (text.len > at)};
            return text.len > at && text.ptr[text.len - 1] == '}' && is_object(values[i]);
        }
        size_t from = at;
        while (at < text.len && text.ptr[at] != '"' && text.ptr[at] != '\\' &&
               (unsigned char)text.ptr[at] >= 0x20)
            at++;
        values[i] = (struct str){text.ptr + from, at - from};
        if (!take(text, &at, "\""))
            return false;
    }
    return false;
}
