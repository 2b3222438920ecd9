/* s3_xml.c -- see s3_xml.h. */
#include "net/s3_xml.h"

#include <string.h>
#include <time.h>

/* The index of needle in hay at or after from, or hay.len. */
static size_t find(struct str hay, size_t from, const char *needle, size_t n)
{
    if (n == 0 || hay.len < n)
        return hay.len;
    for (size_t i = from; i + n <= hay.len; i++) {
        if (hay.ptr[i] == needle[0] && memcmp(hay.ptr + i, needle, n) == 0)
            return i;
    }
    return hay.len;
}

bool net_s3_xml_next(struct str xml, const char *tag, size_t *pos, struct str *inner)
{
    size_t tn = strlen(tag);
    char open[72], close[72];
    if (tn == 0 || tn + 3 > sizeof(open))
        return false;
    open[0] = '<';
    memcpy(open + 1, tag, tn);
    close[0] = '<';
    close[1] = '/';
    memcpy(close + 2, tag, tn);
    close[tn + 2] = '>';
    for (size_t at = *pos; at < xml.len;) {
        size_t i = find(xml, at, open, tn + 1);
        if (i >= xml.len)
            return false;
        size_t after = i + 1 + tn;
        if (after >= xml.len)
            return false;
        char ch = xml.ptr[after];
        if (ch != '>' && ch != ' ' && ch != '/' && ch != '\t' && ch != '\r' && ch != '\n') {
            at = i + 1; /* <Keys> is no <Key> */
            continue;
        }
        size_t gt = find(xml, after, ">", 1);
        if (gt >= xml.len)
            return false;
        if (xml.ptr[gt - 1] == '/') {
            *inner = (struct str){xml.ptr + gt + 1, 0};
            *pos = gt + 1;
            return true;
        }
        size_t end = find(xml, gt + 1, close, tn + 3);
        if (end >= xml.len)
            return false;
        *inner = (struct str){xml.ptr + gt + 1, end - gt - 1};
        *pos = end + tn + 3;
        return true;
    }
    return false;
}

struct str net_s3_xml_first(struct str xml, const char *tag)
{
    size_t pos = 0;
    struct str inner;
    if (!net_s3_xml_next(xml, tag, &pos, &inner))
        return (struct str){"", 0};
    return inner;
}

/* Appends code point cp as UTF-8; the bytes written, 0 when it does not fit. */
static size_t put_utf8(uint32_t cp, char *out, size_t cap)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (n > cap)
        return 0;
    memcpy(out, b, n);
    return n;
}

long net_s3_xml_unescape(struct str in, char *out, size_t cap)
{
    static const struct {
        const char *name;
        char ch;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    size_t n = 0;
    for (size_t i = 0; i < in.len;) {
        if (in.ptr[i] != '&') {
            if (n >= cap)
                return -1;
            out[n++] = in.ptr[i++];
            continue;
        }
        size_t semi = i + 1;
        while (semi < in.len && semi - i <= 12 && in.ptr[semi] != ';')
            semi++;
        if (semi >= in.len || in.ptr[semi] != ';')
            return -1;
        struct str ref = {in.ptr + i + 1, semi - i - 1};
        bool ok = false;
        for (size_t k = 0; k < sizeof(named) / sizeof(named[0]) && !ok; k++) {
            if (str_eq(ref, str_from_cstr(named[k].name))) {
                if (n >= cap)
                    return -1;
                out[n++] = named[k].ch;
                ok = true;
            }
        }
        if (!ok && ref.len >= 2 && ref.ptr[0] == '#') {
            bool is_hex = ref.ptr[1] == 'x' || ref.ptr[1] == 'X';
            uint32_t cp = 0;
            size_t start = is_hex ? 2 : 1;
            if (start >= ref.len)
                return -1;
            for (size_t k = start; k < ref.len; k++) {
                int d = is_hex ? str_hex_value(ref.ptr[k])
                               : (ref.ptr[k] >= '0' && ref.ptr[k] <= '9' ? ref.ptr[k] - '0' : -1);
                if (d < 0 || cp > 0x10FFFF)
                    return -1;
                cp = cp * (is_hex ? 16u : 10u) + (uint32_t)d;
            }
            if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return -1;
            size_t w = put_utf8(cp, out + n, cap - n);
            if (!w)
                return -1;
            n += w;
            ok = true;
        }
        if (!ok)
            return -1;
        i = semi + 1;
    }
    return (long)n;
}

enum rc net_s3_xml_escape(struct buf *b, struct str s)
{
    size_t from = 0;
    enum rc rc = RC_OK;
    for (size_t i = 0; i < s.len && !rc; i++) {
        const char *rep = NULL;
        switch (s.ptr[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default: continue;
        }
        rc = buf_append(b, s.ptr + from, i - from);
        if (!rc)
            rc = buf_append_cstr(b, rep);
        from = i + 1;
    }
    if (!rc)
        rc = buf_append(b, s.ptr + from, s.len - from);
    return rc;
}

int64_t net_s3_xml_time(struct str s)
{
    char tmp[40];
    if (s.len < 19 || s.len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(tmp, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return -1;
    if (*end == '.') {
        end++;
        while (*end >= '0' && *end <= '9')
            end++;
    }
    if (strcmp(end, "Z") != 0)
        return -1;
    return (int64_t)timegm(&tm);
}
