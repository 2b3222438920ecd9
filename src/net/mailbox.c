/* mailbox.c -- see mailbox.h.
 *
 * The wake-up is an eventfd watched by a uv_poll_t rather than a uv_async_t:
 * uv_async_send() marks the handle busy while it writes, and the loop side
 * spins until the flag clears. A poster running at SCHED_IDLE (the offload
 * pool) that is preempted in that window left the loop spinning against it
 * (perf: half the CPU of a login storm in that spin, logins at 27/s where the
 * hashing alone allows 60). An eventfd write is one atomic syscall: nothing
 * for the loop to wait on. The queue's mutex is the only shared lock, and a
 * blocked lock sleeps instead of spinning. */
#include "net/mailbox.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"

#include <stdlib.h>

struct mail {
    struct mail *next;
    net_mail_fn *fn;
    void *arg;
    bool is_direct; /* run as fn(arg), past the runner */
};

struct net_mailbox {
    uv_poll_t poll;
    int fd; /* eventfd: non-zero while mail waits */
    uv_mutex_t lock;
    struct mail *head;
    struct mail *tail;
    net_mail_runner_fn *runner;
    void *runner_ctx;
};

void net_mailbox_set_runner(struct net_mailbox *mb, net_mail_runner_fn *runner, void *ctx)
{
    mb->runner = runner;
    mb->runner_ctx = ctx;
}

/* Runs the mail queued now; false when there was none. Mail posted while it
 * runs (a fan-out continuing itself) waits for the next loop iteration, so
 * sockets are served in between. */
static bool run_batch(struct net_mailbox *mb)
{
    uv_mutex_lock(&mb->lock);
    struct mail *m = mb->head;
    mb->head = NULL;
    mb->tail = NULL;
    uv_mutex_unlock(&mb->lock);
    if (!m)
        return false;
    while (m) {
        struct mail *next = m->next;
        if (mb->runner && !m->is_direct)
            mb->runner(mb->runner_ctx, m->fn, m->arg);
        else
            m->fn(m->arg);
        xfree(m);
        m = next;
    }
    return true;
}

/* Runs everything, including what the mail itself posts (closing). */
static void drain(struct net_mailbox *mb)
{
    while (run_batch(mb))
        ;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    struct net_mailbox *mb = h->data;
    uint64_t count;
    /* Reset the counter first: mail posted after this read wakes us again. */
    while (read(mb->fd, &count, sizeof(count)) < 0 && errno == EINTR)
        ;
    (void)run_batch(mb); /* mail posted from here on finds the queue empty: it wakes us */
}

struct net_mailbox *net_mailbox_new(uv_loop_t *loop)
{
    struct net_mailbox *mb = xcalloc(1, sizeof(*mb));
    uv_mutex_init(&mb->lock);
    mb->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mb->fd < 0) {
        log_error("msg=\"eventfd failed\" errno=%d", errno);
        abort();
    }
    uv_poll_init(loop, &mb->poll, mb->fd);
    mb->poll.data = mb;
    uv_poll_start(&mb->poll, UV_READABLE, on_readable);
    return mb;
}

static void post(struct net_mailbox *mb, net_mail_fn *fn, void *arg, bool is_direct)
{
    struct mail *m = xmalloc(sizeof(*m));
    m->next = NULL;
    m->fn = fn;
    m->arg = arg;
    m->is_direct = is_direct;
    uv_mutex_lock(&mb->lock);
    bool was_empty = !mb->head;
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    uv_mutex_unlock(&mb->lock);
    /* Only the mail that finds the queue empty wakes the loop: the loop
     * resets the eventfd before it takes the queue, so mail behind this one
     * goes with it, and mail after the take finds the queue empty again (the
     * writer answering a group of 20 wrote 20 times, each a wake-up). */
    if (!was_empty)
        return;
    uint64_t one = 1;
    /* EAGAIN only when the counter is saturated: the loop is awake anyway. */
    while (write(mb->fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

static void on_closed(uv_handle_t *h)
{
    struct net_mailbox *mb = h->data;
    drain(mb);
    close(mb->fd);
    uv_mutex_destroy(&mb->lock);
    xfree(mb);
}

void net_mailbox_close(struct net_mailbox *mb)
{
    drain(mb);
    uv_poll_stop(&mb->poll);
    uv_close((uv_handle_t *)&mb->poll, on_closed);
}

void net_mailbox_post(struct net_mailbox *mb, net_mail_fn *fn, void *arg)
{
    post(mb, fn, arg, false);
}

void net_mailbox_post_direct(struct net_mailbox *mb, net_mail_fn *fn, void *arg)
{
    post(mb, fn, arg, true);
}
