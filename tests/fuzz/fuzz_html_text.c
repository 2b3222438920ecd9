/* fuzz_html_text.c -- libFuzzer target for base/html_text.h, the text
 * alternative of mail bodies (a superuser's template with record values in
 * it). Checks the contract, not just "no crash":
 * - the output stays within the buffer's maximum, and appends after what the
 *   buffer held (the prefix is untouched);
 * - valid UTF-8 in gives valid UTF-8 out;
 * - no line ends in a space and the text neither starts nor ends with a
 *   break or a space. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/html_text.h"
#include "base/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* The first byte picks the output limit: small ones reach RC_TOO_LARGE. */
    size_t max = data[0] < 16 ? (size_t)data[0] * 4 : 1u << 20;
    struct str in = {(const char *)data + 1, size - 1};
    struct buf b;
    buf_init(&b, max + 2);
    if (buf_append(&b, "P:", 2) != RC_OK)
        abort();
    enum rc rc = html_to_text(in, &b);
    if (rc != RC_OK && rc != RC_TOO_LARGE)
        abort();
    if (b.len > max + 2 || memcmp(b.data, "P:", 2) != 0)
        abort();
    if (rc == RC_OK) {
        const char *t = b.data + 2;
        size_t n = b.len - 2;
        if (utf8_is_valid(in.ptr, in.len) && !utf8_is_valid(t, n))
            abort();
        if (n && (t[0] == ' ' || t[0] == '\n' || t[n - 1] == ' ' || t[n - 1] == '\n'))
            abort();
        for (size_t i = 0; i + 1 < n; i++) {
            if (t[i] == ' ' && t[i + 1] == '\n')
                abort();
        }
    }
    buf_cleanup(&b);
    return 0;
}
