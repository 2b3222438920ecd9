/* fuzz_multipart.c -- libFuzzer target for the multipart/form-data parser.
 *
 * Input layout: byte 0 is n; the next n bytes are first tried as a
 * Content-Type value through http_multipart_boundary() (so the dictionary's
 * "multipart/form-data; boundary=" exercises it), and used raw as the boundary
 * when they are not one; the rest is the body. The head is copied to its own
 * exactly-sized allocation so that an over-read of it is not hidden by the
 * body behind it. Checks invariants, not just "no crash": refusals carry a
 * reason and leave no output; accepted parts lie inside the body, in order,
 * each followed by CRLF "--" boundary, and no part's data holds a delimiter the
 * parser should have stopped at; decoded names stay within their limit. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "http/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(struct str s, const char *base, size_t len)
{
    if (s.len && (s.ptr < base || s.ptr > base + len || s.len > (size_t)(base + len - s.ptr)))
        abort();
}

/* Reads every byte of s, so that ASan sees a slice pointing at freed or foreign memory. */
static void touch(struct str s)
{
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < s.len; i++)
        sink ^= (unsigned char)s.ptr[i];
    (void)sink;
}

/* The parser must have ended data at any CRLF "--" boundary followed by
 * padding, CR, LF or "--": such a run inside data is a missed delimiter. */
static void check_no_delimiter_inside(struct str data, struct str body, const char *needle,
                                      size_t needle_len)
{
    const char *end = data.ptr + data.len;
    const char *from = data.ptr;
    const char *body_end = body.ptr + body.len;
    while (from < end) {
        const char *hit = memmem(from, (size_t)(body_end - from), needle, needle_len);
        if (!hit || hit >= end)
            return;
        const char *q = hit + needle_len;
        if (q >= body_end)
            abort(); /* the parser accepted a body ending inside a candidate */
        if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
            abort();
        if (*q == '-' && (q + 1 >= body_end || q[1] == '-'))
            abort();
        from = hit + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t head_len = data[0];
    if (head_len > size - 1)
        head_len = size - 1;
    char *head = xmalloc(head_len ? head_len : 1);
    if (head_len)
        memcpy(head, data + 1, head_len);
    struct str boundary;
    enum rc brc = http_multipart_boundary((struct str){head, head_len}, &boundary);
    if (brc == RC_OK) {
        check_inside(boundary, head, head_len);
        if (boundary.len == 0 || boundary.len > HTTP_MULTIPART_MAX_BOUNDARY)
            abort();
    } else if (brc == RC_NOT_FOUND || brc == RC_INVALID) {
        boundary = (struct str){head, head_len};
    } else {
        abort();
    }

    struct str body = {(const char *)data + 1 + head_len, size - 1 - head_len};
    struct arena a;
    arena_init(&a, 1024);
    struct http_multipart_part *parts = (struct http_multipart_part *)&a;
    size_t count = 12345;
    const char *why = NULL;
    enum rc rc = http_multipart_parse(body, boundary, &a, &parts, &count, &why);
    if (rc != RC_OK) {
        if (!why || parts != NULL || count != 0)
            abort();
        if (rc != RC_INVALID && rc != RC_TOO_LARGE && rc != RC_NOMEM)
            abort();
        goto out;
    }
    if (boundary.len == 0 || boundary.len > HTTP_MULTIPART_MAX_BOUNDARY)
        abort(); /* accepted with a boundary it must refuse */
    if (count > HTTP_MULTIPART_MAX_PARTS || (count > 0) != (parts != NULL))
        abort();
    char needle[4 + HTTP_MULTIPART_MAX_BOUNDARY];
    memcpy(needle, "\r\n--", 4);
    memcpy(needle + 4, boundary.ptr, boundary.len);
    size_t needle_len = 4 + boundary.len;
    const char *prev_end = body.ptr;
    for (size_t i = 0; i < count; i++) {
        const struct http_multipart_part *p = &parts[i];
        check_inside(p->data, body.ptr, body.len);
        check_inside(p->content_type, body.ptr, body.len);
        if (p->data.ptr < prev_end)
            abort();
        prev_end = p->data.ptr + p->data.len;
        if ((size_t)(body.ptr + body.len - prev_end) < needle_len ||
            memcmp(prev_end, needle, needle_len) != 0)
            abort();
        check_no_delimiter_inside(p->data, body, needle, needle_len);
        /* Names are slices of the body or decoded copies in the arena. */
        if (p->name.len > HTTP_MULTIPART_MAX_NAME || p->name.len > body.len)
            abort();
        if (p->filename.len > body.len || (!p->has_filename && p->filename.len))
            abort();
        touch(p->name);
        touch(p->filename);
    }
out:
    arena_cleanup(&a);
    xfree(head);
    return 0;
}
