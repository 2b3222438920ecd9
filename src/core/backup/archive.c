/* archive.c -- see archive.h. */
#include "core/backup/archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zip.h>

#include "base/alloc.h"

#define PATH_BYTES 4096

bool core_archive_looks_like_zip(const void *head, size_t len)
{
    const unsigned char *p = head;
    return len >= 4 && p[0] == 'P' && p[1] == 'K' &&
           ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6));
}

/* ---- writing ------------------------------------------------------------------ */

struct zwrite {
    zip_t *za;
    char *err;
    size_t cap;
};

static enum rc add_tree(struct zwrite *z, const char *dir, const char *rel)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(z->err, z->cap, "cannot read %s: %s", dir, strerror(errno));
        return RC_IO;
    }
    enum rc rc = RC_OK;
    struct dirent *de;
    while (!rc && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[PATH_BYTES], name[PATH_BYTES];
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
            snprintf(name, sizeof(name), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >=
                (int)sizeof(name)) {
            snprintf(z->err, z->cap, "a path is too long under %s", dir);
            rc = RC_IO;
            break;
        }
        struct stat sb;
        if (lstat(path, &sb) != 0) {
            snprintf(z->err, z->cap, "cannot stat %s: %s", path, strerror(errno));
            rc = RC_IO;
        } else if (S_ISDIR(sb.st_mode)) {
            if (zip_dir_add(z->za, name, ZIP_FL_ENC_UTF_8) < 0) {
                snprintf(z->err, z->cap, "zip: %s", zip_strerror(z->za));
                rc = RC_IO;
            } else {
                rc = add_tree(z, path, name);
            }
        } else if (S_ISREG(sb.st_mode)) {
            /* The file is opened when the archive is written (zip_close). */
            zip_source_t *src = zip_source_file(z->za, path, 0, 0);
            if (!src || zip_file_add(z->za, name, src, ZIP_FL_ENC_UTF_8) < 0) {
                snprintf(z->err, z->cap, "zip: %s", zip_strerror(z->za));
                zip_source_free(src);
                rc = RC_IO;
            }
        }
    }
    closedir(d);
    return rc;
}

enum rc core_archive_write(const char *zip_path, const char *root, char *err, size_t cap)
{
    int ze = 0;
    unlink(zip_path);
    zip_t *za = zip_open(zip_path, ZIP_CREATE | ZIP_EXCL, &ze);
    if (!za) {
        zip_error_t e;
        zip_error_init_with_code(&e, ze);
        snprintf(err, cap, "cannot create %s: %s", zip_path, zip_error_strerror(&e));
        zip_error_fini(&e);
        return RC_IO;
    }
    struct zwrite z = {.za = za, .err = err, .cap = cap};
    enum rc rc = add_tree(&z, root, "");
    if (rc) {
        zip_discard(za);
        unlink(zip_path);
        return rc;
    }
    if (zip_close(za) != 0) {
        snprintf(err, cap, "cannot write the archive: %s", zip_strerror(za));
        zip_discard(za);
        unlink(zip_path);
        return RC_IO;
    }
    return RC_OK;
}

/* ---- reading ------------------------------------------------------------------ */

/* A name that stays inside the destination: relative, no empty, "." or ".."
 * segment, no backslash (a Windows separator) or control byte. */
static bool is_safe_name(const char *name)
{
    size_t n = strlen(name);
    if (!n || name[0] == '/')
        return false;
    const char *seg = name;
    for (const char *p = name;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t len = (size_t)(p - seg);
            bool is_last_dir = *p == '\0' && len == 0 && p > name && p[-1] == '/';
            if (!is_last_dir && (len == 0 || (len == 1 && seg[0] == '.') ||
                                 (len == 2 && seg[0] == '.' && seg[1] == '.')))
                return false;
            if (*p == '\0')
                return true;
            seg = p + 1;
        } else if (*p == '\\' || (unsigned char)*p < 0x20) {
            return false;
        }
    }
}

static bool is_allowed(const char *name, const char *const *allowed)
{
    size_t first = strcspn(name, "/");
    for (size_t i = 0; allowed[i]; i++) {
        if (strlen(allowed[i]) == first && strncmp(name, allowed[i], first) == 0)
            return true;
    }
    return false;
}

/* mkdir -p of the directories of rel under dest (the last segment too when
 * is_dir). */
static enum rc make_parents(const char *dest, const char *rel, bool is_dir)
{
    char path[PATH_BYTES];
    size_t base = (size_t)snprintf(path, sizeof(path), "%s/", dest);
    size_t n = strlen(rel);
    if (base + n >= sizeof(path))
        return RC_INVALID;
    memcpy(path + base, rel, n + 1);
    for (char *p = path + base; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return RC_IO;
        *p = '/';
    }
    if (is_dir && mkdir(path, 0755) != 0 && errno != EEXIST)
        return RC_IO;
    return RC_OK;
}

static enum rc extract_file(zip_t *za, zip_uint64_t i, const char *path, char *err, size_t cap)
{
    zip_file_t *zf = zip_fopen_index(za, i, 0);
    if (!zf) {
        snprintf(err, cap, "the archive is damaged: %s", zip_strerror(za));
        return RC_INVALID;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, cap, "cannot create %s: %s", path, strerror(errno));
        zip_fclose(zf);
        return RC_IO;
    }
    enum rc rc = RC_OK;
    char *chunk = xmalloc(1u << 16);
    for (;;) {
        zip_int64_t n = zip_fread(zf, chunk, 1u << 16);
        if (n < 0) {
            /* a CRC or size mismatch, a truncated stream */
            snprintf(err, cap, "the archive is damaged: %s", zip_file_strerror(zf));
            rc = RC_INVALID;
            break;
        }
        if (n == 0)
            break;
        for (zip_int64_t off = 0; off < n;) {
            ssize_t w = write(fd, chunk + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                snprintf(err, cap, "cannot write %s: %s", path, strerror(errno));
                rc = RC_IO;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    xfree(chunk);
    if (!rc && fsync(fd) != 0) {
        snprintf(err, cap, "cannot sync %s: %s", path, strerror(errno));
        rc = RC_IO;
    }
    close(fd);
    zip_fclose(zf);
    return rc;
}

enum rc core_archive_extract(const char *zip_path, const char *dest, const char *const *allowed,
                             char *err, size_t cap)
{
    int ze = 0;
    zip_t *za = zip_open(zip_path, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!za) {
        zip_error_t e;
        zip_error_init_with_code(&e, ze);
        snprintf(err, cap, "not a valid zip archive: %s", zip_error_strerror(&e));
        zip_error_fini(&e);
        return ze == ZIP_ER_OPEN || ze == ZIP_ER_READ ? RC_IO : RC_INVALID;
    }
    zip_int64_t count = zip_get_num_entries(za, 0);
    /* First pass: names and the room they need. */
    unsigned long long total = 0;
    for (zip_int64_t i = 0; i < count; i++) {
        zip_stat_t st;
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME)) {
            snprintf(err, cap, "the archive is damaged: %s", zip_strerror(za));
            zip_discard(za);
            return RC_INVALID;
        }
        if (!is_safe_name(st.name)) {
            snprintf(err, cap, "the archive holds an unsafe name: %.200s", st.name);
            zip_discard(za);
            return RC_INVALID;
        }
        if (is_allowed(st.name, allowed) && (st.valid & ZIP_STAT_SIZE))
            total += st.size;
    }
    struct statvfs vfs;
    if (statvfs(dest, &vfs) == 0 &&
        total > (unsigned long long)vfs.f_bavail * (unsigned long long)vfs.f_frsize) {
        snprintf(err, cap,
                 "the archive needs %llu bytes once extracted: more than the disk has free", total);
        zip_discard(za);
        return RC_INVALID;
    }
    enum rc rc = RC_OK;
    for (zip_int64_t i = 0; !rc && i < count; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
        if (!name || !is_allowed(name, allowed))
            continue;
        size_t n = strlen(name);
        bool is_dir = name[n - 1] == '/';
        char path[PATH_BYTES];
        if (snprintf(path, sizeof(path), "%s/%s", dest, name) >= (int)sizeof(path)) {
            snprintf(err, cap, "a name is too long: %.200s", name);
            rc = RC_INVALID;
            break;
        }
        rc = make_parents(dest, name, is_dir);
        if (rc) {
            snprintf(err, cap, "cannot make the directories of %.200s", name);
            break;
        }
        if (!is_dir)
            rc = extract_file(za, (zip_uint64_t)i, path, err, cap);
    }
    zip_discard(za);
    return rc;
}
