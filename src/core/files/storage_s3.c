/* storage_s3.c -- the S3 storage: key K is object K of the settings'
 * bucket (net/s3.h does the requests).
 *
 * Opening an object is one ranged GET of its first bytes (the response's
 * Content-Range gives the size, so no HEAD is needed); each later read is
 * a GET of its range, so a download streams through one chunk of memory
 * while S3 keeps the object. Uploads carry the sniffed MIME type as the
 * object's Content-Type, as PocketBase's do. Failures are logged here with
 * S3's own message (the request's answer stays generic). */
#include "core/files/storage.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/secure.h"

struct s3_file {
    struct core_storage_file base;
    struct net_s3_config s3; /* borrowed strings, as the storage's */
    char *key;
};

static enum rc logged(enum rc rc, const struct net_s3_error *err)
{
    if (rc && rc != RC_NOT_FOUND)
        log_warn("msg=\"S3 request failed\" rc=%s status=%ld error=\"%s\"", rc_name(rc),
                 err->status, err->message);
    return rc;
}

/* Copies what a GET returns into a fixed buffer. */
struct into {
    char *dst;
    size_t cap;
    size_t len;
};

static enum rc copy_into(void *ctx, const char *data, size_t len)
{
    struct into *in = ctx;
    if (len > in->cap - in->len)
        return RC_IO; /* more than the range asked for */
    memcpy(in->dst + in->len, data, len);
    in->len += len;
    return RC_OK;
}

static enum rc s3_stat(const struct core_storage *st, const char *key,
                       struct core_storage_info *info)
{
    struct net_s3_object o;
    struct net_s3_error err;
    enum rc rc = logged(net_s3_head(&st->s3, key, &o, &err), &err);
    if (!rc)
        *info = (struct core_storage_info){.size = o.size, .mtime = o.mtime};
    return rc;
}

static enum rc s3_open(const struct core_storage *st, const char *key, char *head, size_t cap,
                       size_t *got, struct core_storage_info *info, struct core_storage_file **out)
{
    *out = NULL;
    struct into in = {head, cap, 0};
    struct net_s3_object o;
    struct net_s3_error err;
    enum rc rc = RC_OK;
    if (cap) {
        rc = net_s3_get(&st->s3, key, 0, cap - 1, copy_into, &in, &o, &err);
        if (rc == RC_INVALID) /* 416: an empty object has no byte 0 */
            rc = net_s3_head(&st->s3, key, &o, &err);
    } else {
        rc = net_s3_head(&st->s3, key, &o, &err);
    }
    if (logged(rc, &err))
        return rc;
    *got = in.len;
    *info = (struct core_storage_info){.size = o.size, .mtime = o.mtime};
    struct s3_file *f = xmalloc(sizeof(*f));
    f->base.ops = &core_storage_s3_ops;
    f->s3 = st->s3;
    f->key = xstrdup(key);
    *out = &f->base;
    return RC_OK;
}

static enum rc s3_read(struct core_storage_file *base, uint64_t off, char *dst, size_t len)
{
    struct s3_file *f = (struct s3_file *)base;
    if (!len)
        return RC_OK;
    struct into in = {dst, len, 0};
    struct net_s3_error err;
    enum rc rc = net_s3_get(&f->s3, f->key, off, off + len - 1, copy_into, &in, NULL, &err);
    if (!rc && in.len != len)
        rc = RC_IO; /* the object changed under the download */
    return logged(rc == RC_NOT_FOUND || rc == RC_INVALID ? RC_IO : rc, &err);
}

static void s3_close(struct core_storage_file *base)
{
    struct s3_file *f = (struct s3_file *)base;
    if (!f)
        return;
    xfree(f->key);
    xfree(f);
}

static enum rc s3_put(const struct core_storage *st, const char *key, struct str data,
                      const char *mime)
{
    struct net_s3_error err;
    return logged(net_s3_put(&st->s3, key, data, mime, &err), &err);
}

static enum rc s3_put_file(const struct core_storage *st, const char *key, const char *path,
                           const char *mime)
{
    struct net_s3_error err;
    enum rc rc = logged(net_s3_put_file(&st->s3, key, path, mime, &err), &err);
    unlink(path);
    return rc;
}

static enum rc s3_get_file(const struct core_storage *st, const char *key, const char *path)
{
    struct net_s3_error err;
    return logged(net_s3_get_file(&st->s3, key, path, NULL, &err), &err);
}

static enum rc s3_remove(const struct core_storage *st, const char *key)
{
    struct net_s3_error err;
    return logged(net_s3_delete(&st->s3, key, &err), &err);
}

static enum rc s3_remove_prefix(const struct core_storage *st, const char *prefix)
{
    size_t n = strlen(prefix);
    if (n < 2 || prefix[n - 1] != '/')
        return RC_INVALID;
    struct net_s3_error err;
    return logged(net_s3_delete_prefix(&st->s3, prefix, &err), &err);
}

struct lister {
    core_storage_list_fn *fn;
    void *ctx;
};

static enum rc list_one(void *ctx, struct str key, uint64_t size, int64_t mtime)
{
    struct lister *l = ctx;
    return l->fn(l->ctx, key, size, mtime);
}

static enum rc s3_list(const struct core_storage *st, const char *prefix, core_storage_list_fn *fn,
                       void *ctx)
{
    size_t n = strlen(prefix);
    if (n && prefix[n - 1] != '/')
        return RC_INVALID;
    struct lister l = {fn, ctx};
    struct net_s3_error err;
    return logged(net_s3_list(&st->s3, prefix, list_one, &l, &err), &err);
}

enum rc core_storage_s3_check(const struct net_s3_config *s3, char *err, size_t cap)
{
    char rnd[6], prefix[64], key[80];
    (void)secure_random_id(rnd, 5);
    rnd[5] = '\0';
    snprintf(prefix, sizeof(prefix), "pb_settings_test_%s/", rnd);
    snprintf(key, sizeof(key), "%stest.txt", prefix);
    struct net_s3_error e;
    enum rc rc = net_s3_put(s3, key, STR_LIT("test"), "text/plain; charset=utf-8", &e);
    if (rc) {
        snprintf(err, cap, "failed to upload a test file: %s", e.message);
        return rc;
    }
    rc = net_s3_delete_prefix(s3, prefix, &e);
    if (rc)
        snprintf(err, cap, "failed to delete a test file: %s", e.message);
    return rc;
}

const struct core_storage_ops core_storage_s3_ops = {
    .name = "s3",
    /* A GET costs a round trip (tens of ms to a remote S3): a MiB each
     * (CORE_FILE_INLINE_MAX, what a download may hold anyway). */
    .chunk = 1u << 20,
    .open = s3_open,
    .read = s3_read,
    .close = s3_close,
    .stat = s3_stat,
    .put = s3_put,
    .put_file = s3_put_file,
    .get_file = s3_get_file,
    .remove = s3_remove,
    .remove_prefix = s3_remove_prefix,
    .list = s3_list,
    .path = NULL,
};
