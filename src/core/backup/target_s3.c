/* target_s3.c -- see target.h: the bucket of the settings' backups.s3.
 *
 * Key K is object K at the bucket's root, as PocketBase's backups
 * filesystem keeps them (fsys.List("") over the whole bucket): a listing
 * shows every object whose key is a safe backup key, so objects under a
 * "folder/" of the same bucket are never listed. Each failure of S3 is
 * RC_UNAVAILABLE with S3's one-line answer kept for why() and logged. */
#include "core/backup/target.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "net/s3.h"

struct s3 {
    struct net_s3_config cfg; /* owned copies */
    char why[600];
};

/* S3's answer as the target's result: RC_NOT_FOUND stays, anything else is
 * RC_UNAVAILABLE with why set (and logged). */
static enum rc s3_result(struct s3 *t, enum rc rc, const struct net_s3_error *err)
{
    if (!rc || rc == RC_NOT_FOUND)
        return rc;
    snprintf(t->why, sizeof(t->why), "%s", err->message[0] ? err->message : rc_text(rc));
    /* A HEAD's answer has no body, so no S3 error code says why. */
    size_t n = strlen(t->why);
    if (err->status == 403 && n > 5 && strcmp(t->why + n - 5, ": 403") == 0)
        snprintf(t->why + n, sizeof(t->why) - n, " Forbidden (wrong access key or secret?)");
    log_warn("msg=\"backups S3 request failed\" rc=%s status=%ld error=\"%s\"", rc_name(rc),
             err->status, t->why);
    return RC_UNAVAILABLE;
}

static void fill_entry(struct core_backup_entry *e, const char *key, uint64_t size, int64_t mtime)
{
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->size = (int64_t)size;
    e->mtime_ms = mtime * 1000;
}

struct listing {
    struct core_backup_entry *all;
    size_t n, cap;
};

static enum rc list_one(void *ctx, struct str key, uint64_t size, int64_t mtime)
{
    struct listing *l = ctx;
    if (!core_backup_key_is_safe(key))
        return RC_OK; /* another use of the bucket (a "folder/..." key) */
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->all = xrealloc(l->all, l->cap * sizeof(*l->all));
    }
    struct core_backup_entry *e = &l->all[l->n++];
    memcpy(e->key, key.ptr, key.len); /* safe: at most CORE_BACKUP_KEY_MAX bytes */
    e->key[key.len] = '\0';
    e->size = (int64_t)size;
    e->mtime_ms = mtime * 1000;
    return RC_OK;
}

static enum rc s3_list(void *ctx, struct core_backup_entry **out, size_t *n)
{
    struct s3 *t = ctx;
    struct listing l = {0};
    struct net_s3_error err;
    enum rc rc = net_s3_list(&t->cfg, "", list_one, &l, &err);
    rc = s3_result(t, rc == RC_NOT_FOUND ? RC_IO : rc, &err); /* 404: no such bucket */
    if (rc) {
        xfree(l.all);
        l = (struct listing){0};
    }
    *out = l.all;
    *n = l.n;
    return rc;
}

static enum rc s3_stat(void *ctx, const char *key, struct core_backup_entry *out)
{
    struct s3 *t = ctx;
    if (!core_backup_key_is_safe(str_from_cstr(key)))
        return RC_INVALID;
    struct net_s3_object o;
    struct net_s3_error err;
    enum rc rc = s3_result(t, net_s3_head(&t->cfg, key, &o, &err), &err);
    if (!rc)
        fill_entry(out, key, o.size, o.mtime);
    return rc;
}

static enum rc s3_put(void *ctx, const char *key, const char *path)
{
    struct s3 *t = ctx;
    struct core_backup_entry e;
    /* S3 replaces an object silently: the name is looked up first (a put
     * of the same name by another process in between would still win). */
    enum rc rc = s3_stat(ctx, key, &e);
    if (!rc)
        return RC_CONFLICT;
    if (rc != RC_NOT_FOUND)
        return rc;
    struct net_s3_error err;
    rc = net_s3_put_file(&t->cfg, key, path, "application/zip", &err);
    rc = s3_result(t, rc == RC_NOT_FOUND ? RC_IO : rc, &err); /* 404: no such bucket */
    if (!rc)
        unlink(path);
    return rc;
}

static enum rc s3_fetch(void *ctx, const char *key, const char *tmp_path, char *out, size_t cap)
{
    struct s3 *t = ctx;
    if (!core_backup_key_is_safe(str_from_cstr(key)))
        return RC_INVALID;
    if (snprintf(out, cap, "%s", tmp_path) >= (int)cap)
        return RC_INVALID;
    (void)unlink(tmp_path); /* a copy an earlier crash left */
    struct net_s3_error err;
    return s3_result(t, net_s3_get_file(&t->cfg, key, tmp_path, NULL, &err), &err);
}

static enum rc s3_remove(void *ctx, const char *key)
{
    struct s3 *t = ctx;
    struct core_backup_entry e;
    enum rc rc = s3_stat(ctx, key, &e); /* S3 answers 204 for a missing key too */
    if (rc)
        return rc;
    struct net_s3_error err;
    return s3_result(t, net_s3_delete(&t->cfg, key, &err), &err);
}

static const char *s3_why(void *ctx)
{
    return ((struct s3 *)ctx)->why;
}

static void s3_free(void *ctx)
{
    struct s3 *t = ctx;
    if (!t)
        return;
    xfree((char *)t->cfg.endpoint);
    xfree((char *)t->cfg.bucket);
    xfree((char *)t->cfg.region);
    xfree((char *)t->cfg.access_key);
    xfree((char *)t->cfg.secret);
    xfree(t);
}

static const struct core_backup_target_ops s3_ops = {
    .list = s3_list,
    .stat = s3_stat,
    .put = s3_put,
    .fetch = s3_fetch,
    .remove = s3_remove,
    .why = s3_why,
    .release = s3_free,
};

static char *dup_or_empty(const char *s)
{
    return xstrdup(s ? s : "");
}

struct core_backup_target core_backup_target_s3(const struct net_s3_config *cfg)
{
    struct s3 *t = xcalloc(1, sizeof(*t));
    t->cfg = (struct net_s3_config){
        .endpoint = dup_or_empty(cfg->endpoint),
        .bucket = dup_or_empty(cfg->bucket),
        .region = dup_or_empty(cfg->region),
        .access_key = dup_or_empty(cfg->access_key),
        .secret = dup_or_empty(cfg->secret),
        .force_path_style = cfg->force_path_style,
    };
    return (struct core_backup_target){.ops = &s3_ops, .ctx = t};
}
