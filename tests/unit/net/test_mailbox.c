/* test_mailbox.c -- unit tests of net/mailbox.h: mail posted from several
 * threads at once is all run on the loop, in each poster's order, with no
 * wake-up lost (only the mail that finds the queue empty writes the
 * eventfd); mail posted by mail runs on a later turn; closing runs what is
 * left. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <uv.h>

#include "net/mailbox.h"

#define POSTERS 4
#define PER_POSTER 20000

struct box {
    uv_loop_t loop;
    uv_timer_t watchdog;
    struct net_mailbox *mb;
    long run;           /* mail run, on the loop only */
    long last[POSTERS]; /* each poster's last sequence number seen */
    bool is_out_of_order;
    bool timed_out;
};

struct letter {
    struct box *b;
    int poster;
    long seq;
};

static void on_letter(void *arg)
{
    struct letter *l = arg;
    struct box *b = l->b;
    if (l->seq != b->last[l->poster] + 1)
        b->is_out_of_order = true;
    b->last[l->poster] = l->seq;
    if (++b->run == (long)POSTERS * PER_POSTER)
        uv_stop(&b->loop);
    free(l);
}

struct poster {
    struct box *b;
    int index;
};

static void *post_all(void *arg)
{
    struct poster *p = arg;
    for (long i = 1; i <= PER_POSTER; i++) {
        struct letter *l = malloc(sizeof(*l));
        *l = (struct letter){p->b, p->index, i};
        net_mailbox_post(p->b->mb, on_letter, l);
        if (i % 1000 == 0)
            sched_yield(); /* let the loop take the queue between bursts */
    }
    return NULL;
}

static void on_watchdog(uv_timer_t *t)
{
    struct box *b = t->data;
    b->timed_out = true;
    uv_stop(&b->loop);
}

static void no_wake_up_is_lost(void **state)
{
    (void)state;
    struct box b = {0};
    assert_int_equal(uv_loop_init(&b.loop), 0);
    b.mb = net_mailbox_new(&b.loop);
    uv_timer_init(&b.loop, &b.watchdog);
    b.watchdog.data = &b;
    uv_timer_start(&b.watchdog, on_watchdog, 30000, 0);
    pthread_t th[POSTERS];
    struct poster ps[POSTERS];
    for (int i = 0; i < POSTERS; i++) {
        ps[i] = (struct poster){&b, i};
        assert_int_equal(pthread_create(&th[i], NULL, post_all, &ps[i]), 0);
    }
    uv_run(&b.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < POSTERS; i++)
        pthread_join(th[i], NULL);
    assert_false(b.timed_out); /* a lost wake-up leaves mail waiting: the loop sleeps on */
    assert_int_equal(b.run, (long)POSTERS * PER_POSTER);
    assert_false(b.is_out_of_order);
    uv_timer_stop(&b.watchdog);
    uv_close((uv_handle_t *)&b.watchdog, NULL);
    net_mailbox_close(b.mb);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&b.loop), 0);
}

struct chain {
    struct net_mailbox *mb;
    int left;
    int runs;
};

static void on_link(void *arg)
{
    struct chain *c = arg;
    c->runs++;
    if (--c->left > 0)
        net_mailbox_post(c->mb, on_link, c); /* posted by mail: a later turn wakes for it */
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static void mail_posted_by_mail_runs(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct chain c = {.mb = net_mailbox_new(&loop), .left = 50};
    /* a tick, so a turn ends even when a wake-up was lost (the test then
     * fails on the count instead of sleeping for ever) */
    uv_timer_t tick;
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 10, 10);
    net_mailbox_post(c.mb, on_link, &c);
    for (int turns = 0; turns < 200 && c.left > 0; turns++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(c.runs, 50);
    uv_timer_stop(&tick);
    uv_close((uv_handle_t *)&tick, NULL);
    /* what is still queued at close is run by the close */
    struct chain d = {.mb = c.mb, .left = 1};
    net_mailbox_post(c.mb, on_link, &d);
    net_mailbox_close(c.mb);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(d.runs, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_wake_up_is_lost),
        cmocka_unit_test(mail_posted_by_mail_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
