/* writer.h -- the single writer thread: queue, group commit, replies by mailbox
 * (layer: store).
 *
 * SQLite has one writer. Every write of the process goes through this thread:
 * workers queue a job and return to their loop; the thread takes everything
 * queued, runs each job inside one transaction (each in its own savepoint, so
 * one failing job does not undo the others), commits once (one fsync for the
 * whole group), and only then posts each job's result back to the loop that
 * asked. An acknowledged write is therefore durable. Under load the thread
 * waits a moment for more writes before it takes a group (at most 2 ms):
 * fewer, larger commits.
 *
 * After an I/O error SQLite may roll the whole transaction back by itself.
 * The writer checks every savepoint statement and the autocommit state after
 * each job; when the transaction broke, the job it broke under fails with
 * RC_IO and the group's other jobs that had succeeded run again in a fresh
 * transaction (with those not yet run), so no answer claims a change that a
 * rollback took away. On PostgreSQL a session that broke (the server
 * restarted, the backend was terminated) loses the transaction the same way;
 * the answer is then RC_UNAVAILABLE (a 503: try again) instead of RC_IO. */
#ifndef TARMAC_STORE_WRITER_H
#define TARMAC_STORE_WRITER_H

#include "base/metrics.h"
#include "base/rc.h"
#include "store/store.h"

struct net_mailbox;
struct store_writer;

/* Runs on the writer thread inside the group's transaction. A non-OK return
 * rolls back this job's changes only. It may run more than once for the same
 * job (see above): it must start from its inputs and replace, never add to,
 * what an earlier run left in ctx. */
typedef enum rc store_write_apply_fn(struct store_conn *db, void *ctx);
/* Runs after the transaction committed (rc = what apply returned) or failed
 * (rc = RC_IO for every job, RC_UNAVAILABLE when the database was): on the
 * loop of reply_to, or on the writer thread when reply_to is NULL. */
typedef void store_write_done_fn(enum rc rc, void *ctx);

/* Opens the write connection to path and starts the thread. RC_IO when the
 * database cannot be opened. */
enum rc store_writer_start(const char *path, struct store_writer **out);
/* Runs on the writer thread right after the group's commit (or its failure),
 * before done is posted: for state that must change in commit order (the
 * schema snapshot). */
typedef void store_write_after_fn(enum rc rc, void *ctx);

/* Queues a job; any thread. ctx is borrowed until done runs. */
void store_writer_submit(struct store_writer *w, struct net_mailbox *reply_to,
                         store_write_apply_fn *apply, store_write_done_fn *done, void *ctx);
/* As store_writer_submit, with an after-commit step on the writer thread. */
void store_writer_submit_after(struct store_writer *w, struct net_mailbox *reply_to,
                               store_write_apply_fn *apply, store_write_after_fn *after,
                               store_write_done_fn *done, void *ctx);
/* Queues a job and waits for its commit; for threads that are not loops
 * (start-up, the CLI). Returns what apply returned, or RC_IO (RC_UNAVAILABLE)
 * if the commit failed. */
enum rc store_writer_run(struct store_writer *w, store_write_apply_fn *apply, void *ctx);
/* How long the writer gathers writes under load before it takes the next
 * group (writer.c: at most max_us, until none came for step_us; 0 max_us:
 * never). The defaults suit a server; tests set them. */
void store_writer_set_gather(struct store_writer *w, uint64_t max_us, uint64_t step_us);
/* Runs what is queued, stops the thread, closes the connection; accepts NULL. */
void store_writer_stop(struct store_writer *w);

/* What /api/metrics reports of the writer. */
struct store_writer_stats {
    size_t queued;               /* jobs waiting for the writer now */
    uint64_t commits;            /* transactions committed */
    uint64_t jobs_done;          /* jobs answered (committed or failed) */
    struct metrics_hist tx_time; /* per committed group: BEGIN to COMMIT, fsync included */
};
/* Fills *out; any thread (takes the queue's lock briefly). */
void store_writer_stats(struct store_writer *w, struct store_writer_stats *out);

#endif
