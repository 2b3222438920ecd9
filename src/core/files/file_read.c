/* file_read.c -- see file_read.h. */
#include "core/files/file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/files/sniff.h"

/* Reads up to len bytes at off; the count read, or -1. */
static ssize_t read_at(int fd, char *dst, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, dst + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

enum rc core_file_read_chunk(int fd, uint64_t off, char *dst, size_t len)
{
    ssize_t n = read_at(fd, dst, len, off);
    return n >= 0 && (size_t)n == len ? RC_OK : RC_IO;
}

void core_file_read_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

enum rc core_file_read(struct core_file_read *r, struct buf *out)
{
    r->fd = -1;
    struct stat st;
    int fd = open_regular(r->path, &st);
    if (fd < 0) {
        r->status = 404;
        return RC_OK;
    }
    char head[CORE_SNIFF_BYTES];
    ssize_t hn = read_at(fd, head, sizeof(head), 0);
    if (hn < 0) {
        close(fd);
        return RC_IO;
    }
    r->mime = core_sniff_mime(head, (size_t)hn);
    if (r->thumb_path && core_thumb_is_image(str_from_cstr(r->mime))) {
        struct stat tst;
        int tfd = open_regular(r->thumb_path, &tst);
        if (tfd < 0 &&
            core_thumb_make(r->path, r->thumb_path, str_from_cstr(r->mime), &r->thumb) == RC_OK)
            tfd = open_regular(r->thumb_path, &tst);
        if (tfd >= 0) {
            close(fd);
            fd = tfd;
            st = tst;
            r->is_thumb = true;
            hn = read_at(fd, head, sizeof(head), 0);
            if (hn < 0) {
                close(fd);
                return RC_IO;
            }
            r->mime = core_sniff_mime(head, (size_t)hn);
        }
    }
    r->mtime = (int64_t)st.st_mtime;
    r->size = (uint64_t)st.st_size;
    if (r->if_modified >= 0 && r->mtime <= r->if_modified) {
        r->status = 304;
        close(fd);
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
        close(fd);
        return RC_OK;
    }
    uint64_t len = end - start + 1;
    if (len > CORE_FILE_INLINE_MAX) {
        r->fd = fd; /* the caller reads it by chunks */
        return RC_OK;
    }
    enum rc rc = buf_reserve(out, (size_t)len);
    if (!rc) {
        ssize_t n = read_at(fd, out->data + out->len, (size_t)len, start);
        if (n < 0 || (uint64_t)n != len)
            rc = RC_IO;
        else
            out->len += (size_t)len;
    }
    close(fd);
    return rc;
}
