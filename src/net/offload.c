/* offload.c -- see offload.h. */
#include "net/offload.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <uv.h>

#include "base/alloc.h"
#include "net/mailbox.h"
#include "net/worker.h"

struct job {
    struct job *next;
    net_offload_work_fn *work;
    net_offload_done_fn *done;
    void *ctx;
    struct net_mailbox *reply_to;
    uint64_t queued_ms; /* monotonic time it was queued */
    enum rc rc;         /* RC_OK: work ran; RC_BUSY: it waited too long and did not */
};

struct net_offload {
    uv_thread_t *threads;
    unsigned thread_count;
    uv_mutex_t lock;
    uv_cond_t cond;
    struct job *head;
    struct job *tail;
    size_t queued;
    size_t max_queued;
    bool is_stopping;
};

static void finish(void *arg)
{
    struct job *j = arg;
    j->done(j->rc, j->ctx);
    xfree(j);
}

/* A job that waited longer than this is not run (see run()). */
#define OFFLOAD_MAX_WAIT_MS 10000

static void run(void *arg)
{
    struct net_offload *o = arg;
    /* Slow work yields to the loops. Measured on one core with reads
     * saturating it beside a login storm: at nice 10 or 19 the reads' p99
     * reached 9 ms (a hash holds the core for its whole slice); SCHED_IDLE
     * kept it at 0.85 ms. Raising a long-waiting job back to normal
     * priority was tried: the aged jobs then ran back to back and the reads'
     * p99 reached 211 ms. So slow work only ever uses idle CPU, and a job
     * that could not start within OFFLOAD_MAX_WAIT_MS is answered as busy
     * (503) instead of making its client wait without bound. */
    struct sched_param sp = {0};
    (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    pthread_setname_np(pthread_self(), "tarmac-offload");
    uv_mutex_lock(&o->lock);
    for (;;) {
        while (!o->head && !o->is_stopping)
            uv_cond_wait(&o->cond, &o->lock);
        if (!o->head)
            break;
        struct job *j = o->head;
        o->head = j->next;
        if (!o->head)
            o->tail = NULL;
        o->queued--;
        uv_mutex_unlock(&o->lock);
        if (uv_hrtime() / 1000000 - j->queued_ms < OFFLOAD_MAX_WAIT_MS) {
            j->work(j->ctx);
            j->rc = RC_OK;
        } else {
            j->rc = RC_BUSY;
        }
        if (j->reply_to)
            net_mailbox_post(j->reply_to, finish, j);
        else
            finish(j);
        uv_mutex_lock(&o->lock);
    }
    uv_mutex_unlock(&o->lock);
}

struct net_offload *net_offload_start(unsigned threads, size_t max_queued)
{
    struct net_offload *o = xcalloc(1, sizeof(*o));
    o->thread_count = threads ? threads : net_cpu_count();
    o->max_queued = max_queued;
    uv_mutex_init(&o->lock);
    uv_cond_init(&o->cond);
    o->threads = xcalloc(o->thread_count, sizeof(uv_thread_t));
    for (unsigned i = 0; i < o->thread_count; i++)
        uv_thread_create(&o->threads[i], run, o);
    return o;
}

enum rc net_offload_submit(struct net_offload *o, struct net_mailbox *reply_to,
                           net_offload_work_fn *work, net_offload_done_fn *done, void *ctx)
{
    uv_mutex_lock(&o->lock);
    if (o->queued >= o->max_queued || o->is_stopping) {
        uv_mutex_unlock(&o->lock);
        return RC_BUSY;
    }
    struct job *j = xcalloc(1, sizeof(*j));
    j->work = work;
    j->done = done;
    j->ctx = ctx;
    j->reply_to = reply_to;
    j->queued_ms = uv_hrtime() / 1000000;
    if (o->tail)
        o->tail->next = j;
    else
        o->head = j;
    o->tail = j;
    o->queued++;
    uv_cond_signal(&o->cond);
    uv_mutex_unlock(&o->lock);
    return RC_OK;
}

void net_offload_stop(struct net_offload *o)
{
    if (!o)
        return;
    uv_mutex_lock(&o->lock);
    o->is_stopping = true;
    uv_cond_broadcast(&o->cond);
    uv_mutex_unlock(&o->lock);
    for (unsigned i = 0; i < o->thread_count; i++)
        uv_thread_join(&o->threads[i]);
    xfree(o->threads);
    uv_cond_destroy(&o->cond);
    uv_mutex_destroy(&o->lock);
    xfree(o);
}

size_t net_offload_queued(struct net_offload *o)
{
    uv_mutex_lock(&o->lock);
    size_t n = o->queued;
    uv_mutex_unlock(&o->lock);
    return n;
}
