/* task.h -- a worker's requests as tasks that wait for PostgreSQL without
 * blocking the loop (layer: core).
 *
 * On a remote engine (store_is_remote) every request and every deferred
 * step runs as a task: a coroutine (base/coro.h) holding one connection of
 * the worker's small pool. When a statement waits for the server, the task
 * yields to the loop, which goes on serving others; the socket's readiness
 * (a uv_poll on the connection) resumes it. While a task runs, the worker's
 * db (and its statement slots) are the task's connection's, so core's code
 * is the same on both engines and knows nothing of this.
 *
 * A task needs a connection; with all of them taken it waits for one (in
 * order). At most CORE_TASKS_MAX tasks live per worker; past that, a new one
 * is refused (the request answers 503) rather than queued without bound.
 * On SQLite there are no tasks: reads take microseconds on the loop. */
#ifndef TARMAC_CORE_TASK_H
#define TARMAC_CORE_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "base/rc.h"
#include "net/mailbox.h"

#define CORE_TASKS_MAX 1024

struct core_worker;
struct core_tasks;

typedef void core_task_fn(void *arg);

/* The pool of cw on loop: conns connections to target, opened now (a
 * failure leaves them to be opened on first use). */
struct core_tasks *core_tasks_new(struct core_worker *cw, uv_loop_t *loop, const char *target,
                                  unsigned conns);
/* Closes the connections and frees the pool once no task is live (the
 * worker drains first: core_tasks_live). Accepts NULL. */
void core_tasks_free(struct core_tasks *t);

enum core_task_run {
    CORE_TASK_DONE,    /* fn ran to its end before core_task_run returned */
    CORE_TASK_WAITING, /* fn waits; finished(arg) runs on the loop when it ends */
    CORE_TASK_REFUSED, /* too many tasks: fn did not run */
};
/* Runs fn(arg) as a task on the worker's loop. From inside a task, fn just
 * runs (same task, same connection). */
enum core_task_run core_task_run(struct core_tasks *t, core_task_fn *fn, core_task_fn *finished,
                                 void *arg);
/* Tasks started and not finished (the worker is busy while any is). */
size_t core_tasks_live(const struct core_tasks *t);
/* The loop the tasks of t run on. */
uv_loop_t *core_tasks_loop(const struct core_tasks *t);

/* Waiting for something other than the database (a reply through Redis):
 * the task running now on this thread, or NULL on the loop's own stack or
 * in a held coroutine (coro_hold), where nothing may wait. */
struct core_task;
struct core_task *core_task_current(void);
/* The worker k runs on. */
struct core_worker *core_task_worker(const struct core_task *k);
/* From inside k (core_task_current()): yields to the loop until
 * core_task_wake(k). k keeps its connection meanwhile. */
void core_task_suspend(struct core_task *k);
/* Goes on with k, suspended, from the loop's idle phase (never inside this
 * call). Once per suspension, on k's loop thread. */
void core_task_wake(struct core_task *k);

/* net_mail_runner_fn (ctx: the core_tasks): each mail runs as a task after
 * the mail before it ended, so mail keeps its order (writer replies,
 * realtime fan-out). Too many tasks: it runs directly (it may then block
 * the loop on a round trip). */
void core_task_run_mail(void *ctx, net_mail_fn *fn, void *arg);

#endif
