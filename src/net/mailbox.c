/* mailbox.c -- see mailbox.h. uv_async_send coalesces wake-ups, so the
 * callback drains the whole queue each time. */
#include "net/mailbox.h"

#include "base/alloc.h"

struct mail {
    struct mail *next;
    net_mail_fn *fn;
    void *arg;
};

struct net_mailbox {
    uv_async_t async;
    uv_mutex_t lock;
    struct mail *head;
    struct mail *tail;
};

static void drain(struct net_mailbox *mb)
{
    for (;;) {
        uv_mutex_lock(&mb->lock);
        struct mail *m = mb->head;
        mb->head = NULL;
        mb->tail = NULL;
        uv_mutex_unlock(&mb->lock);
        if (!m)
            return;
        while (m) {
            struct mail *next = m->next;
            m->fn(m->arg);
            xfree(m);
            m = next;
        }
    }
}

static void on_async(uv_async_t *a)
{
    drain(a->data);
}

struct net_mailbox *net_mailbox_new(uv_loop_t *loop)
{
    struct net_mailbox *mb = xcalloc(1, sizeof(*mb));
    uv_mutex_init(&mb->lock);
    uv_async_init(loop, &mb->async, on_async);
    mb->async.data = mb;
    return mb;
}

void net_mailbox_post(struct net_mailbox *mb, net_mail_fn *fn, void *arg)
{
    struct mail *m = xmalloc(sizeof(*m));
    m->next = NULL;
    m->fn = fn;
    m->arg = arg;
    uv_mutex_lock(&mb->lock);
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    uv_mutex_unlock(&mb->lock);
    uv_async_send(&mb->async);
}

static void on_closed(uv_handle_t *h)
{
    struct net_mailbox *mb = h->data;
    drain(mb);
    uv_mutex_destroy(&mb->lock);
    xfree(mb);
}

void net_mailbox_close(struct net_mailbox *mb)
{
    drain(mb);
    uv_close((uv_handle_t *)&mb->async, on_closed);
}
