/* file_read.c -- see file_read.h. */
#include "core/files/file_read.h"

#include <string.h>

#include "core/files/sniff.h"

enum rc core_file_read_chunk(struct core_storage_file *f, uint64_t off, char *dst, size_t len)
{
    return core_storage_file_read(f, off, dst, len);
}

void core_file_read_close(struct core_storage_file *f)
{
    core_storage_file_close(f);
}

/* Opens key, its first bytes into head. RC_NOT_FOUND when missing. */
static enum rc open_key(struct core_file_read *r, const char *key, char head[CORE_SNIFF_BYTES],
                        size_t *got, struct core_storage_info *info, struct core_storage_file **out)
{
    const struct core_storage *st = r->storage;
    return st->ops->open(st, key, head, CORE_SNIFF_BYTES, got, info, out);
}

enum rc core_file_read(struct core_file_read *r, struct buf *out)
{
    r->file = NULL;
    r->chunk = r->storage->ops->chunk;
    char head[CORE_SNIFF_BYTES];
    size_t hn = 0;
    struct core_storage_info info;
    struct core_storage_file *f = NULL;
    enum rc rc = open_key(r, r->key, head, &hn, &info, &f);
    if (rc == RC_NOT_FOUND || rc == RC_INVALID) {
        r->status = 404;
        return RC_OK;
    }
    if (rc)
        return rc;
    r->mime = core_sniff_mime(head, hn);
    if (r->thumb_key && core_thumb_is_image(str_from_cstr(r->mime))) {
        char thead[CORE_SNIFF_BYTES];
        size_t tn = 0;
        struct core_storage_info tinfo;
        struct core_storage_file *tf = NULL;
        enum rc trc = open_key(r, r->thumb_key, thead, &tn, &tinfo, &tf);
        if (trc == RC_NOT_FOUND &&
            core_thumb_make_stored(r->storage, r->key, r->thumb_key, str_from_cstr(r->mime),
                                   &r->thumb) == RC_OK)
            trc = open_key(r, r->thumb_key, thead, &tn, &tinfo, &tf);
        if (trc == RC_OK) { /* else the original is served (spec §8.2) */
            core_storage_file_close(f);
            f = tf;
            info = tinfo;
            memcpy(head, thead, tn);
            hn = tn;
            r->is_thumb = true;
            r->mime = core_sniff_mime(head, hn);
        }
    }
    r->mtime = info.mtime;
    r->size = info.size;
    if (r->if_modified >= 0 && r->mtime <= r->if_modified) {
        r->status = 304;
        core_storage_file_close(f);
        return RC_OK;
    }
    uint64_t start = 0, end = r->size ? r->size - 1 : 0;
    r->status = 200;
    if (r->has_range) {
        if (r->is_suffix) {
            if (r->first == 0 || r->size == 0) {
                r->status = 416;
            } else {
                start = r->first >= r->size ? 0 : r->size - r->first;
                r->status = 206;
            }
        } else if (r->first >= r->size) {
            r->status = 416;
        } else {
            start = r->first;
            end = r->last < r->size - 1 ? r->last : r->size - 1;
            r->status = 206;
        }
    }
    r->start = start;
    r->end = end;
    if (r->status == 416 || r->is_head || r->size == 0) {
        core_storage_file_close(f);
        return RC_OK;
    }
    uint64_t len = end - start + 1;
    if (len > CORE_FILE_INLINE_MAX) {
        r->file = f; /* the caller reads it by chunks */
        return RC_OK;
    }
    rc = buf_reserve(out, (size_t)len);
    if (!rc && end < hn) {
        memcpy(out->data + out->len, head + start, (size_t)len); /* read already */
        out->len += (size_t)len;
    } else if (!rc) {
        rc = core_storage_file_read(f, start, out->data + out->len, (size_t)len);
        if (!rc)
            out->len += (size_t)len;
    }
    core_storage_file_close(f);
    return rc;
}
