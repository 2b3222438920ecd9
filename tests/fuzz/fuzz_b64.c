/* fuzz_b64.c -- libFuzzer target for base/b64.h, whose decoding is
 * libsodium's behind our checks. The first byte picks the variant, the rest
 * is the input. Checks the contract, not just "no crash":
 * - strictness: an accepted input is exactly the encoding of what it decoded
 *   to (so no byte string has two accepted spellings);
 * - a refused input writes nothing and leaves the length alone;
 * - completeness: the input, taken as raw bytes, encodes and decodes back,
 *   and one byte less of room is RC_TOO_LARGE with nothing written. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char out[MAX];
    static char enc[MAX / 3 * 4 + 8];
    if (size == 0 || size > MAX)
        return 0;
    enum b64_variant v = (enum b64_variant)(data[0] % 3);
    struct str in = {(const char *)data + 1, size - 1};

    memset(out, 0xA5, sizeof(out));
    size_t n = 777;
    enum rc rc = b64_decode(v, in, out, b64_decoded_max(in.len), &n);
    if (rc == RC_OK) {
        if (n > b64_decoded_max(in.len) || b64_encoded_len(v, n) != in.len)
            abort();
        if (b64_encode(v, out, n, enc) != in.len || memcmp(enc, in.ptr, in.len) != 0)
            abort();
    } else {
        if (rc != RC_INVALID || n != 777)
            abort();
        for (size_t i = 0; i < sizeof(out); i++) {
            if (out[i] != 0xA5)
                abort();
        }
    }

    size_t len = b64_encode(v, in.ptr, in.len, enc);
    if (len != b64_encoded_len(v, in.len))
        abort();
    n = 777;
    if (b64_decode(v, (struct str){enc, len}, out, in.len, &n) != RC_OK || n != in.len ||
        memcmp(out, in.ptr, in.len) != 0)
        abort();
    if (in.len) {
        memset(out, 0xA5, sizeof(out));
        n = 777;
        if (b64_decode(v, (struct str){enc, len}, out, in.len - 1, &n) != RC_TOO_LARGE || n != 777)
            abort();
        for (size_t i = 0; i < sizeof(out); i++) {
            if (out[i] != 0xA5)
                abort();
        }
    }
    return 0;
}
