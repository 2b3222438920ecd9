/* cluster_app.c -- see cluster_app.h.
 *
 * The messages, by kind (core/cluster/cluster.h carries them):
 *
 *   ev     a record change: {c: collection id, a: action, v: its values
 *          without password hashes or tokenKey}. Receivers hand it to the
 *          bus's on_remote listeners (realtime fans it out to its clients,
 *          the rules checked there).
 *   msg    a script's realtime message on a custom topic.
 *   schema, settings   a change made on the sender {r: its number}:
 *          receivers read the collections (the settings) back from the
 *          database, queued on their writer after their own changes,
 *          install them and answer ack {r}. The change's answer (on the
 *          sender's worker, its writer going on meanwhile) waits for every
 *          other instance's ack (PUBLISH says how many there are), at most
 *          FORWARD_MS: a client that made a collection through one instance
 *          finds it on the next.
 *   hooks  the sender's scripts were reloaded (SIGHUP): receivers reload
 *          theirs (each instance's own --hooks-dir), on the offload pool.
 *   fwd    to one instance: a subscriptions POST (op "sub") or an OAuth2
 *          handoff (op "send") for a realtime client that instance holds;
 *          answered with fwd-re {r: the request's number, rc, m, d}.
 *
 * A forwarded request waits in its task (core/task.h) for the answer, for
 * PUBLISH's count of receivers (none: the instance is gone, 404) and at
 * most FORWARD_MS. Its state lives on the task's stack; the table of
 * waiting forwards (under a lock: answers arrive on worker 0) decides which
 * of answer, count or timer completes it, and the task goes on only once
 * the count is in too (its callback holds the state). */
#include "core/cluster_app.h"

#include <stdatomic.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "core/auth/oidc.h"
#include "core/cluster/cluster.h"
#include "core/cluster_logs.h"
#include "core/hooks/hooks.h"
#include "core/record/record.h"
#include "core/record/vector_index.h"
#include "core/schema_change.h"
#include "core/settings_change.h"
#include "core/task.h"
#include "net/mailbox.h"
#include "net/offload.h"
#include "store/store.h"

/* A forwarded request's longest wait: a round trip through Redis twice and
 * the owner's identity check. */
#define FORWARD_MS 2000
#define SUPERUSERS_ID "pbc_3142635823"

struct forward;

struct barrier;

struct glue {
    struct core_app *app;
    struct core_cluster *c;
    struct core_worker *w0; /* worker 0's: runs what other instances forward */
    uv_mutex_t lock;        /* forwards, barriers */
    struct forward *forwards;
    struct barrier *barriers;
    atomic_uint_fast64_t next_number;
};

/* What a PUBLISH count finds its barrier by (the barrier may be gone). */
struct barrier_ref {
    struct glue *g;
    uint64_t number;
};

static struct glue *glue_of(struct core_app *app)
{
    return core_cluster_user(app->cluster);
}

/* -------------------------------------------------------------------------
 * Record changes
 * ------------------------------------------------------------------------- */

static bool wants_events(void *ctx, const struct core_collection *c)
{
    (void)c;
    struct glue *g = ctx;
    return core_cluster_is_up(g->c);
}

static bool is_secret(const struct core_collection *c, const char *name)
{
    if (strcmp(name, "tokenKey") == 0)
        return true;
    for (size_t i = 0; i < c->field_count; i++) {
        if (strcmp(c->fields[i].name, name) == 0)
            return c->fields[i].type == CORE_FIELD_PASSWORD;
    }
    return false;
}

static void publish_event(void *ctx, struct core_event *ev)
{
    struct glue *g = ctx;
    json_t *values = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(ev->values, key, v)
    {
        if (!is_secret(ev->c, key))
            json_object_set(values, key, v);
    }
    json_t *msg = json_object();
    json_object_set_new(msg, "c", json_string(ev->c->id));
    json_object_set_new(msg, "a", json_string(core_event_action_name(ev->action)));
    json_object_set_new(msg, "v", values);
    core_cluster_publish(g->c, NULL, "ev", msg);
}

static void on_event(void *ctx, json_t *msg)
{
    struct glue *g = ctx;
    const char *id = json_string_value(json_object_get(msg, "c"));
    const char *action = json_string_value(json_object_get(msg, "a"));
    json_t *values = json_object_get(msg, "v");
    const struct core_schema *schema = core_app_schema(g->app);
    const struct core_collection *c = id ? core_schema_find_exact(schema, str_from_cstr(id)) : NULL;
    static const enum core_event_action actions[] = {CORE_EVENT_CREATE, CORE_EVENT_UPDATE,
                                                     CORE_EVENT_DELETE};
    for (size_t i = 0; c && action && json_is_object(values) && i < 3; i++) {
        if (strcmp(action, core_event_action_name(actions[i])) == 0) {
            core_event_emit_remote(&g->app->events, core_event_new(actions[i], schema, c, values));
            return;
        }
    }
    /* A collection this instance does not know yet: its schema message is
     * on the way, and the change's subscribers could not be checked. */
    log_debug("msg=\"another instance's record change skipped\" collection=%s", id ? id : "-");
}

/* -------------------------------------------------------------------------
 * Realtime: messages, and requests for another instance's clients
 * ------------------------------------------------------------------------- */

static void remote_publish(void *ctx, const char *topic, const char *data,
                           const char *to_collection_id, const char *to_record_id)
{
    struct glue *g = ctx;
    json_t *msg = json_object();
    json_object_set_new(msg, "t", json_string(topic));
    json_object_set_new(msg, "d", json_string(data));
    if (to_collection_id && to_record_id) {
        json_object_set_new(msg, "tc", json_string(to_collection_id));
        json_object_set_new(msg, "ti", json_string(to_record_id));
    }
    core_cluster_publish(g->c, NULL, "msg", msg);
}

static void on_message(void *ctx, json_t *msg)
{
    struct glue *g = ctx;
    const char *topic = json_string_value(json_object_get(msg, "t"));
    const char *data = json_string_value(json_object_get(msg, "d"));
    if (topic && data)
        core_realtime_publish_local(g->app->realtime, topic, data,
                                    json_string_value(json_object_get(msg, "tc")),
                                    json_string_value(json_object_get(msg, "ti")));
}

/* One request to another instance, on the stack of the task that waits. */
struct forward {
    struct glue *g;
    uint64_t number;
    struct core_task *task;
    struct net_mailbox *mailbox; /* the waiting worker's */
    uv_timer_t *timer;
    bool is_done;    /* answered (or failed): rc and p are set */
    bool is_counted; /* PUBLISH's own reply is in */
    bool is_waiting; /* the task is suspended */
    enum rc rc;
    struct core_problem *p; /* the caller's; may be NULL */
    struct forward *next;
};

/* Takes f out of the table; false when something else completed it. */
static bool take(struct glue *g, struct forward *f)
{
    bool is_found = false;
    uv_mutex_lock(&g->lock);
    for (struct forward **pp = &g->forwards; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            is_found = true;
            break;
        }
    }
    uv_mutex_unlock(&g->lock);
    return is_found;
}

static void maybe_resume(struct forward *f)
{
    if (f->is_done && f->is_counted && f->is_waiting) {
        f->is_waiting = false;
        core_task_wake(f->task);
    }
}

static void complete(struct forward *f, enum rc rc)
{
    f->is_done = true;
    f->rc = rc;
    maybe_resume(f);
}

static void on_forward_counted(void *ctx, long long receivers)
{
    struct forward *f = ctx;
    f->is_counted = true;
    if (receivers <= 0 && take(f->g, f))
        complete(f, receivers == 0 ? RC_NOT_FOUND : RC_UNAVAILABLE);
    maybe_resume(f);
}

static void on_forward_timeout(uv_timer_t *t)
{
    struct forward *f = t->data;
    if (take(f->g, f)) {
        log_warn("msg=\"no answer from the instance holding a realtime client\" ms=%d", FORWARD_MS);
        complete(f, RC_UNAVAILABLE);
    }
}

static void free_handle(uv_handle_t *h)
{
    xfree(h);
}

/* Sends msg (taken) to the instance whose id begins client_id and waits in
 * the current task for its answer. */
static enum rc forward(struct glue *g, const char *client_id, json_t *msg, struct core_problem *p)
{
    struct core_task *k = core_task_current();
    struct core_worker *cw = k ? core_task_worker(k) : NULL;
    if (!cw || !core_cluster_can_command(g->c)) {
        json_decref(msg);
        return RC_UNAVAILABLE; /* Redis down: the owner cannot be reached */
    }
    char to[CORE_CLUSTER_ID_LEN + 1];
    memcpy(to, client_id, CORE_CLUSTER_ID_LEN);
    to[CORE_CLUSTER_ID_LEN] = '\0';
    struct forward f = {.g = g, .task = k, .mailbox = cw->mailbox, .p = p};
    f.number = atomic_fetch_add(&g->next_number, 1) + 1;
    json_object_set_new(msg, "r", json_integer((json_int_t)f.number));
    uv_mutex_lock(&g->lock);
    f.next = g->forwards;
    g->forwards = &f;
    uv_mutex_unlock(&g->lock);
    if (core_cluster_publish_counted(g->c, to, "fwd", msg, on_forward_counted, &f) != RC_OK) {
        (void)take(g, &f);
        return RC_UNAVAILABLE;
    }
    f.timer = xcalloc(1, sizeof(*f.timer));
    uv_timer_init(core_tasks_loop(cw->tasks), f.timer);
    f.timer->data = &f;
    uv_timer_start(f.timer, on_forward_timeout, FORWARD_MS, 0);
    while (!(f.is_done && f.is_counted)) {
        f.is_waiting = true;
        core_task_suspend(k);
    }
    uv_close((uv_handle_t *)f.timer, free_handle); /* its callback cannot run any more */
    return f.rc;
}

static enum rc remote_subscribe(void *ctx, struct core_worker *cw, const char *client_id,
                                const char *remote_addr, const struct core_auth *auth, json_t *subs,
                                struct core_problem *p)
{
    json_t *msg = json_object();
    json_object_set_new(msg, "op", json_string("sub"));
    json_object_set_new(msg, "c", json_string(client_id));
    json_object_set_new(msg, "ip", json_string(remote_addr));
    if (auth && auth->collection && auth->id) {
        json_object_set_new(msg, "ac", json_string(auth->collection->id));
        json_object_set_new(msg, "ai", json_string(auth->id));
    }
    json_object_set(msg, "s", subs ? subs : json_null());
    (void)cw; /* the task running the request is cw's */
    return forward(ctx, client_id, msg, p);
}

static enum rc remote_send(void *ctx, const char *client_id, const char *remote_addr,
                           const char *topic, const char *data)
{
    struct glue *g = ctx;
    json_t *msg = json_object();
    json_object_set_new(msg, "op", json_string("send"));
    json_object_set_new(msg, "c", json_string(client_id));
    json_object_set_new(msg, "ip", json_string(remote_addr));
    json_object_set_new(msg, "t", json_string(topic));
    json_object_set_new(msg, "d", json_string(data));
    return forward(g, client_id, msg, NULL);
}

/* The answer to a forward, on the waiting worker's loop. */
struct answer {
    struct forward *f;
    enum rc rc;
    char message[160];
    json_t *data;
};

static void answer_run(void *arg)
{
    struct answer *a = arg;
    struct forward *f = a->f;
    if (f->p) {
        if (a->message[0])
            core_problem_message(f->p, a->message);
        if (a->data) {
            json_decref(f->p->data);
            f->p->data = json_incref(a->data);
        }
    }
    complete(f, a->rc);
    json_decref(a->data);
    xfree(a);
}

static enum rc rc_from_name(const char *name)
{
    for (int i = 0; name && i < RC_COUNT; i++) {
        if (strcmp(rc_name((enum rc)i), name) == 0)
            return (enum rc)i;
    }
    return RC_INTERNAL;
}

static void on_answer(void *ctx, json_t *msg)
{
    struct glue *g = ctx;
    uint64_t number = (uint64_t)json_integer_value(json_object_get(msg, "r"));
    uv_mutex_lock(&g->lock);
    struct forward *f = NULL;
    for (struct forward **pp = &g->forwards; *pp; pp = &(*pp)->next) {
        if ((*pp)->number == number) {
            f = *pp;
            *pp = f->next;
            break;
        }
    }
    uv_mutex_unlock(&g->lock);
    if (!f)
        return; /* timed out meanwhile */
    struct answer *a = xcalloc(1, sizeof(*a));
    a->f = f;
    a->rc = rc_from_name(json_string_value(json_object_get(msg, "rc")));
    const char *m = json_string_value(json_object_get(msg, "m"));
    snprintf(a->message, sizeof(a->message), "%s", m ? m : "");
    json_t *d = json_object_get(msg, "d");
    a->data = json_is_object(d) ? json_incref(d) : NULL;
    /* Past the mailbox's runner: it needs no connection (the waiting task
     * holds one, and the pool may have no other). */
    net_mailbox_post_direct(f->mailbox, answer_run, a);
}

/* A request another instance forwarded, run as a task on worker 0. */
struct served {
    struct glue *g;
    json_t *msg;
};

static void serve_forward(void *arg)
{
    struct served *s = arg;
    struct glue *g = s->g;
    struct core_worker *cw = g->w0;
    json_t *msg = s->msg;
    const char *op = json_string_value(json_object_get(msg, "op"));
    const char *client_id = json_string_value(json_object_get(msg, "c"));
    const char *ip = json_string_value(json_object_get(msg, "ip"));
    struct core_problem p;
    core_problem_init(&p);
    enum rc rc = RC_INVALID;
    if (op && client_id && ip && strcmp(op, "sub") == 0) {
        /* The requester as the other instance verified it, loaded here. */
        const char *ac = json_string_value(json_object_get(msg, "ac"));
        const char *ai = json_string_value(json_object_get(msg, "ai"));
        struct core_auth auth = {0};
        core_worker_begin_read(cw);
        const struct core_collection *col =
            ac ? core_schema_find_exact(core_app_schema(g->app), str_from_cstr(ac)) : NULL;
        json_t *rec = NULL;
        if (col && ai && core_record_load(cw->db, col, str_from_cstr(ai), &rec) == RC_OK) {
            auth.collection = col;
            auth.record = rec;
            auth.id = json_string_value(json_object_get(rec, "id"));
            auth.is_superuser = strcmp(col->id, SUPERUSERS_ID) == 0;
        }
        rc = core_realtime_subscribe(cw, client_id, ip, &auth, json_object_get(msg, "s"), &p);
        json_decref(rec);
    } else if (op && client_id && ip && strcmp(op, "send") == 0) {
        const char *topic = json_string_value(json_object_get(msg, "t"));
        const char *data = json_string_value(json_object_get(msg, "d"));
        rc = topic && data ? core_realtime_send(g->app->realtime, client_id, ip, topic, data)
                           : RC_INVALID;
    }
    json_t *answer = json_object();
    json_object_set(answer, "r", json_object_get(msg, "r"));
    json_object_set_new(answer, "rc", json_string(rc_name(rc)));
    if (p.message[0])
        json_object_set_new(answer, "m", json_string(p.message));
    if (p.data)
        json_object_set(answer, "d", p.data);
    core_problem_cleanup(&p);
    const char *origin = json_string_value(json_object_get(msg, "o"));
    if (origin)
        core_cluster_publish(g->c, origin, "fwd-re", answer);
    else
        json_decref(answer);
}

static void served_free(void *arg)
{
    struct served *s = arg;
    json_decref(s->msg);
    xfree(s);
}

static void on_forward(void *ctx, json_t *msg)
{
    struct glue *g = ctx;
    struct served *s = xcalloc(1, sizeof(*s));
    s->g = g;
    s->msg = json_incref(msg);
    enum core_task_run r = g->w0 && g->w0->tasks
                               ? core_task_run(g->w0->tasks, serve_forward, served_free, s)
                               : CORE_TASK_REFUSED;
    if (r == CORE_TASK_DONE)
        served_free(s);
    else if (r == CORE_TASK_REFUSED)
        served_free(s); /* the other instance's timer answers 503 */
}

/* -------------------------------------------------------------------------
 * Schema, settings, scripts
 * ------------------------------------------------------------------------- */

/* A change of this instance and the other instances' acks of it: made on
 * the writer thread after the commit, counted on worker 0 (PUBLISH's
 * receivers, then acks), waited for by the change's answer on its worker.
 * Whoever takes it out of g->barriers (under g->lock) finishes it. */
struct barrier {
    struct glue *g;
    uint64_t number;
    long long others; /* instances that got it, but this one; -1: not known yet */
    long long acks;
    bool is_awaited; /* the answer waits: fn(arg) by mail to mailbox when complete */
    struct net_mailbox *mailbox;
    void (*fn)(void *arg);
    void *arg;
    uv_timer_t *timer; /* on the waiting worker's loop */
    struct barrier *next;
};

static struct barrier *barrier_find(struct glue *g, uint64_t number)
{
    for (struct barrier *b = g->barriers; b; b = b->next) {
        if (b->number == number)
            return b;
    }
    return NULL;
}

static void barrier_unlink(struct glue *g, struct barrier *b)
{
    for (struct barrier **pp = &g->barriers; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            return;
        }
    }
}

static bool is_complete(const struct barrier *b)
{
    return b->others >= 0 && b->acks >= b->others;
}

/* On the waiting worker's loop: the answer goes out. */
static void barrier_finish(void *arg)
{
    struct barrier *b = arg;
    if (b->timer)
        uv_close((uv_handle_t *)b->timer, free_handle);
    b->fn(b->arg);
    xfree(b);
}

/* Under g->lock, after a count: a complete barrier someone waits for is
 * handed to its worker. */
static void barrier_check_locked(struct glue *g, struct barrier *b)
{
    if (!is_complete(b) || !b->is_awaited)
        return;
    barrier_unlink(g, b);
    net_mailbox_post_direct(b->mailbox, barrier_finish, b);
}

/* PUBLISH's count, on worker 0: every instance's subscriber got it, ours too. */
static void on_change_counted(void *ctx, long long receivers)
{
    struct barrier_ref *ref = ctx;
    struct glue *g = ref->g;
    uv_mutex_lock(&g->lock);
    struct barrier *b = barrier_find(g, ref->number);
    if (b) {
        b->others = receivers > 0 ? receivers - 1 : 0;
        barrier_check_locked(g, b);
    }
    uv_mutex_unlock(&g->lock);
    xfree(ref);
}

static void on_ack(void *ctx, json_t *msg)
{
    struct glue *g = ctx;
    uint64_t number = (uint64_t)json_integer_value(json_object_get(msg, "r"));
    uv_mutex_lock(&g->lock);
    struct barrier *b = barrier_find(g, number);
    if (b) {
        b->acks++;
        barrier_check_locked(g, b);
    }
    uv_mutex_unlock(&g->lock);
}

/* app->on_local_change, on the writer thread, after the commit: tells the
 * others; the change's answer waits for their acks (await_change). */
static uint64_t publish_change(void *ctx, const char *what)
{
    struct glue *g = ctx;
    struct barrier *b = xcalloc(1, sizeof(*b));
    b->g = g;
    b->others = -1;
    b->number = atomic_fetch_add(&g->next_number, 1) + 1;
    uint64_t number = b->number;
    struct barrier_ref *ref = xcalloc(1, sizeof(*ref));
    ref->g = g;
    ref->number = number;
    uv_mutex_lock(&g->lock);
    b->next = g->barriers;
    g->barriers = b;
    uv_mutex_unlock(&g->lock);
    json_t *msg = json_object();
    json_object_set_new(msg, "r", json_integer((json_int_t)number));
    if (core_cluster_publish_then(g->c, NULL, what, msg, on_change_counted, ref))
        return number;
    xfree(ref); /* not sent (Redis down, no worker yet): nobody to wait for */
    uv_mutex_lock(&g->lock);
    barrier_unlink(g, b);
    uv_mutex_unlock(&g->lock);
    xfree(b);
    return 0;
}

/* The answer waited long enough (an instance slow or gone). */
static void on_barrier_timeout(uv_timer_t *t)
{
    struct barrier *b = t->data;
    struct glue *g = b->g;
    uv_mutex_lock(&g->lock);
    bool is_ours = barrier_find(g, b->number) == b;
    if (is_ours)
        barrier_unlink(g, b);
    uv_mutex_unlock(&g->lock);
    if (!is_ours)
        return; /* completed meanwhile: its mail is on the way and closes this timer */
    log_warn("msg=\"not every instance confirmed a change in time; answered anyway\" "
             "instances=%lld confirmed=%lld ms=%d",
             b->others, b->acks, FORWARD_MS);
    barrier_finish(b);
}

/* app->await_change, on cw's loop. */
static void await_change(void *ctx, uint64_t ticket, struct core_worker *cw, void (*fn)(void *arg),
                         void *arg)
{
    struct glue *g = ctx;
    uv_mutex_lock(&g->lock);
    struct barrier *b = ticket ? barrier_find(g, ticket) : NULL;
    bool is_now = !b || is_complete(b) || !cw || !cw->tasks;
    if (b && is_now)
        barrier_unlink(g, b);
    if (!is_now) {
        b->is_awaited = true;
        b->mailbox = cw->mailbox;
        b->fn = fn;
        b->arg = arg;
        b->timer = xcalloc(1, sizeof(*b->timer));
        uv_timer_init(core_tasks_loop(cw->tasks), b->timer);
        b->timer->data = b;
        uv_timer_start(b->timer, on_barrier_timeout, FORWARD_MS, 0);
    }
    uv_mutex_unlock(&g->lock);
    if (is_now) {
        xfree(b);
        fn(arg);
    }
}

/* A reload another instance's change asked for: its ack once installed. */
struct ack_to {
    struct glue *g;
    char origin[CORE_CLUSTER_ID_LEN + 1];
    json_int_t number;
};

static void send_ack(void *ctx, enum rc rc)
{
    (void)rc; /* failed or not, the sender need not wait longer */
    struct ack_to *a = ctx;
    json_t *msg = json_object();
    json_object_set_new(msg, "r", json_integer(a->number));
    core_cluster_publish(a->g->c, a->origin, "ack", msg);
    xfree(a);
}

static struct ack_to *ack_for(struct glue *g, json_t *msg)
{
    const char *origin = json_string_value(json_object_get(msg, "o"));
    struct ack_to *a = xcalloc(1, sizeof(*a));
    a->g = g;
    snprintf(a->origin, sizeof(a->origin), "%s", origin ? origin : "");
    a->number = json_integer_value(json_object_get(msg, "r"));
    return a;
}

static void on_schema(void *ctx, json_t *msg)
{
    struct glue *g = ctx;
    core_schema_reload(g->app, send_ack, ack_for(g, msg));
}

static void on_settings(void *ctx, json_t *msg)
{
    struct glue *g = ctx;
    core_settings_reload(g->app, send_ack, ack_for(g, msg));
}

static void reload_scripts(void *ctx)
{
    struct glue *g = ctx;
    char err[512];
    if (core_hooks_reload(g->app->hooks, err, sizeof(err)) != RC_OK)
        log_error("msg=\"scripts not reloaded after another instance's reload: the running ones "
                  "stay\" error=\"%s\"",
                  err);
    else
        log_info("msg=\"scripts reloaded after another instance's reload\"");
}

static void reloaded_scripts(enum rc rc, void *ctx)
{
    (void)ctx;
    if (rc)
        log_error("msg=\"scripts not reloaded after another instance's reload\" rc=%s",
                  rc_name(rc));
}

static void on_hooks(void *ctx, json_t *msg)
{
    (void)msg;
    struct glue *g = ctx;
    /* Loading scripts takes milliseconds: not on this loop. */
    if (g->app->hooks &&
        net_offload_submit(g->app->offload, NULL, reload_scripts, reloaded_scripts, g) != RC_OK)
        log_error("msg=\"scripts not reloaded after another instance's reload: pool full\"");
}

void core_cluster_app_hooks_reloaded(struct core_app *app)
{
    if (app->cluster)
        core_cluster_publish(app->cluster, NULL, "hooks", NULL);
}

/* Apple's posted name, kept by the instance its form post reached, for the
 * code exchange the SDK makes next, which a balancer may send to any
 * instance: every instance keeps it (for as long as the one that got it). */
static void on_apple_name(void *ctx, json_t *msg)
{
    struct glue *g = ctx;
    const char *code = json_string_value(json_object_get(msg, "code"));
    const char *name = json_string_value(json_object_get(msg, "name"));
    if (code && name && g->app->oidc)
        core_oidc_name_put(g->app->oidc, code, name);
}

void core_cluster_app_apple_name(struct core_app *app, const char *code, const char *name)
{
    if (app->cluster)
        core_cluster_publish(app->cluster, NULL, "aname",
                             json_pack("{s:s, s:s}", "code", code, "name", name));
}

void core_cluster_app_restored(struct core_app *app)
{
    if (!app->cluster)
        return;
    log_info("msg=\"telling the other instances to read schema and settings after the restore\"");
    core_cluster_publish(app->cluster, NULL, "schema", json_object());
    core_cluster_publish(app->cluster, NULL, "settings", json_object());
}

/* Worker 0's subscriber is up, the first time or back after Redis was
 * unreachable: what other instances changed before (since this one read its
 * schema at start, or during the outage) was not heard, so it is read again.
 * The first time's line is also what says this instance now hears the
 * others (tests/e2e/lib/cluster.mjs waits for it). */
static void resync(void *ctx, bool is_first)
{
    struct glue *g = ctx;
    if (is_first)
        log_info("msg=\"hearing the other instances: schema and settings read again\"");
    else
        log_info("msg=\"reading schema and settings again after the redis outage\"");
    core_schema_reload(g->app, NULL, NULL);
    core_settings_reload(g->app, NULL, NULL);
}

/* -------------------------------------------------------------------------
 * Start
 * ------------------------------------------------------------------------- */

static void glue_free(void *user)
{
    struct glue *g = user;
    core_cluster_logs_stop();
    while (g->barriers) { /* changes whose answer never waited */
        struct barrier *b = g->barriers;
        g->barriers = b->next;
        xfree(b);
    }
    uv_mutex_destroy(&g->lock);
    xfree(g);
}

void core_cluster_app_start(struct core_app *app, const struct store_redis_target *target,
                            unsigned workers)
{
    struct glue *g = xcalloc(1, sizeof(*g));
    g->app = app;
    uv_mutex_init(&g->lock);
    atomic_init(&g->next_number, 0);
    /* Caches could not see the other instances' commits in time. */
    store_data_version_off();
    /* Nor could the vectors' copies in memory: exact lists scan the table. */
    core_vectors_set_shared(app->vectors);
    app->cluster = g->c = core_cluster_new(target, workers);
    core_cluster_set_user(g->c, g, glue_free);
    core_cluster_handle(g->c, "ev", on_event, g);
    core_cluster_handle(g->c, "msg", on_message, g);
    core_cluster_handle(g->c, "fwd", on_forward, g);
    core_cluster_handle(g->c, "fwd-re", on_answer, g);
    core_cluster_handle(g->c, "schema", on_schema, g);
    core_cluster_handle(g->c, "settings", on_settings, g);
    core_cluster_handle(g->c, "hooks", on_hooks, g);
    core_cluster_handle(g->c, "ack", on_ack, g);
    core_cluster_handle(g->c, "aname", on_apple_name, g);
    core_cluster_logs_start(g->c, app->offload);
    core_cluster_on_resync(g->c, resync, g);
    app->on_local_change = publish_change;
    app->await_change = await_change;
    app->on_local_change_ctx = g;
    struct core_event_listener l = {.wants = wants_events, .on_commit = publish_event, .ctx = g};
    (void)core_event_listen(&app->events, &l);
    struct core_rt_remote remote = {
        .subscribe = remote_subscribe, .send = remote_send, .publish = remote_publish, .ctx = g};
    snprintf(remote.id_prefix, sizeof(remote.id_prefix), "%s", core_cluster_id(g->c));
    core_realtime_set_remote(app->realtime, &remote);
    char shown[400];
    store_redis_target_format(target, shown, sizeof(shown));
    log_info("msg=\"sharing with other instances through redis\" redis=%s instance=%s", shown,
             core_cluster_id(g->c));
}

void core_cluster_app_attach(struct core_worker *cw, unsigned worker_id, uv_loop_t *loop,
                             struct net_mailbox *mailbox)
{
    struct glue *g = cw->app && cw->app->cluster ? glue_of(cw->app) : NULL;
    if (!g)
        return;
    if (worker_id == 0)
        g->w0 = cw;
    core_cluster_attach(g->c, worker_id, loop, mailbox);
}

void core_cluster_app_detach(struct core_worker *cw)
{
    struct glue *g = cw->app && cw->app->cluster ? glue_of(cw->app) : NULL;
    if (!g)
        return;
    core_cluster_detach(g->c);
    if (g->w0 == cw)
        g->w0 = NULL;
}
