/* thumb.c -- see thumb.h. */
#include "core/files/thumb.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

#include "base/metrics.h"
#include "base/log.h"
#include "base/secure.h"
#include "core/files/file_name.h"
#include "core/files/sniff.h"

enum rc core_thumb_init(const char *argv0)
{
    if (VIPS_INIT(argv0 ? argv0 : "tarmac") != 0)
        return RC_INTERNAL;
    /* One thread per thumbnail (the pool already runs several), and no
     * operation cache: files change under the same names' directories and
     * cached images would hold memory for nothing. */
    vips_concurrency_set(1);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    return RC_OK;
}

void core_thumb_shutdown(void)
{
    vips_shutdown();
}

static bool parse_dim(const char *p, size_t n, int *out)
{
    if (n == 0 || n > 4)
        return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

bool core_thumb_parse(struct str s, struct core_thumb_spec *out)
{
    if (s.len < 3)
        return false;
    char mode = 'c';
    char last = s.ptr[s.len - 1];
    if (last == 't' || last == 'b' || last == 'f') {
        mode = last;
        s.len--;
    }
    const char *x = memchr(s.ptr, 'x', s.len);
    if (!x)
        return false;
    size_t wn = (size_t)(x - s.ptr);
    int w, h;
    if (!parse_dim(s.ptr, wn, &w) || !parse_dim(x + 1, s.len - wn - 1, &h))
        return false;
    if (w == 0 && h == 0)
        return false;
    out->width = w;
    out->height = h;
    out->mode = mode;
    return true;
}

bool core_thumb_is_allowed(const struct core_field *f, struct str s)
{
    if (str_eq(s, STR_LIT("100x100")))
        return true;
    for (size_t i = 0; i < f->thumb_count; i++) {
        if (str_eq(s, str_from_cstr(f->thumbs[i])))
            return true;
    }
    return false;
}

bool core_thumb_is_image(struct str mime)
{
    static const char *const ok[] = {"image/png", "image/jpg", "image/jpeg", "image/gif",
                                     "image/webp"};
    struct str base = core_sniff_base(mime);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (str_eq_cstr_nocase(base, ok[i]))
            return true;
    }
    return false;
}

/* Scales in per spec (and crops); *out is a new image. */
static int resize(VipsImage *in, const struct core_thumb_spec *spec, VipsImage **out)
{
    double w0 = vips_image_get_width(in);
    double h0 = vips_image_get_height(in);
    if (w0 < 1 || h0 < 1)
        return -1;
    double W = spec->width, H = spec->height;
    if (spec->width == 0 || spec->height == 0) {
        double scale = spec->width == 0 ? H / h0 : W / w0;
        return vips_resize(in, out, scale, NULL);
    }
    if (spec->mode == 'f') {
        double scale = fmin(W / w0, H / h0);
        if (scale >= 1.0)
            return vips_copy(in, out, NULL); /* fit never enlarges */
        return vips_resize(in, out, scale, NULL);
    }
    /* Fill: scale to cover W x H, then cut W x H at the anchor. */
    double scale = fmax(W / w0, H / h0);
    double hs = fmax(scale, (W + 0.4) / w0);
    double vs = fmax(scale, (H + 0.4) / h0);
    VipsImage *scaled = NULL;
    if (vips_resize(in, &scaled, hs, "vscale", vs, NULL) != 0)
        return -1;
    int sw = vips_image_get_width(scaled);
    int sh = vips_image_get_height(scaled);
    int cw = sw < spec->width ? sw : spec->width;
    int ch = sh < spec->height ? sh : spec->height;
    int left = (sw - cw) / 2;
    int top = spec->mode == 't' ? 0 : spec->mode == 'b' ? sh - ch : (sh - ch) / 2;
    int rc = vips_extract_area(scaled, out, left, top, cw, ch, NULL);
    g_object_unref(scaled);
    return rc;
}

/* Metadata (EXIF with its GPS position, comments) is not copied. */
static int save(VipsImage *img, const char *path, struct str mime)
{
    struct str base = core_sniff_base(mime);
    if (str_eq_cstr_nocase(base, "image/jpeg") || str_eq_cstr_nocase(base, "image/jpg"))
        return vips_jpegsave(img, path, "Q", 90, "strip", TRUE, NULL);
    if (str_eq_cstr_nocase(base, "image/gif") && vips_gifsave(img, path, "strip", TRUE, NULL) == 0)
        return 0;
    return vips_pngsave(img, path, "strip", TRUE, NULL);
}

static uint64_t thumbs_made;
static uint64_t thumbs_failed;

void core_thumb_counts(uint64_t *made, uint64_t *failed)
{
    *made = metrics_read(&thumbs_made);
    *failed = metrics_read(&thumbs_failed);
}

/* Locks path (made when missing) for this call: an open file description
 * lock (F_OFD_SETLKW) excludes the pool's other threads as well as other
 * processes, on another machine too when the directory is on NFS. The
 * holder removes the file when done; a waiter that got the lock of a
 * removed file tries again with the new one. The descriptor, or -1. */
static int lock_file(const char *path)
{
    for (int tries = 0; tries < 64; tries++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            return -1;
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        int r;
        while ((r = fcntl(fd, F_OFD_SETLKW, &fl)) != 0 && errno == EINTR)
            ;
        struct stat held, now;
        if (r == 0 && fstat(fd, &held) == 0 && stat(path, &now) == 0 && held.st_ino == now.st_ino &&
            held.st_dev == now.st_dev)
            return fd;
        close(fd);
        if (r != 0)
            return -1;
    }
    return -1;
}

static void unlock_file(const char *path, int fd)
{
    unlink(path);
    close(fd); /* drops the lock */
}

static enum rc make_unlocked(const char *src, const char *dst, struct str mime,
                             const struct core_thumb_spec *spec);

enum rc core_thumb_make(const char *src, const char *dst, struct str mime,
                        const struct core_thumb_spec *spec)
{
    char dir[4096];
    const char *slash = strrchr(dst, '/');
    if (!slash || (size_t)(slash - dst) >= sizeof(dir))
        return RC_INVALID;
    memcpy(dir, dst, (size_t)(slash - dst));
    dir[slash - dst] = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return RC_IO;
    /* Made once: several requests for one new thumbnail (this instance's
     * or other instances' sharing the directory, --storage-dir) wait for
     * the first, then find its file. */
    char lock[4200];
    if (snprintf(lock, sizeof(lock), "%s.lock", dst) >= (int)sizeof(lock))
        return RC_INVALID;
    int fd = lock_file(lock);
    if (fd < 0)
        return RC_IO;
    enum rc rc = access(dst, F_OK) == 0 ? RC_OK : make_unlocked(src, dst, mime, spec);
    unlock_file(lock, fd);
    return rc;
}

/* core_thumb_make under the lock. */
static enum rc make_unlocked(const char *src, const char *dst, struct str mime,
                             const struct core_thumb_spec *spec)
{
    char rnd[11];
    (void)secure_random_id(rnd, 10);
    rnd[10] = '\0';
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.%s.tmp", dst, rnd) >= (int)sizeof(tmp))
        return RC_INVALID;
    enum rc rc = RC_IO;
    VipsImage *raw = vips_image_new_from_file(src, NULL);
    VipsImage *in = NULL;
    VipsImage *out = NULL;
    /* Upright first (EXIF orientation), as a viewer shows the original. */
    if (raw && vips_autorot(raw, &in, NULL) == 0 && resize(in, spec, &out) == 0) {
        /* vips is lazy: nothing is decoded yet. A thumbnail whose free side
         * grows past the largest size a spec can name (0x20 of a
         * 100000x1 image is 2000000x20) is not made: the original is
         * served, as for any thumbnail that cannot be made (spec §8.2). */
        if (vips_image_get_width(out) > CORE_THUMB_MAX_SIDE ||
            vips_image_get_height(out) > CORE_THUMB_MAX_SIDE) {
            rc = RC_TOO_LARGE;
        } else if (save(out, tmp, mime) == 0) {
            rc = rename(tmp, dst) == 0 ? RC_OK : RC_IO;
        }
    }
    metrics_add_shared(rc == RC_OK ? &thumbs_made : &thumbs_failed, 1);
    if (rc == RC_TOO_LARGE) {
        log_debug("msg=\"thumbnail too large, original served\" src=\"%s\"", src);
    } else if (rc) {
        const char *why = vips_error_buffer();
        log_warn("msg=\"thumbnail failed\" src=\"%s\" why=\"%.200s\"", src, why ? why : "");
        vips_error_clear();
        unlink(tmp);
    }
    if (out)
        g_object_unref(out);
    if (in)
        g_object_unref(in);
    if (raw)
        g_object_unref(raw);
    return rc;
}

enum rc core_thumb_key(struct buf *out, const char *collection_id, struct str id, struct str name,
                       struct str size)
{
    enum rc rc = core_file_name_is_safe(name) ? RC_OK : RC_INVALID;
    if (!rc)
        rc = core_storage_key(out, collection_id, id, (struct str){NULL, 0});
    if (!rc)
        rc = buf_append_cstr(out, "/thumbs_");
    if (!rc)
        rc = buf_append_str(out, name);
    if (!rc)
        rc = buf_append_cstr(out, "/");
    if (!rc)
        rc = buf_append_str(out, size);
    if (!rc)
        rc = buf_append_cstr(out, "_");
    if (!rc)
        rc = buf_append_str(out, name);
    if (!rc)
        rc = buf_append(out, "", 1);
    if (!rc)
        out->len--; /* terminated, for the storage's calls */
    return rc;
}

/* The MIME type save() writes for an original of type mime. */
static const char *thumb_mime(struct str mime)
{
    struct str base = core_sniff_base(mime);
    if (str_eq_cstr_nocase(base, "image/jpeg") || str_eq_cstr_nocase(base, "image/jpg"))
        return "image/jpeg";
    if (str_eq_cstr_nocase(base, "image/gif"))
        return "image/gif";
    return "image/png";
}

enum rc core_thumb_make_stored(const struct core_storage *st, const char *src_key,
                               const char *dst_key, struct str mime,
                               const struct core_thumb_spec *spec)
{
    enum rc rc;
    if (st->ops->path) {
        struct buf src, dst;
        buf_init(&src, 4096);
        buf_init(&dst, 4096);
        rc = st->ops->path(st, src_key, &src);
        if (!rc)
            rc = st->ops->path(st, dst_key, &dst);
        if (!rc)
            rc = buf_append(&src, "", 1);
        if (!rc)
            rc = buf_append(&dst, "", 1);
        if (!rc)
            rc = core_thumb_make(src.data, dst.data, mime, spec);
        buf_cleanup(&src);
        buf_cleanup(&dst);
        return rc;
    }
    /* No local path: a copy of the original in, the thumbnail out. */
    char src[4096], dst[4096];
    rc = core_storage_temp_path(st, "thumb-src", src, sizeof(src));
    if (!rc)
        rc = core_storage_temp_path(st, "thumb", dst, sizeof(dst));
    if (!rc)
        rc = st->ops->get_file(st, src_key, src);
    if (!rc) {
        rc = core_thumb_make(src, dst, mime, spec);
        unlink(src);
    }
    if (!rc)
        rc = st->ops->put_file(st, dst_key, dst, thumb_mime(mime)); /* removes dst */
    return rc;
}

enum rc core_thumb_ensure(const struct core_storage *st, const char *src_key, const char *dst_key,
                          const struct core_thumb_spec *spec, bool *is_made)
{
    *is_made = false;
    struct core_storage_info info;
    enum rc rc = st->ops->stat(st, dst_key, &info);
    if (rc != RC_NOT_FOUND)
        return rc; /* there already, or the storage failed */
    char head[CORE_SNIFF_BYTES];
    size_t n = 0;
    struct core_storage_file *f = NULL;
    rc = st->ops->open(st, src_key, head, sizeof(head), &n, &info, &f);
    st->ops->close(f);
    if (rc)
        return rc;
    const char *mime = core_sniff_mime(head, n);
    if (!core_thumb_is_image(str_from_cstr(mime)))
        return RC_NOT_FOUND;
    rc = core_thumb_make_stored(st, src_key, dst_key, str_from_cstr(mime), spec);
    *is_made = rc == RC_OK;
    return rc;
}
