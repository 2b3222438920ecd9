/* mailbox.h -- the only way threads talk to a loop (layer: net).
 *
 * A locked FIFO of (fn, arg) messages plus an eventfd the owning loop polls
 * (mailbox.c says why not uv_async_t). A message carries ownership of arg to
 * fn, which runs on the owning loop. */
#ifndef TARMAC_NET_MAILBOX_H
#define TARMAC_NET_MAILBOX_H

#include <uv.h>

typedef void net_mail_fn(void *arg);

struct net_mailbox;

/* Creates a mailbox for loop; call on the thread that owns loop, or before it
 * runs. Returns a new mailbox; close it with net_mailbox_close() on that thread. */
struct net_mailbox *net_mailbox_new(uv_loop_t *loop);
/* Queues fn(arg) to run on the owner's loop; any thread. Never fails. Messages
 * posted after net_mailbox_close() began are run with arg by nobody: the
 * caller must stop posting before closing. */
void net_mailbox_post(struct net_mailbox *mb, net_mail_fn *fn, void *arg);
/* As net_mailbox_post, but fn(arg) runs directly on the loop, past the
 * runner below: for short mail that never waits (it then needs no task and
 * no database connection, core/task.h) and need not keep its place behind
 * mail that does. */
void net_mailbox_post_direct(struct net_mailbox *mb, net_mail_fn *fn, void *arg);
/* How the owner runs each mail: runner(ctx, fn, arg) instead of fn(arg)
 * (on PostgreSQL, as a task that may wait: core/task.h). NULL: directly.
 * Owner thread only. */
typedef void net_mail_runner_fn(void *ctx, net_mail_fn *fn, void *arg);
void net_mailbox_set_runner(struct net_mailbox *mb, net_mail_runner_fn *runner, void *ctx);
/* Runs what is queued, then closes the poll handle and frees the mailbox
 * once libuv is done with it. Owner thread only. */
void net_mailbox_close(struct net_mailbox *mb);

#endif
