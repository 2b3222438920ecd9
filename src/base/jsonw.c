/* jsonw.c -- see jsonw.h. */
#include "base/jsonw.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

void jsonw_init(struct jsonw *w, struct buf *out)
{
    w->out = out;
    w->err = RC_OK;
    w->depth = 0;
    w->after_key = false;
    w->has_items = 0;
}

static void put(struct jsonw *w, const char *p, size_t len)
{
    if (w->err)
        return;
    w->err = buf_append(w->out, p, len);
}

/* Writes the comma that separates this value from the previous sibling. */
static void before_value(struct jsonw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0)
        return;
    uint64_t bit = 1ULL << (w->depth - 1);
    if (w->has_items & bit)
        put(w, ",", 1);
    w->has_items |= bit;
}

static void open_container(struct jsonw *w, char c)
{
    before_value(w);
    if (w->depth >= JSONW_MAX_DEPTH) {
        if (!w->err)
            w->err = RC_TOO_LARGE;
        return;
    }
    put(w, &c, 1);
    w->depth++;
    w->has_items &= ~(1ULL << (w->depth - 1));
}

static void close_container(struct jsonw *w, char c)
{
    if (w->depth == 0) {
        if (!w->err)
            w->err = RC_INVALID;
        return;
    }
    w->depth--;
    put(w, &c, 1);
}

void jsonw_object_begin(struct jsonw *w)
{
    open_container(w, '{');
}

void jsonw_object_end(struct jsonw *w)
{
    close_container(w, '}');
}

void jsonw_array_begin(struct jsonw *w)
{
    open_container(w, '[');
}

void jsonw_array_end(struct jsonw *w)
{
    close_container(w, ']');
}

/* Bytes that need more than a copy: controls, quote, backslash, and every
 * byte of a multi-byte sequence (checked for validity and U+2028/9). */
static const unsigned char needs_care[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0A] = 1, [0x0B] = 1, [0x0C] = 1, [0x0D] = 1,
    [0x0E] = 1, [0x0F] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1A] = 1, [0x1B] = 1,
    [0x1C] = 1, [0x1D] = 1, [0x1E] = 1, [0x1F] = 1, ['"'] = 1,  ['\\'] = 1, [0x80 ... 0xFF] = 1,
};

enum rc jsonw_escape_into(struct buf *out, struct str s)
{
    static const char hex[] = "0123456789abcdef";
    /* Most text needs no escaping: reserve once, copy runs in one go. */
    enum rc rc = buf_reserve(out, s.len);
    if (rc)
        return rc;
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0, run = 0; /* run: start of bytes that need no escaping */
    while (i < s.len) {
        /* Eight bytes at a time while none needs care: no byte below 0x20,
         * none with the high bit, no '"' (0x22) and no '\\' (0x5C). */
        while (i + 8 <= s.len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            uint64_t below20 = (w - ones * 0x20) & ~w;
            uint64_t quote = w ^ (ones * 0x22);
            uint64_t slash = w ^ (ones * 0x5C);
            uint64_t is_quote = (quote - ones) & ~quote;
            uint64_t is_slash = (slash - ones) & ~slash;
            if (((below20 | is_quote | is_slash) & highs) || (w & highs))
                break;
            i += 8;
        }
        if (i >= s.len)
            break;
        if (!needs_care[p[i]]) {
            i++;
            continue;
        }
        unsigned char c = p[i];
        char esc[8];
        size_t esc_len = 0;
        size_t used = 1;
        if (c < 0x80) {
            esc[0] = '\\';
            esc_len = 2;
            switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            default:
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                esc_len = 6;
            }
        } else {
            uint32_t cp;
            used = utf8_decode(p + i, s.len - i, &cp);
            if (used && cp != 0x2028 && cp != 0x2029) {
                i += used;
                continue;
            }
            if (used) {
                memcpy(esc, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
                esc_len = 6;
            } else {
                used = 1;
                esc_len = utf8_encode(0xFFFD, esc);
            }
        }
        rc = buf_append(out, s.ptr + run, i - run);
        if (!rc)
            rc = buf_append(out, esc, esc_len);
        if (rc)
            return rc;
        i += used;
        run = i;
    }
    return buf_append(out, s.ptr + run, i - run);
}

static void put_string(struct jsonw *w, struct str s)
{
    put(w, "\"", 1);
    if (!w->err)
        w->err = jsonw_escape_into(w->out, s);
    put(w, "\"", 1);
}

void jsonw_key(struct jsonw *w, struct str key)
{
    before_value(w);
    put_string(w, key);
    put(w, ":", 1);
    w->after_key = true;
}

void jsonw_key_cstr(struct jsonw *w, const char *key)
{
    jsonw_key(w, str_from_cstr(key));
}

void jsonw_string(struct jsonw *w, struct str s)
{
    before_value(w);
    put_string(w, s);
}

void jsonw_string_cstr(struct jsonw *w, const char *s)
{
    jsonw_string(w, str_from_cstr(s));
}

void jsonw_int(struct jsonw *w, int64_t v)
{
    /* Digits from the right, no printf: every number of every answer. */
    char tmp[24];
    char *end = tmp + sizeof(tmp), *p = end;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    before_value(w);
    put(w, p, (size_t)(end - p));
}

/* The shortest %g text of v that strtof reads back as v (6 to 9 digits). */
static int float_text(float v, char *tmp, size_t cap)
{
    int n = 0;
    for (int prec = 6; prec <= 9; prec++) {
        n = snprintf(tmp, cap, "%.*g", prec, (double)v);
        if (strtof(tmp, NULL) == v)
            break;
    }
    return n;
}

double jsonw_float_value(float v)
{
    char tmp[48];
    float_text(v, tmp, sizeof(tmp));
    return strtod(tmp, NULL);
}

void jsonw_float(struct jsonw *w, float v)
{
    if (!isfinite(v)) {
        jsonw_null(w);
        return;
    }
    jsonw_double(w, jsonw_float_value(v));
}

void jsonw_double(struct jsonw *w, double v)
{
    if (!isfinite(v)) {
        jsonw_null(w);
        return;
    }
    char tmp[48];
    int n = 0;
    if (v == floor(v) && fabs(v) < 1e21) {
        /* Integral values are written without a fraction or exponent below
         * 1e21, as Go and JavaScript do. */
        if (fabs(v) < 9.2e18) {
            jsonw_int(w, (int64_t)v);
            return;
        }
        n = snprintf(tmp, sizeof(tmp), "%.0f", v);
    } else {
        /* The shortest precision that reads back as v. 15 digits suffice for
         * most doubles; subnormals can need fewer, so they start at 1. */
        int prec = fabs(v) < DBL_MIN ? 1 : 15;
        for (; prec <= 17; prec++) {
            n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
    }
    before_value(w);
    put(w, tmp, (size_t)n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
    before_value(w);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void jsonw_null(struct jsonw *w)
{
    before_value(w);
    put(w, "null", 4);
}

void jsonw_raw(struct jsonw *w, struct str json)
{
    before_value(w);
    put(w, json.ptr, json.len);
}

enum rc jsonw_finish(struct jsonw *w)
{
    if (w->err)
        return w->err;
    return w->depth ? RC_INVALID : RC_OK;
}
