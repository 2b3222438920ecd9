/* b64.c -- see b64.h. */
#include "base/b64.h"

#include <stdint.h>

static const char ALPHABET_STD[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char ALPHABET_URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c in variant v, or -1. Arithmetic rather than a table
 * keeps the two alphabets in one place and costs nothing measurable for the
 * short inputs (tokens, salts) this module sees. */
static int char_value(enum b64_variant v, unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (v == B64_URL) {
        if (c == '-')
            return 62;
        if (c == '_')
            return 63;
        return -1;
    }
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

size_t b64_encoded_len(enum b64_variant v, size_t raw_len)
{
    size_t groups = raw_len / 3;
    size_t rem = raw_len % 3;
    if (groups > (SIZE_MAX - 4) / 4)
        return SIZE_MAX;
    size_t n = groups * 4;
    if (rem)
        n += v == B64_STD_PAD ? 4 : rem + 1;
    return n;
}

size_t b64_decoded_max(size_t enc_len)
{
    return enc_len / 4 * 3 + (enc_len % 4 * 3) / 4;
}

size_t b64_encode(enum b64_variant v, const void *src, size_t len, char *dst)
{
    const char *abc = v == B64_URL ? ALPHABET_URL : ALPHABET_STD;
    const unsigned char *s = src;
    size_t o = 0;
    size_t i = 0;
    for (; len - i >= 3; i += 3) {
        uint32_t w = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        dst[o++] = abc[w >> 18];
        dst[o++] = abc[(w >> 12) & 63];
        dst[o++] = abc[(w >> 6) & 63];
        dst[o++] = abc[w & 63];
    }
    if (len - i == 1) {
        uint32_t w = (uint32_t)s[i] << 16;
        dst[o++] = abc[w >> 18];
        dst[o++] = abc[(w >> 12) & 63];
        if (v == B64_STD_PAD) {
            dst[o++] = '=';
            dst[o++] = '=';
        }
    } else if (len - i == 2) {
        uint32_t w = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        dst[o++] = abc[w >> 18];
        dst[o++] = abc[(w >> 12) & 63];
        dst[o++] = abc[(w >> 6) & 63];
        if (v == B64_STD_PAD)
            dst[o++] = '=';
    }
    return o;
}

enum rc b64_encode_buf(enum b64_variant v, const void *src, size_t len, struct buf *out)
{
    size_t n = b64_encoded_len(v, len);
    if (n == SIZE_MAX)
        return RC_TOO_LARGE;
    enum rc rc = buf_reserve(out, n);
    if (rc)
        return rc;
    out->len += b64_encode(v, src, len, out->data + out->len);
    return RC_OK;
}

enum rc b64_decode(enum b64_variant v, struct str in, void *dst, size_t cap, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)in.ptr;
    size_t n = in.len;
    if (v == B64_STD_PAD) {
        /* The padded form is always whole groups; one or two '=' end a
         * partial group. A '=' anywhere else fails char_value below. */
        if (n % 4)
            return RC_INVALID;
        if (n && s[n - 1] == '=')
            n--;
        if (n && s[n - 1] == '=')
            n--;
    }
    size_t rem = n % 4;
    if (rem == 1) /* 6 bits cannot end a byte string */
        return RC_INVALID;
    int last = 0;
    for (size_t i = 0; i < n; i++) {
        last = char_value(v, s[i]);
        if (last < 0)
            return RC_INVALID;
    }
    /* Canonical form: the bits past the last whole byte must be zero, or
     * "QQ" and "QR" would both decode to "A" (RFC 4648 §3.5). */
    if ((rem == 2 && (last & 0x0F)) || (rem == 3 && (last & 0x03)))
        return RC_INVALID;
    size_t need = n / 4 * 3 + (rem ? rem - 1 : 0);
    if (need > cap)
        return RC_TOO_LARGE;

    unsigned char *d = dst;
    size_t o = 0;
    size_t i = 0;
    for (; n - i >= 4; i += 4) {
        uint32_t w = (uint32_t)char_value(v, s[i]) << 18 | (uint32_t)char_value(v, s[i + 1]) << 12 |
                     (uint32_t)char_value(v, s[i + 2]) << 6 | (uint32_t)char_value(v, s[i + 3]);
        d[o++] = (unsigned char)(w >> 16);
        d[o++] = (unsigned char)(w >> 8);
        d[o++] = (unsigned char)w;
    }
    if (rem) {
        uint32_t w = (uint32_t)char_value(v, s[i]) << 18 | (uint32_t)char_value(v, s[i + 1]) << 12;
        if (rem == 3)
            w |= (uint32_t)char_value(v, s[i + 2]) << 6;
        d[o++] = (unsigned char)(w >> 16);
        if (rem == 3)
            d[o++] = (unsigned char)(w >> 8);
    }
    *out_len = o;
    return RC_OK;
}
