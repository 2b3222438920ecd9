/* fuzz_json_parts.c -- libFuzzer target for base/json_parts.h, which takes
 * job payloads (webhook deliveries, fan-out pushes) apart by position.
 *
 * The input is a payload text. Checks the contract, not just "no crash": a
 * text taken apart gives plain values and an object-shaped last value, and
 * writing those parts again gives the text byte for byte; and the input's
 * first line written as a value either is refused (not plain) or is taken
 * back unchanged. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_parts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {"device", "provider", "token", "message"};
#define N 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    struct str text = {(const char *)data, size};
    struct str parts[N];
    struct buf b;
    buf_init(&b, 1 << 16);
    if (json_parts_take(text, keys, N, parts)) {
        for (int i = 0; i < N - 1; i++) {
            if (!json_parts_is_plain(parts[i]))
                abort();
        }
        if (parts[N - 1].len < 2 || parts[N - 1].ptr[0] != '{')
            abort();
        if (json_parts_write(&b, keys, parts, N) != RC_OK || b.len != size ||
            memcmp(b.data, data, size) != 0)
            abort();
    }
    b.len = 0;
    const char *nl = memchr(data, '\n', size);
    struct str value = {(const char *)data, nl ? (size_t)(nl - (const char *)data) : size};
    const struct str in[N] = {value, STR_LIT("fcm"), value, STR_LIT("{\"title\":\"t\"}")};
    enum rc rc = json_parts_write(&b, keys, in, N);
    if (rc == RC_OK) {
        if (!json_parts_take(buf_str(&b), keys, N, parts) || !str_eq(parts[0], value) ||
            !str_eq(parts[2], value) || !str_eq(parts[3], in[3]))
            abort();
    } else if (json_parts_is_plain(value)) {
        abort();
    }
    buf_cleanup(&b);
    return 0;
}
