/* writer.c -- see writer.h. */
#include "store/writer.h"

#include <stdbool.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/log.h"
#include "net/mailbox.h"

/* A group larger than this is split: a huge transaction delays every
 * acknowledgement in it. */
#define WRITER_MAX_GROUP 512

struct job {
    struct job *next;
    store_write_apply_fn *apply;
    store_write_after_fn *after;
    store_write_done_fn *done;
    void *ctx;
    struct net_mailbox *reply_to;
    enum rc rc;
};

struct store_writer {
    struct store_sqlite *db;
    uv_thread_t thread;
    uv_mutex_t lock;
    uv_cond_t cond;
    struct job *head;
    struct job *tail;
    bool is_stopping;
};

static void deliver(void *arg)
{
    struct job *j = arg;
    j->done(j->rc, j->ctx);
    xfree(j);
}

static void run_group(struct store_writer *w, struct job *first)
{
    bool in_tx = store_sqlite_exec(w->db, "BEGIN IMMEDIATE") == RC_OK;
    for (struct job *j = first; j; j = j->next) {
        if (!in_tx) {
            j->rc = RC_IO;
            continue;
        }
        if (store_sqlite_exec(w->db, "SAVEPOINT job") != RC_OK) {
            j->rc = RC_IO;
            continue;
        }
        j->rc = j->apply(w->db, j->ctx);
        if (j->rc != RC_OK)
            (void)store_sqlite_exec(w->db, "ROLLBACK TO job");
        (void)store_sqlite_exec(w->db, "RELEASE job");
    }
    if (in_tx && store_sqlite_exec(w->db, "COMMIT") != RC_OK) {
        (void)store_sqlite_exec(w->db, "ROLLBACK");
        for (struct job *j = first; j; j = j->next)
            j->rc = RC_IO; /* nothing of the group is durable */
    }
    for (struct job *a = first; a; a = a->next) {
        if (a->after)
            a->after(a->rc, a->ctx);
    }
    struct job *j = first;
    while (j) {
        struct job *next = j->next;
        j->next = NULL;
        if (j->reply_to) {
            net_mailbox_post(j->reply_to, deliver, j);
        } else {
            deliver(j);
        }
        j = next;
    }
}

static void run(void *arg)
{
    struct store_writer *w = arg;
    uv_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->is_stopping)
            uv_cond_wait(&w->cond, &w->lock);
        if (!w->head)
            break; /* stopping, queue empty */
        struct job *first = w->head;
        struct job *last = first;
        size_t n = 1;
        while (last->next && n < WRITER_MAX_GROUP) {
            last = last->next;
            n++;
        }
        w->head = last->next;
        if (!w->head)
            w->tail = NULL;
        last->next = NULL;
        uv_mutex_unlock(&w->lock);
        run_group(w, first);
        uv_mutex_lock(&w->lock);
    }
    uv_mutex_unlock(&w->lock);
}

enum rc store_writer_start(const char *path, struct store_writer **out)
{
    struct store_sqlite *db;
    enum rc rc = store_sqlite_open(path, STORE_SQLITE_WRITE, &db);
    if (rc)
        return rc;
    struct store_writer *w = xcalloc(1, sizeof(*w));
    w->db = db;
    uv_mutex_init(&w->lock);
    uv_cond_init(&w->cond);
    if (uv_thread_create(&w->thread, run, w) != 0) {
        store_sqlite_close(db);
        uv_cond_destroy(&w->cond);
        uv_mutex_destroy(&w->lock);
        xfree(w);
        return RC_INTERNAL;
    }
    *out = w;
    return RC_OK;
}

void store_writer_submit(struct store_writer *w, struct net_mailbox *reply_to,
                         store_write_apply_fn *apply, store_write_done_fn *done, void *ctx)
{
    store_writer_submit_after(w, reply_to, apply, NULL, done, ctx);
}

void store_writer_submit_after(struct store_writer *w, struct net_mailbox *reply_to,
                               store_write_apply_fn *apply, store_write_after_fn *after,
                               store_write_done_fn *done, void *ctx)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->apply = apply;
    j->after = after;
    j->done = done;
    j->ctx = ctx;
    j->reply_to = reply_to;
    uv_mutex_lock(&w->lock);
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    uv_cond_signal(&w->cond);
    uv_mutex_unlock(&w->lock);
}

/* store_writer_run's job: the caller's apply and ctx, and what to wake. */
struct waiter {
    store_write_apply_fn *apply;
    void *ctx;
    uv_mutex_t lock;
    uv_cond_t cond;
    bool is_done;
    enum rc rc;
};

static enum rc apply_for_waiter(struct store_sqlite *db, void *ctx)
{
    struct waiter *wt = ctx;
    return wt->apply(db, wt->ctx);
}

static void wake(enum rc rc, void *ctx)
{
    struct waiter *wt = ctx;
    uv_mutex_lock(&wt->lock);
    wt->rc = rc;
    wt->is_done = true;
    uv_cond_signal(&wt->cond);
    uv_mutex_unlock(&wt->lock);
}

enum rc store_writer_run(struct store_writer *w, store_write_apply_fn *apply, void *ctx)
{
    struct waiter wt = {.apply = apply, .ctx = ctx, .is_done = false};
    uv_mutex_init(&wt.lock);
    uv_cond_init(&wt.cond);
    store_writer_submit(w, NULL, apply_for_waiter, wake, &wt);
    uv_mutex_lock(&wt.lock);
    while (!wt.is_done)
        uv_cond_wait(&wt.cond, &wt.lock);
    uv_mutex_unlock(&wt.lock);
    uv_cond_destroy(&wt.cond);
    uv_mutex_destroy(&wt.lock);
    return wt.rc;
}

void store_writer_stop(struct store_writer *w)
{
    if (!w)
        return;
    uv_mutex_lock(&w->lock);
    w->is_stopping = true;
    uv_cond_signal(&w->cond);
    uv_mutex_unlock(&w->lock);
    uv_thread_join(&w->thread);
    store_sqlite_close(w->db);
    uv_cond_destroy(&w->cond);
    uv_mutex_destroy(&w->lock);
    xfree(w);
}
