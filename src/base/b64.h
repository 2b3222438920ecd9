/* b64.h -- base64 encoding and strict decoding, RFC 4648 (layer: base).
 *
 * Three variants: the URL-safe alphabet without padding (§5; JWT segments),
 * the standard alphabet without padding (§4; PHC password strings, as
 * argon2's reference code and libsodium write them) and the standard
 * alphabet with '=' padding (MIME, data: URLs).
 *
 * Decoding is strict, so every byte string has exactly one accepted encoding
 * (a token cannot be re-spelled to dodge a cache or a deny-list): characters
 * outside the variant's alphabet (the other alphabet's '+' '/' or '-' '_',
 * whitespace, NUL), '=' in an unpadded variant, missing or extra '=' in the
 * padded one, a final group of one character, and non-zero unused bits in
 * the last character (RFC 4648 §3.5, "canonical encoding") are refused.
 *
 * Pure functions over (ptr, len); no allocation except b64_encode_buf's
 * append to the caller's buffer. Thread-safe. libsodium's codec does the
 * work: the time taken depends on the lengths and on whether the input is
 * valid, not on the bytes' values, so secrets may be encoded and decoded
 * (still compare MACs with secure_equal, never memcmp). */
#ifndef TARMAC_BASE_B64_H
#define TARMAC_BASE_B64_H

#include <stddef.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

enum b64_variant {
    B64_URL,     /* A-Z a-z 0-9 - _, no padding (RFC 4648 §5, JWT) */
    B64_STD,     /* A-Z a-z 0-9 + /, no padding (PHC strings) */
    B64_STD_PAD, /* A-Z a-z 0-9 + /, padded with '=' to a multiple of 4 */
};

/* Returns the exact length of the encoding of raw_len bytes in variant v, or
 * SIZE_MAX when it would not fit in a size_t. */
size_t b64_encoded_len(enum b64_variant v, size_t raw_len);

/* Returns an upper bound of the bytes that decoding enc_len characters
 * yields (exact for well-formed unpadded input); never overflows. */
size_t b64_decoded_max(size_t enc_len);

/* Writes the encoding of src[0..len) to dst, which must have room for
 * b64_encoded_len(v, len) bytes (no NUL is written). Returns the bytes
 * written. Borrows src and dst; they must not overlap. */
size_t b64_encode(enum b64_variant v, const void *src, size_t len, char *dst);

/* Appends the encoding of src[0..len) to out. RC_TOO_LARGE when out would
 * pass its maximum, RC_NOMEM when it cannot grow; out is unchanged on error.
 * Borrows src (which must not point into out). */
enum rc b64_encode_buf(enum b64_variant v, const void *src, size_t len, struct buf *out);

/* Decodes in strictly (see the file comment) into dst, which holds cap bytes,
 * and sets *out_len to the bytes written. RC_INVALID for input that is not
 * the canonical encoding of some byte string in variant v; RC_TOO_LARGE when
 * the result would not fit in cap. On error nothing is written to dst and
 * *out_len is left alone. An empty input decodes to zero bytes. Borrows in
 * and dst; they must not overlap. */
enum rc b64_decode(enum b64_variant v, struct str in, void *dst, size_t cap, size_t *out_len);

#endif
