/* cluster.c -- see cluster.h. */
#include "core/cluster/cluster.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/secure.h"
#include "net/mailbox.h"

/* One worker's connections; the fields without a note are its thread's. */
struct slot {
    struct core_cluster *c;
    unsigned id;
    struct store_redis *cmd; /* NULL once detached (set under c->lock) */
    struct store_redis *sub; /* worker 0 only */
    struct net_mailbox *mailbox;
    bool is_cmd_up;
    bool is_sub_up;
    bool is_attached; /* under c->lock */
};

struct kind {
    char name[16];
    core_cluster_handler_fn *fn;
    void *ctx;
};

struct core_cluster {
    struct store_redis_target target;
    char id[CORE_CLUSTER_ID_LEN + 1];
    char channel_all[64];
    char channel_own[64];
    unsigned worker_count;
    struct slot *slots;
    uv_mutex_t lock; /* is_attached, cmd and sub pointers as other threads read them */
    struct kind kinds[CORE_CLUSTER_MAX_KINDS];
    size_t kind_count;
    void (*resync)(void *ctx, bool is_first);
    void *resync_ctx;
    void *user;
    void (*user_free)(void *user);
    struct handoff *backlog; /* under lock: sent before any worker attached */
    size_t backlog_count;
    bool has_sub_been_down; /* worker 0's thread */
    atomic_int down;        /* connections not up, of worker_count + 1 */
    atomic_bool is_degraded;
    /* metrics, any thread (base/metrics.h shared counters) */
    uint64_t sent, received, dropped;
    uint64_t closed_timeouts, closed_reconnects; /* of connections already closed */
};

static _Thread_local struct slot *current;

/* A publish from a thread without a connection, run on a worker's. */
struct handoff {
    struct core_cluster *c;
    char channel[64];
    char *text;
    core_cluster_count_fn *cb; /* NULL: nobody waits */
    void *cb_ctx;
    struct handoff *next;
};

/* Published before the workers attached (a migration at start): kept for
 * the first one, this many at most. */
#define BACKLOG_MAX 64
static void handoff_run(void *arg);

struct core_cluster *core_cluster_new(const struct store_redis_target *target, unsigned workers)
{
    struct core_cluster *c = xcalloc(1, sizeof(*c));
    c->target = *target;
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    (void)secure_random_string(STR_LIT(alnum), c->id, CORE_CLUSTER_ID_LEN);
    c->id[CORE_CLUSTER_ID_LEN] = '\0';
    snprintf(c->channel_all, sizeof(c->channel_all), "tarmac:%u:all", target->db);
    snprintf(c->channel_own, sizeof(c->channel_own), "tarmac:%u:i:%s", target->db, c->id);
    c->worker_count = workers ? workers : 1;
    c->slots = xcalloc(c->worker_count, sizeof(*c->slots));
    uv_mutex_init(&c->lock);
    atomic_init(&c->down, (int)c->worker_count + 1);
    atomic_init(&c->is_degraded, false);
    return c;
}

void core_cluster_free(struct core_cluster *c)
{
    if (!c)
        return;
    if (c->user_free)
        c->user_free(c->user);
    while (c->backlog) {
        struct handoff *h = c->backlog;
        c->backlog = h->next;
        xfree(h->text);
        xfree(h);
    }
    uv_mutex_destroy(&c->lock);
    xfree(c->slots);
    xfree(c);
}

const char *core_cluster_id(const struct core_cluster *c)
{
    return c->id;
}

void core_cluster_set_user(struct core_cluster *c, void *user, void (*free_fn)(void *user))
{
    c->user = user;
    c->user_free = free_fn;
}

void *core_cluster_user(const struct core_cluster *c)
{
    return c->user;
}

void core_cluster_handle(struct core_cluster *c, const char *kind, core_cluster_handler_fn *fn,
                         void *ctx)
{
    if (c->kind_count == CORE_CLUSTER_MAX_KINDS)
        return; /* a defect caught by the tests: the table is ours */
    struct kind *k = &c->kinds[c->kind_count++];
    snprintf(k->name, sizeof(k->name), "%s", kind);
    k->fn = fn;
    k->ctx = ctx;
}

void core_cluster_on_resync(struct core_cluster *c, void (*fn)(void *ctx, bool is_first), void *ctx)
{
    c->resync = fn;
    c->resync_ctx = ctx;
}

bool core_cluster_is_up(const struct core_cluster *c)
{
    return atomic_load(&((struct core_cluster *)c)->down) == 0;
}

/* -------------------------------------------------------------------------
 * Up and down
 * ------------------------------------------------------------------------- */

/* One connection's report: counts it up or down, and logs the first loss
 * (one line however many connections and attempts fail) and the return. */
static void count_flip(struct core_cluster *c, bool *was_up, bool is_up, const char *why)
{
    int down = atomic_load(&c->down);
    if (*was_up != is_up) {
        *was_up = is_up;
        down = atomic_fetch_add(&c->down, is_up ? -1 : 1) + (is_up ? -1 : 1);
    }
    if (!is_up && !atomic_exchange(&c->is_degraded, true)) {
        char shown[400];
        store_redis_target_format(&c->target, shown, sizeof(shown));
        log_warn("msg=\"redis unreachable: realtime events reach this instance's clients only, "
                 "rate limits count per instance, other instances' schema and settings changes "
                 "wait\" redis=%s error=\"%s\"",
                 shown, why);
    }
    if (is_up && down == 0 && atomic_exchange(&c->is_degraded, false))
        log_info("msg=\"redis reachable again: shared realtime and rate limits resume\"");
}

static void on_cmd_state(void *ctx, bool is_up, const char *why)
{
    struct slot *s = ctx;
    struct core_cluster *c = s->c;
    count_flip(c, &s->is_cmd_up, is_up, why);
    if (!is_up)
        return;
    /* The first connection up sends what was published before any worker
     * attached. */
    uv_mutex_lock(&c->lock);
    struct handoff *backlog = NULL;
    while (c->backlog) { /* kept newest first: sent oldest first */
        struct handoff *h = c->backlog;
        c->backlog = h->next;
        h->next = backlog;
        backlog = h;
    }
    c->backlog_count = 0;
    uv_mutex_unlock(&c->lock);
    while (backlog) {
        struct handoff *h = backlog;
        backlog = h->next;
        handoff_run(h);
    }
}

static void on_sub_state(void *ctx, bool is_up, const char *why)
{
    struct slot *s = ctx;
    struct core_cluster *c = s->c;
    count_flip(c, &s->is_sub_up, is_up, why);
    if (!is_up) {
        c->has_sub_been_down = true;
        return;
    }
    /* The first time too: a change another instance made after this one
     * read the schema at start, and before this SUBSCRIBE, was never heard. */
    if (c->resync)
        c->resync(c->resync_ctx, !c->has_sub_been_down);
}

/* -------------------------------------------------------------------------
 * Receiving
 * ------------------------------------------------------------------------- */

static void on_message(void *ctx, struct str channel, struct str text)
{
    (void)channel;
    struct slot *s = ctx;
    struct core_cluster *c = s->c;
    json_t *msg = json_loadb(text.ptr, text.len, 0, NULL);
    const char *kind = json_string_value(json_object_get(msg, "k"));
    const char *origin = json_string_value(json_object_get(msg, "o"));
    if (!kind || !origin) {
        log_warn("msg=\"cluster message ignored: not one of ours\" bytes=%zu", text.len);
        json_decref(msg);
        return;
    }
    if (strcmp(origin, c->id) == 0) {
        json_decref(msg); /* our own broadcast: we acted on it when we sent it */
        return;
    }
    metrics_add_shared(&c->received, 1);
    for (size_t i = 0; i < c->kind_count; i++) {
        if (strcmp(c->kinds[i].name, kind) == 0) {
            c->kinds[i].fn(c->kinds[i].ctx, msg);
            break;
        }
    }
    json_decref(msg);
}

/* -------------------------------------------------------------------------
 * Workers
 * ------------------------------------------------------------------------- */

void core_cluster_attach(struct core_cluster *c, unsigned worker_id, uv_loop_t *loop,
                         struct net_mailbox *mailbox)
{
    if (worker_id >= c->worker_count)
        return;
    struct slot *s = &c->slots[worker_id];
    s->c = c;
    s->id = worker_id;
    s->mailbox = mailbox;
    current = s;
    char name[16];
    snprintf(name, sizeof(name), "cmd-w%u", worker_id);
    struct store_redis_config cfg = {
        .target = &c->target,
        .command_timeout_ms = CORE_CLUSTER_TIMEOUT_MS,
        .on_state = on_cmd_state,
        .ctx = s,
        .name = name,
    };
    struct store_redis *cmd = store_redis_open(loop, &cfg);
    struct store_redis *sub = NULL;
    if (worker_id == 0) {
        const char *channels[] = {c->channel_all, c->channel_own};
        struct store_redis_config sc = {
            .target = &c->target,
            .command_timeout_ms = CORE_CLUSTER_TIMEOUT_MS,
            .channels = channels,
            .channel_count = 2,
            .on_message = on_message,
            .on_state = on_sub_state,
            .ctx = s,
            .name = "sub",
        };
        sub = store_redis_open(loop, &sc);
    }
    uv_mutex_lock(&c->lock);
    s->cmd = cmd;
    s->sub = sub;
    s->is_attached = true;
    uv_mutex_unlock(&c->lock);
}

void core_cluster_detach(struct core_cluster *c)
{
    struct slot *s = current;
    if (!s || s->c != c)
        return;
    uv_mutex_lock(&c->lock);
    struct store_redis *cmd = s->cmd, *sub = s->sub;
    struct store_redis_stats st;
    for (int i = 0; i < 2; i++) {
        struct store_redis *r = i ? sub : cmd;
        if (!r)
            continue;
        store_redis_stats(r, &st);
        c->closed_timeouts += st.timeouts;
        c->closed_reconnects += st.reconnects;
    }
    s->cmd = s->sub = NULL;
    s->is_attached = false;
    uv_mutex_unlock(&c->lock);
    store_redis_close(cmd);
    store_redis_close(sub);
    current = NULL;
}

bool core_cluster_can_command(const struct core_cluster *c)
{
    return current && current->c == c && store_redis_is_up(current->cmd);
}

enum rc core_cluster_command(struct core_cluster *c, store_redis_reply_fn *cb, void *ctx, int argc,
                             const char *const *argv, const size_t *lens)
{
    if (!current || current->c != c || !current->cmd)
        return RC_UNAVAILABLE;
    return store_redis_command(current->cmd, cb, ctx, argc, argv, lens);
}

/* -------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------- */

/* The message's text with "k" and "o" set (msg consumed); NULL without memory. */
static char *message_text(struct core_cluster *c, const char *kind, json_t *msg)
{
    if (!msg)
        msg = json_object();
    json_object_set_new(msg, "k", json_string(kind));
    json_object_set_new(msg, "o", json_string(c->id));
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    return text;
}

static void channel_of(struct core_cluster *c, const char *to, char *out, size_t cap)
{
    if (to)
        snprintf(out, cap, "tarmac:%u:i:%s", c->target.db, to);
    else
        snprintf(out, cap, "%s", c->channel_all);
}

/* PUBLISH on the calling worker's connection; false when it is not up. */
static bool send_text(struct core_cluster *c, const char *channel, const char *text,
                      store_redis_reply_fn *cb, void *ctx)
{
    const char *argv[3] = {"PUBLISH", channel, text};
    size_t lens[3] = {7, strlen(channel), strlen(text)};
    if (core_cluster_command(c, cb, ctx, 3, argv, lens) != RC_OK) {
        metrics_add_shared(&c->dropped, 1);
        return false;
    }
    metrics_add_shared(&c->sent, 1);
    return true;
}

struct counted {
    core_cluster_count_fn *cb;
    void *ctx;
};

static void on_counted(void *ctx, const struct store_redis_reply *r);

static void handoff_run(void *arg)
{
    struct handoff *h = arg;
    struct counted *k = NULL;
    if (h->cb) {
        k = xcalloc(1, sizeof(*k));
        k->cb = h->cb;
        k->ctx = h->cb_ctx;
    }
    if (!send_text(h->c, h->channel, h->text, k ? on_counted : NULL, k) && k) {
        k->cb(k->ctx, -1);
        xfree(k);
    }
    xfree(h->text);
    xfree(h);
}

void core_cluster_publish(struct core_cluster *c, const char *to, const char *kind, json_t *msg)
{
    (void)core_cluster_publish_then(c, to, kind, msg, NULL, NULL);
}

bool core_cluster_publish_then(struct core_cluster *c, const char *to, const char *kind,
                               json_t *msg, core_cluster_count_fn *cb, void *ctx)
{
    char *text = message_text(c, kind, msg);
    if (!text) {
        metrics_add_shared(&c->dropped, 1);
        return false;
    }
    struct handoff *h = xcalloc(1, sizeof(*h));
    h->c = c;
    channel_of(c, to, h->channel, sizeof(h->channel));
    h->text = text;
    h->cb = cb;
    h->cb_ctx = ctx;
    /* Every message goes out on one connection, the first attached
     * worker's (worker 0's), in the order posted: two changes of one record
     * committed on two workers reach the other instances in commit order
     * (the second request began after the first one's answer, which came
     * after its post). Under the lock, so that worker cannot detach (and
     * close its mailbox) in between. */
    bool is_posted = false;
    bool has_attached = false;
    uv_mutex_lock(&c->lock);
    for (unsigned i = 0; i < c->worker_count; i++) {
        struct slot *s = &c->slots[i];
        has_attached = has_attached || s->mailbox;
        if (s->is_attached && !is_posted) {
            net_mailbox_post_direct(s->mailbox, handoff_run, h);
            is_posted = true;
        }
    }
    bool is_waited = is_posted && cb;
    if (!is_posted && !has_attached && c->backlog_count < BACKLOG_MAX) {
        h->cb = NULL; /* sent by the first connection up; nobody can wait that long */
        h->next = c->backlog;
        c->backlog = h;
        c->backlog_count++;
        is_posted = true;
    }
    uv_mutex_unlock(&c->lock);
    if (!is_posted) {
        metrics_add_shared(&c->dropped, 1);
        xfree(text);
        xfree(h);
    }
    return is_waited;
}

static void on_counted(void *ctx, const struct store_redis_reply *r)
{
    struct counted *k = ctx;
    long long n =
        r && store_redis_reply_type(r) == STORE_REDIS_INTEGER ? store_redis_reply_integer(r) : -1;
    k->cb(k->ctx, n);
    xfree(k);
}

enum rc core_cluster_publish_counted(struct core_cluster *c, const char *to, const char *kind,
                                     json_t *msg, core_cluster_count_fn *cb, void *ctx)
{
    char *text = message_text(c, kind, msg);
    if (!text)
        return RC_UNAVAILABLE;
    char channel[64];
    channel_of(c, to, channel, sizeof(channel));
    struct counted *k = xcalloc(1, sizeof(*k));
    k->cb = cb;
    k->ctx = ctx;
    bool is_sent = send_text(c, channel, text, on_counted, k);
    xfree(text);
    if (!is_sent) {
        xfree(k);
        return RC_UNAVAILABLE;
    }
    return RC_OK;
}

/* -------------------------------------------------------------------------
 * Metrics
 * ------------------------------------------------------------------------- */

void core_cluster_metrics_write(struct core_cluster *c, struct buf *out)
{
    uint64_t timeouts = 0, reconnects = 0;
    uv_mutex_lock(&c->lock);
    timeouts = c->closed_timeouts;
    reconnects = c->closed_reconnects;
    for (unsigned i = 0; i < c->worker_count; i++) {
        for (int j = 0; j < 2; j++) {
            struct store_redis *r = j ? c->slots[i].sub : c->slots[i].cmd;
            if (!r)
                continue;
            struct store_redis_stats st;
            store_redis_stats(r, &st);
            timeouts += st.timeouts;
            reconnects += st.reconnects;
        }
    }
    uv_mutex_unlock(&c->lock);
    metrics_text_header(out, "tarmac_redis_up", "gauge",
                        "1 while every Redis connection of this instance is up (--redis).");
    metrics_text_sample(out, "tarmac_redis_up", NULL, core_cluster_is_up(c) ? 1 : 0);
    metrics_text_header(out, "tarmac_redis_timeouts_total", "counter",
                        "Redis replies not in within the wait a request allows (it fell back).");
    metrics_text_sample_u64(out, "tarmac_redis_timeouts_total", NULL, timeouts);
    metrics_text_header(out, "tarmac_redis_reconnects_total", "counter",
                        "Redis connections made again after one was lost.");
    metrics_text_sample_u64(out, "tarmac_redis_reconnects_total", NULL, reconnects);
    metrics_text_header(out, "tarmac_cluster_messages_total", "counter",
                        "Messages to other instances: sent, received, and dropped (Redis down).");
    metrics_text_sample_u64(out, "tarmac_cluster_messages_total",
                            (const char *[]){"result", "sent", NULL}, metrics_read(&c->sent));
    metrics_text_sample_u64(out, "tarmac_cluster_messages_total",
                            (const char *[]){"result", "received", NULL},
                            metrics_read(&c->received));
    metrics_text_sample_u64(out, "tarmac_cluster_messages_total",
                            (const char *[]){"result", "dropped", NULL}, metrics_read(&c->dropped));
}
