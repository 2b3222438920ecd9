/* fuzz_s3_xml.c -- libFuzzer target for net/s3_xml.h, which reads what an
 * S3 endpoint answers (the endpoint is configured, but its answers are not
 * trusted to be well formed).
 *
 * The input is an answer: every <Contents> element and its <Key> are walked
 * as the listing does, each key is decoded into a bounded buffer, and what
 * decodes is escaped and decoded again, which must give it back. Checks
 * invariants: walking always advances, inner slices stay inside the input,
 * a decoded length never passes the buffer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/s3_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(struct str in, struct str part)
{
    if (part.len && (part.ptr < in.ptr || part.ptr + part.len > in.ptr + in.len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exactly-sized copy, so an over-read is not hidden by what follows */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct str xml = {copy, size};
    size_t pos = 0;
    struct str item;
    while (net_s3_xml_next(xml, "Contents", &pos, &item)) {
        check_inside(xml, item);
        if (pos > size)
            abort();
        struct str key = net_s3_xml_first(item, "Key");
        check_inside(xml, key);
        char out[64];
        long n = net_s3_xml_unescape(key, out, sizeof(out));
        if (n > (long)sizeof(out))
            abort();
        if (n >= 0) {
            struct buf b;
            buf_init(&b, 1024);
            if (net_s3_xml_escape(&b, (struct str){out, (size_t)n}) == RC_OK) {
                char again[64];
                long m = net_s3_xml_unescape(buf_str(&b), again, sizeof(again));
                if (m != n || memcmp(again, out, (size_t)n) != 0)
                    abort();
            }
            buf_cleanup(&b);
        }
    }
    (void)net_s3_xml_time(net_s3_xml_first(xml, "LastModified"));
    free(copy);
    return 0;
}
