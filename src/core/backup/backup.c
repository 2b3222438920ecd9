/* backup.c -- see backup.h. */
#include "core/backup/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "core/backup/archive.h"
#include "core/backup/backup_int.h"
#include "core/backup/restore.h"
#include "net/mailbox.h"
#include "net/s3.h"
#include "store/backup.h"
#include "store/store.h"

/* ---- the operation in use --------------------------------------------------- */

static enum rc begin(struct core_backups *b, const char *key)
{
    pthread_mutex_lock(&b->mu);
    enum rc rc = b->is_active ? RC_BUSY : RC_OK;
    if (!rc) {
        b->is_active = true;
        snprintf(b->active_key, sizeof(b->active_key), "%s", key);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static void end(struct core_backups *b)
{
    pthread_mutex_lock(&b->mu);
    b->is_active = false;
    b->active_key[0] = '\0';
    pthread_mutex_unlock(&b->mu);
}

bool core_backups_is_busy(struct core_backups *b)
{
    pthread_mutex_lock(&b->mu);
    bool busy = b->is_active;
    pthread_mutex_unlock(&b->mu);
    return busy;
}

/* ---- where archives are kept --------------------------------------------------- */

static void s3_cleanup(struct net_s3_config *c)
{
    xfree((char *)c->endpoint);
    xfree((char *)c->bucket);
    xfree((char *)c->region);
    xfree((char *)c->access_key);
    xfree((char *)c->secret);
    *c = (struct net_s3_config){0};
}

void core_backups_use_s3(struct core_backups *b, const struct net_s3_config *s3)
{
    pthread_mutex_lock(&b->mu);
    s3_cleanup(&b->s3);
    b->has_s3 = s3 != NULL;
    if (s3) {
        b->s3 = (struct net_s3_config){
            .endpoint = xstrdup(s3->endpoint ? s3->endpoint : ""),
            .bucket = xstrdup(s3->bucket ? s3->bucket : ""),
            .region = xstrdup(s3->region ? s3->region : ""),
            .access_key = xstrdup(s3->access_key ? s3->access_key : ""),
            .secret = xstrdup(s3->secret ? s3->secret : ""),
            .force_path_style = s3->force_path_style,
        };
    }
    pthread_mutex_unlock(&b->mu);
}

bool core_backups_is_s3(struct core_backups *b)
{
    pthread_mutex_lock(&b->mu);
    bool is = b->has_s3;
    pthread_mutex_unlock(&b->mu);
    return is;
}

/* The target in use now, for one operation (release it after). */
static struct core_backup_target open_target(struct core_backups *b)
{
    pthread_mutex_lock(&b->mu);
    struct core_backup_target t = {0};
    if (b->has_s3)
        t = core_backup_target_s3(&b->s3);
    pthread_mutex_unlock(&b->mu);
    if (t.ops)
        return t;
    char local[BACKUP_PATH_BYTES];
    if (!backup_path(local, "%s/%s", b->dir, BACKUP_LOCAL_DIR))
        local[0] = '\0';
    return core_backup_target_local(local);
}

static void close_target(struct core_backup_target *t)
{
    t->ops->release(t->ctx);
}

/* err gets "backups.s3: <S3's answer>" after an RC_UNAVAILABLE (short: a
 * client sees it in a message of 160 bytes). */
static void say_why(const struct core_backup_target *t, enum rc rc, char *err, size_t cap)
{
    if (rc == RC_UNAVAILABLE && cap)
        snprintf(err, cap, "backups.s3: %s", t->ops->why(t->ctx));
}

enum rc core_backups_list(struct core_backups *b, struct core_backup_entry **out, size_t *n,
                          char *err, size_t cap)
{
    if (cap)
        err[0] = '\0';
    struct core_backup_target t = open_target(b);
    enum rc rc = t.ops->list(t.ctx, out, n);
    say_why(&t, rc, err, cap);
    close_target(&t);
    return rc;
}

enum rc core_backups_delete(struct core_backups *b, const char *key)
{
    pthread_mutex_lock(&b->mu);
    bool in_use = b->is_active && strcmp(b->active_key, key) == 0;
    pthread_mutex_unlock(&b->mu);
    /* Or another instance's (PostgreSQL: the shared lock names it). */
    char holder[CORE_BACKUP_KEY_MAX + 1];
    if (!in_use && store_target_is_url(b->target_db) &&
        store_backup_lock_holder(b->target_db, holder, sizeof(holder)) == RC_OK)
        in_use = strcmp(holder, key) == 0;
    if (in_use)
        return RC_BUSY;
    struct core_backup_target t = open_target(b);
    enum rc rc = t.ops->remove(t.ctx, key);
    close_target(&t);
    return rc;
}

enum rc core_backups_local_path(struct core_backups *b, const char *key, char *out, size_t cap)
{
    char dir[BACKUP_PATH_BYTES];
    if (!backup_path(dir, "%s/%s", b->dir, BACKUP_LOCAL_DIR))
        return RC_INVALID;
    return core_backup_target_local_path(dir, key, out, cap);
}

static enum rc upload_to(struct core_backups *b, struct core_backup_target *t, const char *key,
                         const void *data, size_t len)
{
    struct core_backup_entry e;
    enum rc rc = t->ops->stat(t->ctx, key, &e);
    if (rc == RC_OK)
        return RC_CONFLICT;
    if (rc != RC_NOT_FOUND)
        return rc;
    /* A dot file beside the archives (same filesystem for the local
     * target's link), which no listing shows; an S3 target uploads it from
     * there (the directory is made when missing). */
    char path[BACKUP_PATH_BYTES];
    if (!backup_path(path, "%s/%s/.upload-%s", b->dir, BACKUP_LOCAL_DIR, key))
        return RC_IO;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT) {
        char dir[BACKUP_PATH_BYTES];
        if (backup_path(dir, "%s/%s", b->dir, BACKUP_LOCAL_DIR))
            (void)mkdir(dir, 0700);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (fd < 0)
        return errno == EEXIST ? RC_CONFLICT : RC_IO; /* the same name uploaded meanwhile */
    rc = RC_OK;
    const char *p = data;
    for (size_t off = 0; off < len && !rc;) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = RC_IO;
        else
            off += (size_t)w;
    }
    close(fd);
    if (!rc)
        rc = t->ops->put(t->ctx, key, path);
    if (rc)
        unlink(path);
    return rc;
}

enum rc core_backups_upload(struct core_backups *b, const char *key, const void *data, size_t len,
                            char *err, size_t cap)
{
    if (cap)
        err[0] = '\0';
    if (!core_backup_key_is_safe(str_from_cstr(key)))
        return RC_INVALID;
    struct core_backup_target t = open_target(b);
    enum rc rc = upload_to(b, &t, key, data, len);
    say_why(&t, rc, err, cap);
    close_target(&t);
    return rc;
}

/* ---- making a backup ------------------------------------------------------------ */

struct snap {
    const char *storage; /* <dir>/storage */
    const char *tree;    /* <tmp>/tree/storage */
    enum rc rc;
};

/* The second pass over the files, once the database's moment is fixed. */
static void link_again(void *ctx)
{
    struct snap *s = ctx;
    s->rc = backup_link_tree(s->storage, s->tree);
}

/* The paths of one backup's making. */
struct paths {
    char area[BACKUP_PATH_BYTES];     /* <dir>/.tarmac_backup_tmp: its lock */
    char tmp[BACKUP_PATH_BYTES];      /* area/work: removed after each backup */
    char tree[BACKUP_PATH_BYTES];     /* tmp/tree: what is zipped */
    char storage[BACKUP_PATH_BYTES];  /* <dir>/storage, or --storage-dir */
    char files[BACKUP_PATH_BYTES];    /* tree/storage */
    char db[BACKUP_PATH_BYTES];       /* tree/data.db or tree/data.sql */
    char aux[BACKUP_PATH_BYTES];      /* <dir>/auxiliary.db */
    char aux_copy[BACKUP_PATH_BYTES]; /* tree/auxiliary.db */
    char zip[BACKUP_PATH_BYTES];      /* tmp/archive.zip */
};

static bool paths_init(struct paths *p, const struct core_backups *b)
{
    return backup_path(p->area, "%s/%s", b->dir, BACKUP_TMP_DIR) &&
           backup_path(p->tmp, "%s/work", p->area) && backup_path(p->tree, "%s/tree", p->tmp) &&
           (b->storage_dir ? backup_path(p->storage, "%s", b->storage_dir)
                           : backup_path(p->storage, "%s/storage", b->dir)) &&
           backup_path(p->files, "%s/storage", p->tree) &&
           backup_path(p->db, "%s/%s", p->tree, store_snapshot_name(b->target_db)) &&
           backup_path(p->aux, "%s/auxiliary.db", b->dir) &&
           backup_path(p->aux_copy, "%s/auxiliary.db", p->tree) &&
           backup_path(p->zip, "%s/archive.zip", p->tmp);
}

static enum rc make_locked(struct core_backups *b, struct core_backup_target *t, const char *key,
                           const struct paths *p, char *err, size_t cap)
{
    enum rc rc = backup_remove_tree(p->tmp);
    if (!rc && (mkdir(p->tmp, 0700) != 0 || mkdir(p->tree, 0700) != 0))
        rc = RC_IO;
    if (rc) {
        snprintf(err, cap, "cannot make %s: %s", p->tmp, strerror(errno));
        return rc;
    }
    /* Files around the database's moment: once before, once after it. */
    struct snap s = {.storage = p->storage, .tree = p->files};
    rc = backup_link_tree(p->storage, p->files);
    if (rc)
        snprintf(err, cap, "cannot copy the stored files");
    if (!rc)
        rc = store_snapshot(b->target_db, p->db, link_again, &s, err, cap);
    if (!rc && s.rc) {
        snprintf(err, cap, "cannot copy the stored files");
        rc = s.rc;
    }
    if (!rc && backup_exists(p->aux)) {
        rc = store_snapshot(p->aux, p->aux_copy, NULL, NULL, err, cap);
        if (rc == RC_NOT_FOUND) /* removed meanwhile: no request log */
            rc = RC_OK;
    }
    if (!rc)
        rc = core_archive_write(p->zip, p->tree, err, cap);
    if (!rc) {
        rc = t->ops->put(t->ctx, key, p->zip);
        if (rc == RC_CONFLICT)
            snprintf(err, cap, "a backup named %s exists", key);
        else if (rc == RC_UNAVAILABLE)
            say_why(t, rc, err, cap);
        else if (rc)
            snprintf(err, cap, "cannot store the archive as %s", key);
    }
    if (backup_remove_tree(p->tmp) != RC_OK)
        log_warn("msg=\"a backup's temporary files were not removed\" dir=%s", p->tmp);
    return rc;
}

static enum rc make_archive(struct core_backups *b, struct core_backup_target *t, const char *key,
                            char *err, size_t cap)
{
    struct paths *p = xmalloc(sizeof(*p));
    char lock[BACKUP_PATH_BYTES];
    if (!paths_init(p, b) || !backup_path(lock, "%s/lock", p->area)) {
        xfree(p);
        snprintf(err, cap, "the data directory's path is too long");
        return RC_IO;
    }
    /* One backup at a time per directory, across processes (a CLI backup
     * beside a server): the lock is the kernel's, dropped if we die. */
    (void)mkdir(p->area, 0700);
    int lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    enum rc rc = RC_OK;
    if (lock_fd < 0) {
        snprintf(err, cap, "cannot use %s: %s", p->area, strerror(errno));
        rc = RC_IO;
    } else if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, cap, "another backup of this directory is under way");
        rc = RC_BUSY;
    } else {
        rc = make_locked(b, t, key, p, err, cap);
    }
    if (lock_fd >= 0)
        close(lock_fd);
    xfree(p);
    return rc;
}

/* On PostgreSQL, every instance serving the database takes part in the one
 * operation at a time (store_backup_lock_try): RC_BUSY when another
 * instance's runs. Nothing to take for SQLite (one instance per file). */
static enum rc shared_begin(struct core_backups *b, const char *key, struct store_backup_lock **out,
                            char *err, size_t cap)
{
    *out = NULL;
    if (!store_target_is_url(b->target_db))
        return RC_OK;
    enum rc rc = store_backup_lock_try(b->target_db, key, out, err, cap);
    if (rc == RC_BUSY)
        snprintf(err, cap, "another backup or restore is under way (another instance's)");
    else if (rc)
        log_error("msg=\"backup lock not taken\" name=%s error=\"%s\"", key, err);
    return rc;
}

static enum rc create_active(struct core_backups *b, const char *key, char *err, size_t cap)
{
    struct core_backup_target t = open_target(b);
    struct core_backup_entry e;
    enum rc rc = t.ops->stat(t.ctx, key, &e);
    if (rc == RC_OK) {
        snprintf(err, cap, "a backup named %s exists", key);
        close_target(&t);
        return RC_CONFLICT;
    }
    if (rc == RC_UNAVAILABLE) { /* S3 refuses us: nothing is made */
        say_why(&t, rc, err, cap);
        log_error("msg=\"backup failed\" name=%s rc=%s error=\"%s\"", key, rc_name(rc), err);
        close_target(&t);
        return rc;
    }
    int64_t start = chrono_real_ms();
    rc = make_archive(b, &t, key, err, cap);
    close_target(&t);
    if (rc)
        log_error("msg=\"backup failed\" name=%s rc=%s error=\"%s\"", key, rc_name(rc), err);
    else
        log_info("msg=\"backup created\" name=%s ms=%lld", key,
                 (long long)(chrono_real_ms() - start));
    return rc;
}

enum rc core_backups_create(struct core_backups *b, const char *key, char *err, size_t cap)
{
    if (cap)
        err[0] = '\0';
    if (!core_backup_key_is_safe(str_from_cstr(key))) {
        snprintf(err, cap, "not a valid backup name: %s", key);
        return RC_INVALID;
    }
    enum rc rc = begin(b, key);
    if (rc) {
        snprintf(err, cap, "another backup or restore is under way");
        return rc;
    }
    struct store_backup_lock *shared = NULL;
    rc = shared_begin(b, key, &shared, err, cap);
    if (!rc)
        rc = create_active(b, key, err, cap);
    store_backup_lock_release(shared);
    end(b);
    return rc;
}

/* ---- asynchronous operations ---------------------------------------------------- */

struct op {
    struct core_backups *b;
    bool is_restore;
    char key[CORE_BACKUP_KEY_MAX + 1];
    struct net_mailbox *mb;
    core_backup_done_fn *done;
    void *ctx;
    enum rc rc;
    char message[512];
};

static void op_answer(void *arg)
{
    struct op *o = arg;
    o->done(o->rc, o->message, o->ctx);
    xfree(o);
}

static enum rc stage_active(struct core_backups *b, const char *key, char *err, size_t cap)
{
    char area[BACKUP_PATH_BYTES], tmp[BACKUP_PATH_BYTES], path[BACKUP_PATH_BYTES];
    if (!backup_path(area, "%s/%s", b->dir, BACKUP_TMP_DIR) ||
        !backup_path(tmp, "%s/fetched.zip", area))
        return RC_IO;
    (void)mkdir(area, 0700); /* a remote target copies the archive there */
    struct core_backup_target t = open_target(b);
    enum rc rc = t.ops->fetch(t.ctx, key, tmp, path, sizeof(path));
    if (rc == RC_UNAVAILABLE)
        say_why(&t, rc, err, cap);
    close_target(&t);
    if (rc == RC_UNAVAILABLE) {
        log_warn("msg=\"restore refused\" name=%s error=\"%s\"", key, err);
        return rc;
    }
    if (rc) {
        snprintf(err, cap, "Missing or invalid backup file.");
        return rc == RC_INVALID ? RC_NOT_FOUND : rc;
    }
    rc = core_restore_stage(b->dir, b->target_db, b->storage_dir, path, err, cap);
    if (strcmp(path, tmp) == 0)
        unlink(tmp);
    if (rc)
        log_warn("msg=\"restore refused\" name=%s error=\"%s\"", key, err);
    else
        log_info("msg=\"restore staged\" name=%s", key);
    return rc;
}

static void *op_main(void *arg)
{
    struct op *o = arg;
    backup_lower_priority();
    o->message[0] = '\0';
    struct store_backup_lock *shared = NULL;
    o->rc = shared_begin(o->b, o->key, &shared, o->message, sizeof(o->message));
    if (o->is_restore) {
        if (!o->rc)
            o->rc = stage_active(o->b, o->key, o->message, sizeof(o->message));
        /* The shared lock ends with the staging: the restart that commits
         * the restore follows at once (and a new process could not keep
         * this connection). */
        store_backup_lock_release(shared);
        if (o->rc) /* a staged restore keeps the operation until the restart */
            end(o->b);
    } else {
        if (!o->rc)
            o->rc = create_active(o->b, o->key, o->message, sizeof(o->message));
        store_backup_lock_release(shared);
        end(o->b);
    }
    net_mailbox_post(o->mb, op_answer, o);
    return NULL;
}

static enum rc start_op(struct core_backups *b, bool is_restore, const char *key,
                        struct net_mailbox *mb, core_backup_done_fn *done, void *ctx)
{
    enum rc rc = begin(b, key);
    if (rc)
        return rc;
    /* The previous operation's thread has ended (it ended its operation
     * before answering); reap it. */
    pthread_mutex_lock(&b->mu);
    bool has = b->has_op_thread;
    pthread_t prev = b->op_thread;
    b->has_op_thread = false;
    pthread_mutex_unlock(&b->mu);
    if (has)
        pthread_join(prev, NULL);
    struct op *o = xcalloc(1, sizeof(*o));
    o->b = b;
    o->is_restore = is_restore;
    snprintf(o->key, sizeof(o->key), "%s", key);
    o->mb = mb;
    o->done = done;
    o->ctx = ctx;
    pthread_t t;
    if (pthread_create(&t, NULL, op_main, o) != 0) {
        xfree(o);
        end(b);
        return RC_IO;
    }
    pthread_mutex_lock(&b->mu);
    b->op_thread = t;
    b->has_op_thread = true;
    pthread_mutex_unlock(&b->mu);
    return RC_OK;
}

enum rc core_backups_create_start(struct core_backups *b, const char *key, const char *app_name,
                                  struct net_mailbox *mb, core_backup_done_fn *done, void *ctx)
{
    char name[CORE_BACKUP_KEY_MAX + 1];
    if (key && key[0])
        snprintf(name, sizeof(name), "%s", key);
    else
        core_backup_auto_name(CORE_BACKUP_PREFIX, app_name, chrono_real_ms(), name);
    return start_op(b, false, name, mb, done, ctx);
}

enum rc core_backups_restore_start(struct core_backups *b, const char *key, struct net_mailbox *mb,
                                   core_backup_done_fn *done, void *ctx)
{
    return start_op(b, true, key, mb, done, ctx);
}

enum rc core_backups_restore_stage(struct core_backups *b, const char *key, char *err, size_t cap)
{
    if (cap)
        err[0] = '\0';
    enum rc rc = begin(b, key);
    if (rc) {
        snprintf(err, cap, "another backup or restore is under way");
        return rc;
    }
    rc = stage_active(b, key, err, cap);
    end(b);
    return rc;
}

void core_backups_on_restart(struct core_backups *b, void (*fn)(void *ctx), void *ctx)
{
    b->on_restart = fn;
    b->restart_ctx = ctx;
}

void core_backups_restart(struct core_backups *b)
{
    if (b->on_restart) {
        b->on_restart(b->restart_ctx);
        return;
    }
    log_warn("msg=\"no restart to apply the staged restore: dropped\"");
    core_restore_discard(b->dir);
    end(b);
}

/* ---- life ------------------------------------------------------------------------------ */

struct core_backups *core_backups_new(const char *dir, const char *target)
{
    struct core_backups *b = xcalloc(1, sizeof(*b));
    b->dir = xstrdup(dir);
    b->target_db = xstrdup(target);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cron_cv, NULL);
    return b;
}

void core_backups_set_storage_dir(struct core_backups *b, const char *dir)
{
    xfree(b->storage_dir);
    b->storage_dir = dir ? xstrdup(dir) : NULL;
}

void core_backups_free(struct core_backups *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->is_stopping = true;
    pthread_cond_signal(&b->cron_cv);
    bool has = b->has_op_thread;
    bool has_cron = b->has_cron_thread;
    pthread_mutex_unlock(&b->mu);
    if (has_cron)
        pthread_join(b->cron_thread, NULL);
    if (has)
        pthread_join(b->op_thread, NULL);
    s3_cleanup(&b->s3);
    pthread_cond_destroy(&b->cron_cv);
    pthread_mutex_destroy(&b->mu);
    xfree(b->target_db);
    xfree(b->dir);
    xfree(b->storage_dir);
    xfree(b);
}
