/* task.c -- see task.h. */
#include "core/task.h"

#include "base/alloc.h"
#include "base/coro.h"
#include "base/log.h"
#include "core/record/worker.h"
#include "store/store.h"

/* A task's stack: requests parse JSON (jansson recurses per nesting level),
 * compile filters and run Lua; pages are only backed once touched. */
#if defined(__SANITIZE_ADDRESS__)
#define TASK_STACK (4u << 20)
#else
#define TASK_STACK (1u << 20)
#endif
/* Finished coroutines kept for reuse (their touched pages stay backed). */
#define TASK_POOL_MAX 64

struct task;

/* One connection of the pool, with what belongs to it: the statement slots
 * of core_record_view, and the loop's watch on its socket. */
struct tconn {
    struct core_tasks *owner;
    struct store_conn *db;
    struct core_view_stmt views[CORE_VIEW_CACHE];
    uv_poll_t *poll; /* the watch of the wait in progress; NULL between waits */
    uv_timer_t *timer;
    struct task *holder; /* the task using it; NULL when free */
    enum rc wait_rc;     /* how the last wait ended */
    struct tconn *next_free;
};

struct task {
    struct core_tasks *owner;
    struct coro *co;
    core_task_fn *fn, *finished;
    void *arg, *finished_arg;
    struct tconn *conn;
    struct task *next; /* in a queue, or the pool */
};

struct task_queue {
    struct task *head, *tail;
};

/* A mail waiting for the one before it (core_task_run_mail). */
struct serial {
    core_task_fn *fn;
    void *arg;
    struct serial *next;
};

struct core_tasks {
    struct core_worker *cw;
    uv_loop_t *loop;
    struct tconn *conns;
    unsigned conn_count;
    struct tconn *free_conns;
    struct task_queue want_conn; /* tasks waiting for a connection, in order */
    struct task_queue ready;     /* tasks to resume */
    struct task *pool;
    size_t pooled;
    size_t live;
    uv_idle_t *idle;                          /* runs the ready queue */
    struct serial *serial_head, *serial_tail; /* waiting their turn */
    bool is_serial_busy;                      /* one of them waits now */
};

static void queue_push(struct task_queue *q, struct task *k)
{
    k->next = NULL;
    if (q->tail)
        q->tail->next = k;
    else
        q->head = k;
    q->tail = k;
}

static struct task *queue_pop(struct task_queue *q)
{
    struct task *k = q->head;
    if (k) {
        q->head = k->next;
        if (!q->head)
            q->tail = NULL;
        k->next = NULL;
    }
    return k;
}

/* The worker's db and statement slots are the running task's connection's. */
static void use_conn(struct core_tasks *t, struct tconn *c)
{
    t->cw->db = c->db;
    t->cw->views = c->views;
}

static void recycle(struct core_tasks *t, struct task *k)
{
    t->live--;
    if (t->pooled < TASK_POOL_MAX) {
        k->next = t->pool;
        t->pool = k;
        t->pooled++;
    } else {
        coro_free(k->co);
        xfree(k);
    }
}

/* The task this thread runs now (core_task_current). */
static _Thread_local struct task *running;

/* Runs k until it waits or ends (on the loop's stack), with the worker's db
 * its connection's meanwhile; true when it ended. */
static bool run_step(struct core_tasks *t, struct task *k)
{
    struct store_conn *db = t->cw->db;
    struct core_view_stmt *views = t->cw->views;
    if (k->conn)
        use_conn(t, k->conn);
    struct task *was = running;
    running = k;
    bool done = coro_resume(k->co);
    running = was;
    t->cw->db = db;
    t->cw->views = views;
    return done;
}

/* Goes on with a task that waited (from a loop callback). */
static void resume(struct core_tasks *t, struct task *k)
{
    if (!run_step(t, k))
        return;
    if (k->finished)
        k->finished(k->finished_arg);
    recycle(t, k);
}

/* Tasks handed a connection run from the loop's idle phase, never inside
 * the code that released it. */
static void on_idle(uv_idle_t *h)
{
    struct core_tasks *t = h->data;
    struct task *k = queue_pop(&t->ready);
    if (k)
        resume(t, k);
    if (!t->ready.head)
        uv_idle_stop(t->idle);
}

/* Gives c to the next task waiting for one, or back to the pool. */
static void release_conn(struct core_tasks *t, struct tconn *c)
{
    store_set_budget(c->db, NULL); /* the request's budget dies with it */
    struct task *next = queue_pop(&t->want_conn);
    if (next) {
        c->holder = next;
        next->conn = c;
        queue_push(&t->ready, next);
        uv_idle_start(t->idle, on_idle);
        return;
    }
    c->holder = NULL;
    c->next_free = t->free_conns;
    t->free_conns = c;
}

static void body(void *arg)
{
    struct task *k = arg;
    struct core_tasks *t = k->owner;
    struct tconn *c = t->free_conns;
    if (c) {
        t->free_conns = c->next_free;
        c->holder = k;
        k->conn = c;
    } else {
        queue_push(&t->want_conn, k);
        coro_yield(); /* release_conn hands one over */
    }
    use_conn(t, k->conn);
    k->fn(k->arg);
    struct tconn *held = k->conn;
    k->conn = NULL;
    release_conn(t, held);
}

static enum core_task_run core_task_run_with(struct core_tasks *t, core_task_fn *fn, void *arg,
                                             core_task_fn *finished, void *finished_arg)
{
    if (coro_current()) {
        fn(arg); /* a step of the running task */
        return CORE_TASK_DONE;
    }
    if (t->live >= CORE_TASKS_MAX)
        return CORE_TASK_REFUSED;
    struct task *k = t->pool;
    if (k) {
        t->pool = k->next;
        t->pooled--;
    } else {
        struct coro *co = coro_new(TASK_STACK);
        if (!co)
            return CORE_TASK_REFUSED;
        k = xcalloc(1, sizeof(*k));
        k->co = co;
        k->owner = t;
    }
    k->fn = fn;
    k->finished = finished;
    k->finished_arg = finished_arg;
    k->arg = arg;
    k->conn = NULL;
    k->next = NULL;
    coro_start(k->co, body, k);
    t->live++;
    if (run_step(t, k)) {
        recycle(t, k);
        return CORE_TASK_DONE;
    }
    return CORE_TASK_WAITING;
}

enum core_task_run core_task_run(struct core_tasks *t, core_task_fn *fn, core_task_fn *finished,
                                 void *arg)
{
    return core_task_run_with(t, fn, arg, finished, arg);
}

uv_loop_t *core_tasks_loop(const struct core_tasks *t)
{
    return t->loop;
}

struct core_task *core_task_current(void)
{
    if (!running || coro_current() != running->co || coro_is_held())
        return NULL;
    return (struct core_task *)running;
}

struct core_worker *core_task_worker(const struct core_task *k)
{
    return ((const struct task *)k)->owner->cw;
}

void core_task_suspend(struct core_task *k)
{
    (void)k;
    coro_yield(); /* core_task_wake puts it on the ready queue */
}

void core_task_wake(struct core_task *k)
{
    struct task *tk = (struct task *)k;
    queue_push(&tk->owner->ready, tk);
    uv_idle_start(tk->owner->idle, on_idle);
}

static void serial_next(struct core_tasks *t);

static void serial_finished(void *arg)
{
    struct core_tasks *t = arg;
    t->is_serial_busy = false;
    serial_next(t);
}

/* Starts the queued steps in order until one waits. */
static void serial_next(struct core_tasks *t)
{
    while (!t->is_serial_busy && t->serial_head) {
        struct serial *s = t->serial_head;
        t->serial_head = s->next;
        if (!t->serial_head)
            t->serial_tail = NULL;
        core_task_fn *fn = s->fn;
        void *arg = s->arg;
        xfree(s);
        /* finished gets t: the step's own arg may be gone once it ran */
        enum core_task_run r = core_task_run_with(t, fn, arg, serial_finished, t);
        if (r == CORE_TASK_WAITING)
            t->is_serial_busy = true;
        else if (r == CORE_TASK_REFUSED)
            fn(arg);
    }
}

static void run_serial(struct core_tasks *t, core_task_fn *fn, void *arg)
{
    struct serial *s = xcalloc(1, sizeof(*s));
    s->fn = fn;
    s->arg = arg;
    if (t->serial_tail)
        t->serial_tail->next = s;
    else
        t->serial_head = s;
    t->serial_tail = s;
    serial_next(t);
}

void core_task_run_mail(void *ctx, net_mail_fn *fn, void *arg)
{
    run_serial(ctx, fn, arg);
}

size_t core_tasks_live(const struct core_tasks *t)
{
    return t ? t->live : 0;
}

/* ---- waiting for a connection's socket ---- */

static void free_handle(uv_handle_t *h);

static void wake(struct tconn *c, enum rc rc)
{
    /* The watch goes now, while its descriptor is still this session's:
     * stopped or closed later, after libpq closed the descriptor, libuv's
     * epoll_ctl(DEL) would hit whatever socket of this loop took the number. */
    uv_close((uv_handle_t *)c->poll, free_handle);
    c->poll = NULL;
    uv_timer_stop(c->timer);
    c->wait_rc = rc;
    if (c->holder)
        resume(c->owner, c->holder);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)events;
    wake(h->data, status < 0 ? RC_IO : RC_OK);
}

static void on_wait_timeout(uv_timer_t *h)
{
    wake(h->data, RC_BUSY);
}

static void free_handle(uv_handle_t *h)
{
    xfree(h);
}

/* store_io_wait_fn of the pool's connections: the holding task yields until
 * the socket is ready; anyone else (the worker's own code between tasks)
 * blocks in poll as on any thread. */
static enum rc conn_wait(void *ctx, int fd, bool want_write, int64_t timeout_ms)
{
    struct tconn *c = ctx;
    struct coro *co = coro_current();
    if (!co || !c->holder || c->holder->co != co || coro_is_held())
        return RC_NOT_FOUND;
    c->poll = xcalloc(1, sizeof(*c->poll));
    if (uv_poll_init_socket(c->owner->loop, c->poll, fd) != 0) {
        xfree(c->poll);
        c->poll = NULL;
        return RC_NOT_FOUND;
    }
    c->poll->data = c;
    if (uv_poll_start(c->poll, UV_READABLE | (want_write ? UV_WRITABLE : 0), on_poll) != 0) {
        uv_close((uv_handle_t *)c->poll, free_handle);
        c->poll = NULL;
        return RC_NOT_FOUND;
    }
    if (timeout_ms > 0)
        uv_timer_start(c->timer, on_wait_timeout, (uint64_t)timeout_ms, 0);
    c->wait_rc = RC_BUSY;
    coro_yield();
    return c->wait_rc;
}

struct core_tasks *core_tasks_new(struct core_worker *cw, uv_loop_t *loop, const char *target,
                                  unsigned conns)
{
    struct core_tasks *t = xcalloc(1, sizeof(*t));
    t->cw = cw;
    t->loop = loop;
    t->conns = xcalloc(conns ? conns : 1, sizeof(*t->conns));
    t->idle = xcalloc(1, sizeof(*t->idle));
    uv_idle_init(loop, t->idle);
    t->idle->data = t;
    for (unsigned i = 0; i < conns; i++) {
        struct tconn *c = &t->conns[i];
        if (store_open(target, STORE_OPEN_READ, &c->db) != RC_OK) {
            core_tasks_free(t);
            return NULL;
        }
        t->conn_count++;
        c->owner = t;
        c->timer = xcalloc(1, sizeof(*c->timer));
        uv_timer_init(loop, c->timer);
        c->timer->data = c;
        store_set_io_wait(c->db, conn_wait, c);
        c->next_free = t->free_conns;
        t->free_conns = c;
    }
    return t;
}

void core_tasks_free(struct core_tasks *t)
{
    if (!t)
        return;
    if (t->live)
        log_error("msg=\"worker tasks left running at exit\" tasks=%zu", t->live);
    for (struct serial *s = t->serial_head, *next; s; s = next) {
        next = s->next;
        s->fn(s->arg); /* not dropped: mail carries ownership of its arg */
        xfree(s);
    }
    for (unsigned i = 0; i < t->conn_count; i++) {
        struct tconn *c = &t->conns[i];
        if (c->poll)
            uv_close((uv_handle_t *)c->poll, free_handle);
        uv_close((uv_handle_t *)c->timer, free_handle);
        for (size_t s = 0; s < CORE_VIEW_CACHE; s++) {
            if (c->views[s].stmt)
                store_unkeep(c->views[s].stmt);
        }
        store_close(c->db);
    }
    xfree(t->conns);
    uv_close((uv_handle_t *)t->idle, free_handle);
    for (struct task *k = t->pool, *next; k; k = next) {
        next = k->next;
        coro_free(k->co);
        xfree(k);
    }
    xfree(t);
}
