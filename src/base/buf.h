/* buf.h -- growable byte buffer with a hard maximum (layer: base).
 *
 * Appends past the maximum fail with RC_TOO_LARGE and leave the buffer as it
 * was (as curl's dynbuf). Memory comes from try_realloc, so a failed growth is
 * RC_NOMEM, never an abort: buffers often hold client-sized data. The buffer
 * owns its memory; not thread-safe. */
#ifndef TARMAC_BASE_BUF_H
#define TARMAC_BASE_BUF_H

#include <stddef.h>
#include <string.h>

#include "base/rc.h"
#include "base/str.h"

struct buf {
    char *data;
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
    size_t max; /* len never exceeds this */
};

/* Sets b up empty with the given maximum length; allocates nothing. */
void buf_init(struct buf *b, size_t max);
/* Frees the memory of b and leaves it empty (reusable). */
void buf_cleanup(struct buf *b);
/* Makes room for extra more bytes. RC_TOO_LARGE past max, RC_NOMEM. */
enum rc buf_reserve(struct buf *b, size_t extra);
/* Appends len bytes of p. RC_TOO_LARGE past max (b unchanged), RC_NOMEM.
 * The common case (room already there) is inline: response writers append
 * many small pieces, and a call per piece showed in profiles. */
enum rc buf_append_slow(struct buf *b, const void *p, size_t len);
static inline enum rc buf_append(struct buf *b, const void *p, size_t len)
{
    if (len <= 4096 && len <= b->cap - b->len && len <= b->max - b->len) {
        if (len) {
            memcpy(b->data + b->len, p, len);
            b->len += len;
        }
        return RC_OK;
    }
    return buf_append_slow(b, p, len);
}
/* Appends a slice. */
enum rc buf_append_str(struct buf *b, struct str s);
/* Appends a NUL-terminated string (without its NUL). */
enum rc buf_append_cstr(struct buf *b, const char *s);
/* Appends the decimal form of v. */
enum rc buf_append_u64(struct buf *b, unsigned long long v);
/* Drops the first n bytes, moving the rest to the front. */
void buf_consume(struct buf *b, size_t n);
/* Empties b, keeping its memory. */
static inline void buf_reset(struct buf *b)
{
    b->len = 0;
}
/* The buffer's content as a slice, valid until b changes. */
static inline struct str buf_str(const struct buf *b)
{
    return (struct str){b->data, b->len};
}

#endif
