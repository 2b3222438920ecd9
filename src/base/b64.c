/* b64.c -- see b64.h.
 *
 * libsodium's codec does the work, in constant time (sodium_bin2base64,
 * sodium_base642bin). It is as strict as b64.h promises: it refuses foreign
 * characters (the ignore list is NULL), '=' in the unpadded variants, missing
 * or extra '=', a lone final character and non-zero unused bits, and with
 * b64_end NULL it refuses anything left after the encoding, with one
 * exception (below: bytes from 0x80 up). What stays here:
 * - lengths: libsodium's ENCODED_LEN macros count a NUL and can overflow;
 * - the NUL: sodium_bin2base64 ends with one, which b64_encode must not write;
 * - decoding writes nothing on error and tells RC_INVALID from RC_TOO_LARGE:
 *   libsodium writes as it goes and answers ERANGE for both a short buffer
 *   and missing padding, so a first pass checks the input through a stack
 *   buffer, and only a valid input that fits reaches dst. */
#include "base/b64.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

/* Characters checked per libsodium call in the first pass: whole groups. */
#define CHUNK 256

static int sodium_variant(enum b64_variant v)
{
    switch (v) {
    case B64_URL: return sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    case B64_STD: return sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
    case B64_STD_PAD: break;
    }
    return sodium_base64_VARIANT_ORIGINAL;
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
    if (len == 0)
        return 0;
    /* The groups before the last go straight to dst (their NUL lands where
     * the last group goes); the last 1-3 bytes go through tail. */
    const unsigned char *s = src;
    size_t head = (len - 1) / 3 * 3;
    size_t head_enc = head / 3 * 4;
    if (head)
        sodium_bin2base64(dst, head_enc + 1, s, head, sodium_variant(v));
    char tail[5];
    sodium_bin2base64(tail, sizeof(tail), s + head, len - head, sodium_variant(v));
    size_t n = b64_encoded_len(v, len);
    memcpy(dst + head_enc, tail, n - head_enc);
    return n;
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
    if (in.len == 0) {
        *out_len = 0;
        return RC_OK;
    }
    /* libsodium (1.0.18, where char is signed) reads every byte from 0x80 up
     * as the 63rd character ('/' or '_'), so "Zm\xffv" would re-spell
     * "Zm_v": refuse them here, with an OR over the input (constant time). */
    unsigned char high = 0;
    for (size_t k = 0; k < in.len; k++)
        high |= (unsigned char)in.ptr[k];
    if (high & 0x80)
        return RC_INVALID;
    /* First pass. Every chunk but the last is whole groups in the unpadded
     * form of the alphabet, so '=' can only end the input. */
    int last_variant = sodium_variant(v);
    int mid_variant = v == B64_STD_PAD ? sodium_base64_VARIANT_ORIGINAL_NO_PADDING : last_variant;
    unsigned char tmp[CHUNK / 4 * 3];
    size_t total = 0;
    size_t i = 0;
    enum rc rc = RC_OK;
    for (;;) {
        size_t len = in.len - i;
        bool is_last = len <= CHUNK;
        size_t n = 0;
        if (sodium_base642bin(tmp, sizeof(tmp), in.ptr + i, is_last ? len : CHUNK, NULL, &n, NULL,
                              is_last ? last_variant : mid_variant) != 0) {
            rc = RC_INVALID;
            break;
        }
        total += n;
        if (is_last)
            break;
        i += CHUNK;
    }
    if (!rc && total > cap)
        rc = RC_TOO_LARGE;
    if (!rc) {
        size_t n = total;
        if (i == 0)
            memcpy(dst, tmp, total); /* one chunk: tmp holds it all */
        else
            (void)sodium_base642bin(dst, cap, in.ptr, in.len, NULL, &n, NULL, last_variant);
        *out_len = n;
    }
    sodium_memzero(tmp, sizeof(tmp)); /* it may hold a secret */
    return rc;
}
