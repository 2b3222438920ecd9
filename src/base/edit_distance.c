/* edit_distance.c -- see edit_distance.h. The textbook dynamic programme
 * over three rows (a swap looks two back), cut short once every cell of a
 * row is past the limit. */
#include "base/edit_distance.h"

#include <stdint.h>

#include "base/utf8.h"

/* Decodes s into cps (at most max); returns the count, or max + 1 when s
 * has more code points. An invalid byte is taken as itself. */
static size_t decode(struct str s, uint32_t *cps, size_t max)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t n = 0;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t used = utf8_decode(p + i, s.len - i, &cp);
        if (!used) {
            cp = 0x110000u + p[i]; /* no code point: never equal to one */
            used = 1;
        }
        if (n == max)
            return max + 1;
        cps[n++] = cp;
        i += used;
    }
    return n;
}

size_t edit_distance_length(struct str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return n;
}

bool edit_distance_within(struct str a, struct str b, unsigned max)
{
    uint32_t x[EDIT_DISTANCE_MAX_LEN], y[EDIT_DISTANCE_MAX_LEN];
    size_t n = decode(a, x, EDIT_DISTANCE_MAX_LEN);
    size_t m = decode(b, y, EDIT_DISTANCE_MAX_LEN);
    if (n > EDIT_DISTANCE_MAX_LEN || m > EDIT_DISTANCE_MAX_LEN)
        return false;
    if ((n > m ? n - m : m - n) > max)
        return false;
    unsigned rows[3][EDIT_DISTANCE_MAX_LEN + 1];
    unsigned *back = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (unsigned)i;
        unsigned low = cur[0];
        for (size_t j = 1; j <= m; j++) {
            unsigned best = prev[j - 1] + (x[i - 1] != y[j - 1]);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] &&
                back[j - 2] + 1 < best)
                best = back[j - 2] + 1;
            cur[j] = best;
            if (best < low)
                low = best;
        }
        if (low > max)
            return false;
        unsigned *t = back;
        back = prev;
        prev = cur;
        cur = t;
    }
    return prev[m] <= max;
}
