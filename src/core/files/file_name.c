/* file_name.c -- see file_name.h. The algorithm is PocketBase's
 * (filesystem.normalizeName and inflector.Snakecase). */
#include "core/files/file_name.h"

#include <string.h>

#include "base/secure.h"
#include "core/files/sniff.h"

#define NAME_MAX_INPUT 300
#define EXT_MAX 20
#define BASE_MAX 100
#define RANDOM_LEN 10

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_ext_char(char c)
{
    return is_alnum(c) || c == '_' || c == '.' || c == '*' || c == '-' || c == '+' || c == '=' ||
           c == '#';
}

/* The extension: from the second-to-last dot if there is one, else the last;
 * its length in name (0: none). */
static size_t extension_len(struct str name)
{
    const char *last = NULL;
    for (size_t i = name.len; i > 0; i--) {
        if (name.ptr[i - 1] == '.') {
            last = name.ptr + i - 1;
            break;
        }
    }
    if (!last)
        return 0;
    const char *second = NULL;
    for (const char *p = last; p > name.ptr; p--) {
        if (p[-1] == '.') {
            second = p - 1;
            break;
        }
    }
    const char *from = second ? second : last;
    return (size_t)(name.ptr + name.len - from);
}

/* inflector.Snakecase: split on every non-[A-Za-z0-9] byte, '_' between
 * words and before an upper-case letter following a non-upper one, lower
 * case. Writes at most cap - 1 bytes; returns the length. */
static size_t snake_case(struct str s, char *out, size_t cap)
{
    size_t n = 0;
    size_t i = 0;
    while (i < s.len) {
        while (i < s.len && !is_alnum(s.ptr[i]))
            i++;
        if (i == s.len)
            break;
        if (n && n + 1 < cap)
            out[n++] = '_';
        size_t start = i;
        for (; i < s.len && is_alnum(s.ptr[i]); i++) {
            char c = s.ptr[i];
            if (is_upper(c) && i > start && !is_upper(s.ptr[i - 1]) && n + 1 < cap)
                out[n++] = '_';
            if (n + 1 < cap)
                out[n++] = is_upper(c) ? (char)(c + 32) : c;
        }
    }
    out[n] = '\0';
    return n;
}

void core_file_name_make_with(struct str original, struct str mime, const char *random,
                              char out[CORE_FILE_NAME_MAX])
{
    struct str name = original;
    /* The last path segment only, as Go's multipart does (filepath.Base):
     * "../../etc/x.txt" is "x.txt", and an old browser's "C:\\Users\\me\\a.jpg"
     * is "a.jpg". */
    for (size_t i = name.len; i > 0; i--) {
        if (name.ptr[i - 1] == '/' || name.ptr[i - 1] == '\\') {
            name.ptr += i;
            name.len -= i;
            break;
        }
    }
    if (name.len > NAME_MAX_INPUT) {
        name.ptr += name.len - NAME_MAX_INPUT;
        name.len = NAME_MAX_INPUT;
    }
    size_t ext_len = extension_len(name);
    /* The extension, filtered; its last EXT_MAX characters after a dot. */
    char ext[NAME_MAX_INPUT + 2];
    size_t en = 0;
    for (size_t i = name.len - ext_len; i < name.len; i++) {
        if (is_ext_char(name.ptr[i]))
            ext[en++] = name.ptr[i];
    }
    ext[en] = '\0';
    if (en == 0) {
        const char *e = core_sniff_ext(mime);
        en = strlen(e);
        memcpy(ext, e, en + 1);
    }
    const char *ext_out = ext;
    char cut[EXT_MAX + 2];
    if (en > EXT_MAX) {
        cut[0] = '.';
        memcpy(cut + 1, ext + en - EXT_MAX, EXT_MAX + 1);
        ext_out = cut;
    }
    /* The base: the rest, snake_cased, at most BASE_MAX. */
    char base[NAME_MAX_INPUT * 2 + 1];
    size_t bn = snake_case((struct str){name.ptr, name.len - ext_len}, base, sizeof(base));
    if (bn > BASE_MAX)
        bn = BASE_MAX;
    base[bn] = '\0';
    const char *r2 = random + RANDOM_LEN;
    if (bn < 3) {
        memcpy(base + bn, random, RANDOM_LEN);
        bn += RANDOM_LEN;
        base[bn] = '\0';
    } else {
        r2 = random;
    }
    size_t on = 0;
    memcpy(out, base, bn);
    on += bn;
    out[on++] = '_';
    memcpy(out + on, r2, RANDOM_LEN);
    on += RANDOM_LEN;
    size_t xl = strlen(ext_out);
    memcpy(out + on, ext_out, xl);
    on += xl;
    out[on] = '\0';
}

void core_file_name_make(struct str original, struct str mime, char out[CORE_FILE_NAME_MAX])
{
    char random[2 * RANDOM_LEN];
    (void)secure_random_id(random, sizeof(random));
    core_file_name_make_with(original, mime, random, out);
}

bool core_file_name_is_safe(struct str name)
{
    if (name.len == 0 || name.len > 255 || name.ptr[0] == '.')
        return false;
    for (size_t i = 0; i < name.len; i++) {
        if (!is_ext_char(name.ptr[i]))
            return false;
    }
    return true;
}

bool core_file_segment_is_safe(struct str seg)
{
    if (seg.len == 0 || seg.len > 255 || seg.ptr[0] == '.')
        return false;
    for (size_t i = 0; i < seg.len; i++) {
        char c = seg.ptr[i];
        if (c == '/' || c == '\\' || c == '\0' || (unsigned char)c < 0x20)
            return false;
    }
    return true;
}
