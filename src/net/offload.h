/* offload.h -- blocking work on a bounded thread pool (layer: net).
 *
 * argon2id hashing, image work and file I/O take milliseconds; a loop must
 * not wait for them. Jobs run on a pool sized to the cores, kept apart from
 * libuv's shared pool (which serves its own file and DNS calls), and their
 * completion runs back on the submitting loop through its mailbox. The queue
 * is bounded: when it is full, submit fails with RC_BUSY and the request is
 * answered 503 instead of queueing without limit (a login storm must not
 * grow memory or latency without bound). */
#ifndef TARMAC_NET_OFFLOAD_H
#define TARMAC_NET_OFFLOAD_H

#include <stddef.h>

#include "base/rc.h"

struct net_mailbox;
struct net_offload;

/* Runs on a pool thread; must not touch loop-owned state. */
typedef void net_offload_work_fn(void *ctx);
/* Runs on the submitting loop after work (or on the pool thread when reply_to
 * is NULL). rc is RC_OK when work ran, RC_BUSY when the job waited too long
 * for a thread (the pool only uses idle CPU) and work did not run. */
typedef void net_offload_done_fn(enum rc rc, void *ctx);

/* Starts threads (0 = one per CPU) with a queue of at most max_queued jobs. */
struct net_offload *net_offload_start(unsigned threads, size_t max_queued);
/* Queues work; any thread. RC_BUSY when the queue is full (nothing queued). */
enum rc net_offload_submit(struct net_offload *o, struct net_mailbox *reply_to,
                           net_offload_work_fn *work, net_offload_done_fn *done, void *ctx);
/* Runs what is queued, then stops the threads; accepts NULL. */
void net_offload_stop(struct net_offload *o);
/* Jobs waiting for a thread now (argon2id hashes, thumbnails, file I/O); any thread. */
size_t net_offload_queued(struct net_offload *o);

#endif
