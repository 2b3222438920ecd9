/* checkpoint.c -- see checkpoint.h. */
#include "store/checkpoint.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/alloc.h"
#include "base/log.h"
#include "store/fault.h"
#include "store/sqlite.h"

struct store_checkpointer {
    sqlite3 *writer; /* the writer's handle: its hook is ours until stop */
    sqlite3 *db;     /* the thread's own connection */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool is_wanted;   /* a commit passed STORE_CHECKPOINT_PAGES (under mu) */
    bool is_stopping; /* under mu */
    int asked_at;     /* the WAL's pages at the last ask (writer thread only) */
    atomic_uint failures_logged;
};

/* After each commit of the writer's connection, on the writer thread. */
static int on_wal(void *ctx, sqlite3 *db, const char *name, int pages)
{
    struct store_checkpointer *cp = ctx;
    if (pages >= STORE_CHECKPOINT_PAGES_MAX) {
        /* the thread is behind: bound the WAL as SQLite would have */
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (pages >= STORE_CHECKPOINT_PAGES &&
               (pages < cp->asked_at || pages - cp->asked_at >= STORE_CHECKPOINT_STEP)) {
        cp->asked_at = pages; /* smaller later: the WAL started over */
        pthread_mutex_lock(&cp->mu);
        cp->is_wanted = true;
        pthread_cond_signal(&cp->cond);
        pthread_mutex_unlock(&cp->mu);
    }
    return SQLITE_OK;
}

static void *run(void *arg)
{
    struct store_checkpointer *cp = arg;
    pthread_setname_np(pthread_self(), "tarmac-ckpt");
    pthread_mutex_lock(&cp->mu);
    for (;;) {
        while (!cp->is_wanted && !cp->is_stopping)
            pthread_cond_wait(&cp->cond, &cp->mu);
        if (cp->is_stopping)
            break;
        cp->is_wanted = false;
        pthread_mutex_unlock(&cp->mu);
        int wal = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &wal, &done);
        /* BUSY: another checkpoint held the lock; it does the work */
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && atomic_fetch_add(&cp->failures_logged, 1) < 5)
            log_warn("msg=\"WAL checkpoint failed\" error=\"%s\"", sqlite3_errmsg(cp->db));
        pthread_mutex_lock(&cp->mu);
    }
    pthread_mutex_unlock(&cp->mu);
    return NULL;
}

struct store_checkpointer *store_checkpointer_start(const char *path, struct store_conn *db)
{
    if (store_is_remote(db))
        return NULL;
    struct store_checkpointer *cp = xcalloc(1, sizeof(*cp));
    cp->writer = store_sqlite_handle(db);
    /* The writer's VFS, so a test's faults reach checkpoints as they did
     * inside the writer's commits. */
    if (sqlite3_open_v2(path, &cp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        store_fault_vfs_name()) != SQLITE_OK) {
        log_warn("msg=\"no checkpoint thread: checkpoints stay in the commits\" error=\"%s\"",
                 cp->db ? sqlite3_errmsg(cp->db) : "out of memory");
        sqlite3_close(cp->db);
        xfree(cp);
        return NULL;
    }
    /* A connection learns the database is in WAL mode by reading it: until
     * then a checkpoint is a no-op (-1 frames). */
    if (sqlite3_exec(cp->db, "PRAGMA journal_mode", NULL, NULL, NULL) != SQLITE_OK) {
        log_warn("msg=\"no checkpoint thread: checkpoints stay in the commits\" error=\"%s\"",
                 sqlite3_errmsg(cp->db));
        sqlite3_close(cp->db);
        xfree(cp);
        return NULL;
    }
    pthread_mutex_init(&cp->mu, NULL);
    pthread_cond_init(&cp->cond, NULL);
    if (pthread_create(&cp->thread, NULL, run, cp) != 0) {
        sqlite3_close(cp->db);
        pthread_cond_destroy(&cp->cond);
        pthread_mutex_destroy(&cp->mu);
        xfree(cp);
        return NULL;
    }
    sqlite3_wal_hook(cp->writer, on_wal, cp);
    return cp;
}

void store_checkpointer_stop(struct store_checkpointer *cp)
{
    if (!cp)
        return;
    /* SQLite's own checkpoint again for what the writer does until it closes */
    sqlite3_wal_autocheckpoint(cp->writer, STORE_CHECKPOINT_PAGES);
    pthread_mutex_lock(&cp->mu);
    cp->is_stopping = true;
    pthread_cond_signal(&cp->cond);
    pthread_mutex_unlock(&cp->mu);
    pthread_join(cp->thread, NULL);
    sqlite3_close(cp->db);
    pthread_cond_destroy(&cp->cond);
    pthread_mutex_destroy(&cp->mu);
    xfree(cp);
}
