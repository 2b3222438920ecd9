/* fuzz_http_request.c -- libFuzzer target for the request head parser and the
 * chunked decoder: the bytes are a head, and whatever follows it is fed to the
 * chunked decoder in the split the first byte chooses, as a connection would.
 * Checks invariants, not just "no crash": a parsed head never claims more
 * bytes than it was given, and its slices stay inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/buf.h"
#include "http/chunked.h"
#include "http/parse.h"
#include "http/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(struct str s, const char *base, size_t len)
{
    if (s.len && (s.ptr < base || s.ptr + s.len > base + len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t split = data[0];
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    struct http_limits limits = {.max_target = 256, .max_header_bytes = 2048};
    static struct http_parsed p;
    const char *why = NULL;
    enum http_parse_result r = http_parse_request(in, len, &limits, &p, &why);
    if (r != HTTP_PARSE_DONE) {
        if (r != HTTP_PARSE_PARTIAL && (!why || http_parse_status(r) < 400))
            abort(); /* every refusal names its reason and a 4xx/5xx */
        return 0;
    }
    if (p.head_len == 0 || p.head_len > len)
        abort();
    check_inside(p.target, in, len);
    /* An absolute-form target without a path ("http://h") means "/", a static slice. */
    if (!(p.path.len == 1 && p.path.ptr[0] == '/'))
        check_inside(p.path, in, len);
    for (size_t i = 0; i < p.header_count; i++) {
        check_inside(p.headers[i].name, in, len);
        check_inside(p.headers[i].value, in, len);
    }
    /* The query string through the query parser. */
    struct arena a;
    arena_init(&a, 1024);
    struct http_query_param *params;
    size_t count;
    (void)http_query_parse(p.query, &a, &params, &count);
    arena_cleanup(&a);

    if (!p.is_chunked)
        return 0;
    /* The body through the chunked decoder, in two pieces. */
    const char *body = in + p.head_len;
    size_t body_len = len - p.head_len;
    if (split > body_len)
        split = body_len;
    struct http_chunked d;
    http_chunked_init(&d);
    struct buf out;
    buf_init(&out, 4096);
    size_t used = 0;
    enum http_chunked_result cr = http_chunked_decode(&d, body, split, &used, &out);
    if (used > split)
        abort();
    if (cr == HTTP_CHUNKED_PARTIAL && used == split) {
        size_t used2 = 0;
        cr = http_chunked_decode(&d, body + split, body_len - split, &used2, &out);
        if (used2 > body_len - split)
            abort();
    }
    if (out.len > out.max)
        abort();
    buf_cleanup(&out);
    return 0;
}
