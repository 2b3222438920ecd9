/* vector_file.c -- see vector_file.h. */
#include "core/record/vector_file.h"

#include <stdbool.h>
#include <string.h>

#include "base/alloc.h"

#define IDS_MAGIC "VIDS"
#define IDS_VERSION 1

enum rc core_vector_file_encode(const struct hnsw *h, char *const *ids, struct buf *out)
{
    size_t start = out->len;
    enum rc rc = hnsw_encode(h, out);
    unsigned char head[8] = {0, 0, 0, 0, IDS_VERSION, 0, 0, 0};
    memcpy(head, IDS_MAGIC, 4);
    if (!rc)
        rc = buf_append(out, head, sizeof(head));
    size_t count = hnsw_count(h);
    for (size_t i = 0; !rc && i < count; i++) {
        size_t len = ids[i] ? strlen(ids[i]) : 0;
        bool is_removed = hnsw_is_removed(h, (uint32_t)i);
        if (len > CORE_VECTOR_FILE_MAX_ID || is_removed != !ids[i] || (ids[i] && !len)) {
            rc = RC_INVALID;
            break;
        }
        unsigned char n2[2] = {(unsigned char)len, (unsigned char)(len >> 8)};
        rc = buf_append(out, n2, 2);
        if (!rc)
            rc = buf_append(out, ids[i] ? ids[i] : "", len);
    }
    if (rc)
        out->len = start;
    return rc;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xfree(ids[i]);
    xfree(ids);
}

struct hnsw *core_vector_file_decode(const unsigned char *p, size_t n, char ***ids)
{
    *ids = NULL;
    size_t at = 0;
    struct hnsw *h = hnsw_decode(p, n, &at);
    if (!h)
        return NULL;
    size_t count = hnsw_count(h);
    if (n - at < 8 || memcmp(p + at, IDS_MAGIC, 4) != 0 || p[at + 4] != IDS_VERSION || p[at + 5] ||
        p[at + 6] || p[at + 7] || (n - at - 8) / 2 < count) {
        hnsw_free(h);
        return NULL;
    }
    at += 8;
    char **out = xcalloc(count ? count : 1, sizeof(*out));
    for (size_t i = 0; i < count; i++) {
        if (n - at < 2)
            goto bad;
        size_t len = (size_t)p[at] | (size_t)p[at + 1] << 8;
        at += 2;
        if (len > CORE_VECTOR_FILE_MAX_ID || n - at < len || memchr(p + at, 0, len) ||
            hnsw_is_removed(h, (uint32_t)i) != !len)
            goto bad;
        if (len)
            out[i] = xstrndup((const char *)p + at, len);
        at += len;
    }
    if (at != n)
        goto bad;
    *ids = out;
    return h;
bad:
    free_ids(out, count);
    hnsw_free(h);
    return NULL;
}
