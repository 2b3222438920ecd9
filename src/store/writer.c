/* writer.c -- see writer.h. */
#include "store/writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "net/mailbox.h"
#include "store/checkpoint.h"

/* A group larger than this is split: a huge transaction delays every
 * acknowledgement in it. */
#define WRITER_MAX_GROUP 512
/* Under load (the group before was more than one job) the writer waits
 * while writes keep arriving, up to WRITER_GATHER_MAX_US, until none came
 * for WRITER_GATHER_STEP_US. The job benchmark (bench/jobs.sh, a create and
 * a delivery's claim and outcome per job): 12-20 % less CPU per job with
 * 2 ms / 0.5 ms than without, the drain's jobs/s the same, p99 at 1,000
 * jobs/s 5-11 ms; 4 ms / 1 ms saved no more and lowered the drain's rate. */
#define WRITER_GATHER_MAX_US 2000
#define WRITER_GATHER_STEP_US 500
/* Runs of a job that met a serialization failure or deadlock, past its first. */
#define WRITER_BUSY_RETRIES 3

struct job {
    struct job *next;
    store_write_apply_fn *apply;
    store_write_after_fn *after;
    store_write_done_fn *done;
    void *ctx;
    struct net_mailbox *reply_to;
    enum rc rc;
    bool is_done; /* answered: committed, or failed for good */
};

struct store_writer {
    struct store_conn *db;
    struct store_checkpointer *checkpointer; /* NULL: SQLite's own, or none (PostgreSQL) */
    uv_thread_t thread;
    uv_mutex_t lock;
    uv_cond_t cond;
    struct job *head;
    struct job *tail;
    bool is_stopping;
    bool is_gathering;           /* in gather(): an arrival need not wake the thread */
    size_t last_group;           /* the size of the group before (writer thread) */
    uint64_t gather_max_us;      /* gather()'s bound; 0: groups are taken at once */
    uint64_t gather_step_us;     /* how long gather() waits for one more arrival */
    size_t queued;               /* jobs waiting, under lock */
    uint64_t commits;            /* transactions committed (writer thread; base/metrics.h) */
    uint64_t jobs_done;          /* jobs answered */
    struct metrics_hist tx_time; /* BEGIN to COMMIT of each group */
};

static void deliver(void *arg)
{
    struct job *j = arg;
    j->done(j->rc, j->ctx);
    xfree(j);
}

static bool tx_is_open(struct store_conn *db)
{
    return store_in_transaction(db);
}

/* What a job answers when its transaction broke or never opened: the
 * database was unavailable (a PostgreSQL server that went away: 503, try
 * again), else an I/O failure. Nothing of the transaction is durable either
 * way. */
static enum rc broke_rc(enum rc why)
{
    return why == RC_UNAVAILABLE ? RC_UNAVAILABLE : RC_IO;
}

/* Runs j in a savepoint of the open transaction. Not RC_OK (broke_rc) when
 * the transaction did not survive it: after an I/O error (or a full disk, or
 * no memory) SQLite may roll the whole transaction back by itself, and then
 * the savepoint statements fail and the connection is back in autocommit,
 * where a next "SAVEPOINT job" would silently start a transaction of its
 * own; a PostgreSQL session that broke lost the transaction. */
static enum rc run_job(struct store_conn *db, struct job *j, bool is_first)
{
    /* Over a socket (PostgreSQL) each statement is a round trip: the
     * previous job's RELEASE and this job's SAVEPOINT go with the job's
     * first statement (store_exec_later), and the last one's RELEASE with
     * COMMIT (which releases it): two round trips per job fewer. A failed
     * SAVEPOINT then fails that statement, and the checks below see the
     * transaction gone. */
    bool is_remote = store_is_remote(db);
    enum rc rc = is_remote && !is_first ? store_exec_later(db, "RELEASE job") : RC_OK;
    if (!rc)
        rc = store_exec_later(db, "SAVEPOINT job");
    if (rc)
        return broke_rc(rc);
    j->rc = j->apply(db, j->ctx);
    /* A serialization failure or deadlock (PostgreSQL, with the job runners
     * writing beside the writer) is the engine's to resolve: the job runs
     * again from its savepoint, a few times, before it answers busy. */
    for (int again = 0; j->rc == RC_BUSY && again < WRITER_BUSY_RETRIES; again++) {
        if ((rc = store_exec(db, "ROLLBACK TO job")) != RC_OK)
            return broke_rc(rc);
        j->rc = j->apply(db, j->ctx);
    }
    if (j->rc != RC_OK && (rc = store_exec(db, "ROLLBACK TO job")) != RC_OK)
        return broke_rc(j->rc == RC_UNAVAILABLE ? j->rc : rc);
    if (!is_remote && (rc = store_exec(db, "RELEASE job")) != RC_OK)
        return broke_rc(rc);
    return tx_is_open(db) ? RC_OK : RC_IO;
}

/* Runs the group's jobs not yet done in one transaction. A job that fails
 * rolls back its own savepoint and is done with its answer (it wrote
 * nothing). Returns true when every job is done: committed, or all failed
 * with RC_IO (RC_UNAVAILABLE when the database was) when BEGIN or COMMIT
 * failed. Returns false when the transaction broke under a job: that job is
 * done with RC_IO (or RC_UNAVAILABLE), and the jobs that had succeeded
 * before it (their changes went with the transaction) stay to be run again,
 * with the ones after it, by the next call. */
static bool run_tx(struct store_writer *w, struct job **jobs, size_t n)
{
    if (tx_is_open(w->db)) {
        log_error("msg=\"writer found a transaction open; rolling it back\"");
        (void)store_exec(w->db, "ROLLBACK");
    }
    uint64_t start_ns = chrono_mono_ns();
    enum rc failed = store_begin_write(w->db);
    bool is_first = true;
    for (size_t i = 0; i < n && !failed; i++) {
        struct job *j = jobs[i];
        if (j->is_done)
            continue;
        enum rc broke = run_job(w->db, j, is_first);
        is_first = false;
        if (broke) {
            j->rc = broke;
            j->is_done = true;
            if (tx_is_open(w->db))
                (void)store_exec(w->db, "ROLLBACK");
            log_warn("msg=\"write transaction broke; running the group's other jobs again\"");
            return false;
        }
        if (j->rc != RC_OK)
            j->is_done = true;
    }
    if (!failed && (failed = store_exec(w->db, "COMMIT")) != RC_OK) {
        if (tx_is_open(w->db))
            (void)store_exec(w->db, "ROLLBACK");
    }
    if (!failed) {
        metrics_add(&w->commits, 1);
        metrics_hist_observe(&w->tx_time, (chrono_mono_ns() - start_ns) / 1000);
    }
    for (size_t i = 0; i < n; i++) {
        if (jobs[i]->is_done)
            continue;
        if (failed)
            jobs[i]->rc = broke_rc(failed); /* nothing of the transaction is durable */
        jobs[i]->is_done = true;
    }
    return true;
}

/* Runs the group. Every answer comes from the transaction that committed
 * (or from the job's own failure): no job is acknowledged whose changes a
 * broken transaction took away. After a break the jobs that did not cause it
 * run again together in a fresh transaction; each break ends one job, so
 * this ends, and a rare fault costs the group one more transaction rather
 * than failing writes that had nothing to do with it. */
static void run_group(struct store_writer *w, struct job *first)
{
    struct job *jobs[WRITER_MAX_GROUP];
    size_t n = 0;
    for (struct job *j = first; j; j = j->next)
        jobs[n++] = j;
    bool is_finished;
    do {
        is_finished = run_tx(w, jobs, n);
    } while (!is_finished);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i]->after)
            jobs[i]->after(jobs[i]->rc, jobs[i]->ctx);
    }
    metrics_add(&w->jobs_done, n);
    for (size_t i = 0; i < n; i++) {
        struct job *j = jobs[i];
        j->next = NULL;
        if (j->reply_to) {
            net_mailbox_post(j->reply_to, deliver, j);
        } else {
            deliver(j);
        }
    }
}

/* Under lock: when the last group was more than one job (writes arrive
 * faster than they commit), waits while more keep arriving, a step at a
 * time, up to a bound, before taking the next group: fewer, larger commits
 * (PostgreSQL's commit_delay, adaptive). A write that comes alone is not
 * held. */
static void gather(struct store_writer *w)
{
    uint64_t gather_max_ns = w->gather_max_us * 1000, gather_step_ns = w->gather_step_us * 1000;
    if (!gather_max_ns || w->last_group < 2)
        return;
    uint64_t start = chrono_mono_ns(), step_end = start + gather_step_ns;
    size_t seen = w->queued;
    w->is_gathering = true;
    while (!w->is_stopping && w->queued < WRITER_MAX_GROUP) {
        uint64_t now = chrono_mono_ns();
        if (now >= start + gather_max_ns)
            break;
        if (now >= step_end) {
            if (w->queued == seen)
                break;
            seen = w->queued;
            step_end = now + gather_step_ns;
        }
        uint64_t until = step_end < start + gather_max_ns ? step_end : start + gather_max_ns;
        (void)uv_cond_timedwait(&w->cond, &w->lock, until - now);
    }
    w->is_gathering = false;
}

static void run(void *arg)
{
    struct store_writer *w = arg;
    pthread_setname_np(pthread_self(), "tarmac-writer");
    uv_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->is_stopping)
            uv_cond_wait(&w->cond, &w->lock);
        if (!w->head)
            break; /* stopping, queue empty */
        gather(w);
        struct job *first = w->head;
        struct job *last = first;
        size_t n = 1;
        while (last->next && n < WRITER_MAX_GROUP) {
            last = last->next;
            n++;
        }
        w->head = last->next;
        w->queued -= n;
        if (!w->head)
            w->tail = NULL;
        last->next = NULL;
        w->last_group = n;
        uv_mutex_unlock(&w->lock);
        run_group(w, first);
        uv_mutex_lock(&w->lock);
    }
    uv_mutex_unlock(&w->lock);
}

enum rc store_writer_start(const char *path, struct store_writer **out)
{
    struct store_conn *db;
    enum rc rc = store_open(path, STORE_OPEN_WRITE, &db);
    if (rc)
        return rc;
    struct store_writer *w = xcalloc(1, sizeof(*w));
    w->db = db;
    w->gather_max_us = WRITER_GATHER_MAX_US;
    w->gather_step_us = WRITER_GATHER_STEP_US;
    w->checkpointer = store_checkpointer_start(path, db);
    uv_mutex_init(&w->lock);
    uv_cond_init(&w->cond);
    if (uv_thread_create(&w->thread, run, w) != 0) {
        store_checkpointer_stop(w->checkpointer);
        store_close(db);
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
    w->queued++;
    if (!w->is_gathering || w->queued >= WRITER_MAX_GROUP)
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

static enum rc apply_for_waiter(struct store_conn *db, void *ctx)
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

void store_writer_set_gather(struct store_writer *w, uint64_t max_us, uint64_t step_us)
{
    uv_mutex_lock(&w->lock);
    w->gather_max_us = max_us;
    w->gather_step_us = step_us ? step_us : 1;
    uv_mutex_unlock(&w->lock);
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
    store_checkpointer_stop(w->checkpointer);
    store_close(w->db);
    uv_cond_destroy(&w->cond);
    uv_mutex_destroy(&w->lock);
    xfree(w);
}

void store_writer_stats(struct store_writer *w, struct store_writer_stats *out)
{
    memset(out, 0, sizeof(*out));
    uv_mutex_lock(&w->lock);
    out->queued = w->queued;
    uv_mutex_unlock(&w->lock);
    out->commits = metrics_read(&w->commits);
    out->jobs_done = metrics_read(&w->jobs_done);
    metrics_hist_sum(&out->tx_time, &w->tx_time);
}
