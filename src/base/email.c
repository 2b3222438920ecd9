/* email.c -- see email.h. */
#include "base/email.h"

#include <string.h>

#include "base/utf8.h"

bool email_is_valid(struct str s)
{
    if (s.len == 0 || s.len > 254)
        return false;
    const char *at = memchr(s.ptr, '@', s.len);
    if (!at || at == s.ptr)
        return false;
    struct str dom = {at + 1, s.len - (size_t)(at + 1 - s.ptr)};
    if (memchr(dom.ptr, '@', dom.len))
        return false;
    const char *dot = NULL;
    for (size_t i = 0; i < dom.len; i++) {
        if (dom.ptr[i] == '.')
            dot = dom.ptr + i;
    }
    if (!dot || dot == dom.ptr || dot == dom.ptr + dom.len - 1)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c <= ' ' || c == 0x7F || strchr("\"(),:;<>[]\\", c))
            return false;
    }
    return utf8_is_visible_text(s.ptr, s.len);
}
