/* file_read.h -- reading a stored file (or its thumbnail) for a download (layer: core).
 *
 * Spec §8.2. One blocking call, made on the offload pool: opens the object
 * in its storage (storage.h), picks the thumbnail when one was asked for
 * and the original is an image (making and storing it on first use; any
 * failure serves the original), sniffs the MIME type, answers
 * If-Modified-Since and a single byte range, and reads the bytes to send
 * into a buffer, or, past CORE_FILE_INLINE_MAX, leaves the object open for
 * core_file_read_chunk() calls, so a large download holds one chunk in
 * memory at a time instead of the whole file (on S3 each chunk is a ranged
 * GET). */
#ifndef TARMAC_CORE_FILE_READ_H
#define TARMAC_CORE_FILE_READ_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "core/files/storage.h"
#include "core/files/thumb.h"

/* Bodies up to this size are read whole; larger ones go by chunks. */
#define CORE_FILE_INLINE_MAX ((uint64_t)1 << 20)

struct core_file_read {
    /* in (owned by the caller) */
    const struct core_storage *storage;
    const char *key;       /* the original */
    const char *thumb_key; /* the thumbnail to use or make; NULL for none */
    struct core_thumb_spec thumb;
    bool has_range;      /* a single "bytes=" range was asked for */
    bool is_suffix;      /* "bytes=-N": the last N bytes (N in first) */
    uint64_t first;      /* first byte, or N for a suffix */
    uint64_t last;       /* last byte (inclusive); UINT64_MAX: to the end */
    int64_t if_modified; /* If-Modified-Since in Unix seconds; -1: none */
    bool is_head;        /* HEAD: size and headers only, no bytes read */
    /* out */
    int status;                     /* 200, 206, 304, 404 (missing), 416 */
    const char *mime;               /* sniffed, static */
    int64_t mtime;                  /* Unix seconds */
    uint64_t size;                  /* the whole file */
    uint64_t start;                 /* 206: the range sent */
    uint64_t end;                   /* inclusive */
    bool is_thumb;                  /* the thumbnail was served */
    struct core_storage_file *file; /* open for chunks (the body was not read); close it */
    size_t chunk;                   /* the bytes to read from file at a time */
};

/* Fills r's outputs and, for 200 and 206 (except HEAD), appends the bytes to
 * out, or, when they are more than CORE_FILE_INLINE_MAX, sets r->file
 * instead (the caller reads it with core_file_read_chunk() and closes it).
 * RC_OK with r->status 404 for a missing file; RC_TOO_LARGE past out's
 * maximum; RC_NOMEM; RC_IO; RC_UNAVAILABLE (S3 unreachable). Blocking. */
enum rc core_file_read(struct core_file_read *r, struct buf *out);

/* Reads len bytes at offset off of f into dst. RC_IO on a read error or a
 * file that became shorter (changed under us). Blocking. */
enum rc core_file_read_chunk(struct core_storage_file *f, uint64_t off, char *dst, size_t len);
/* Closes what core_file_read() left open (r->file); accepts NULL. Blocking
 * (cheap: a descriptor or a little memory). */
void core_file_read_close(struct core_storage_file *f);

#endif
